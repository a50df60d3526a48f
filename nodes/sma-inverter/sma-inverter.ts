/**
 * Config node: one inverter (host, port, serial, user group, password as a credential).
 * Owns the inverter session on the process-wide client; logs off and releases it on close/redeploy.
 */
import { SpeedwireClient } from "../../src/client";
import type { Node, NodeAPI, NodeDef } from "../shared/red";
import type { InverterConfigNode } from "../shared/query-node";
import { registerAdminEndpoints } from "../shared/admin";
import { INVERTER_SERIAL, PORT, RETRIES, TIMEOUT_MS, wholeNumber } from "../../src/client/settings-rules";
import { discoverySettings } from "../shared/settings";

const NS = "@speedwire/node-red-sma/sma-inverter:";

interface InverterDef extends NodeDef {
  host?: string;
  port?: string | number;
  serial?: string | number;
  group?: string;
  timeout?: string | number;
  retries?: string | number;
}

export = (RED: NodeAPI): void => {
  registerAdminEndpoints(RED);
  RED.nodes.registerType("sma-inverter", function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this as InverterConfigNode;
    const c = def as InverterDef;
    const client = SpeedwireClient.acquire();
    node.session = client.inverter({
      host: String(c.host ?? "").trim(),
      // Empty or out of range: undefined, and the session's DEFAULTS apply. The editor checks the same rules.
      port: wholeNumber(c.port, PORT),
      serial: wholeNumber(c.serial, INVERTER_SERIAL),
      group: c.group === "installer" ? "installer" : "user",
      password: node.credentials?.password ?? "",
      timeoutMs: wholeNumber(c.timeout, TIMEOUT_MS),
      retries: wholeNumber(c.retries, RETRIES),
      discovery: discoverySettings(RED),
    });
    const serial = node.session.options.serial;
    node.session.on("found", (host: string, previous?: string) => {
      if (previous) node.warn(RED._(NS + "log.foundMoved", { serial: serial ?? "", host, previous }));
      else node.log(RED._(NS + "log.found", { serial: serial ?? "", host }));
    });
    node.on("close", (_removed: boolean, done: () => void) => {
      const session = node.session;
      node.session = undefined;
      (session ? session.close() : Promise.resolve())
        .then(() => SpeedwireClient.release())
        .catch(() => undefined)
        .finally(done);
    });
  }, { credentials: { password: { type: "password" } } });
};
