/**
 * Config node: one inverter (host, port, serial, user group, password as a credential).
 * Owns the inverter session on the process-wide client; logs off and releases it on close/redeploy.
 */
import { SpeedwireClient } from "../../client";
import type { Node, NodeAPI, NodeDef } from "../shared/red";
import type { InverterConfigNode } from "../shared/query-node";
import { registerAdminEndpoints } from "../shared/admin";
import { intOr } from "../shared/fields";
import { discoverySettings, instanceIdentity } from "../shared/settings";

const NS = "@speedwire/node-red-sma/sma-inverter:";

interface InverterDef extends NodeDef {
  host?: string;
  port?: string | number;
  serial?: string | number;
  group?: string;
  timeout?: string | number;
  retries?: string | number;
  follow?: boolean | string;
}

export = (RED: NodeAPI): void => {
  registerAdminEndpoints(RED);
  RED.nodes.registerType("sma-inverter", function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this as InverterConfigNode;
    const c = def as InverterDef;
    const client = SpeedwireClient.acquire({ identity: instanceIdentity(RED) });
    node.session = client.inverter({
      host: String(c.host ?? "").trim(),
      // Empty or out of range: undefined, and the session's DEFAULTS apply. Ranges as the editor checks them.
      port: intOr(c.port, undefined, 1, 65535),
      serial: intOr(c.serial, undefined, 1, 0xfffffffe),
      group: c.group === "installer" ? "installer" : "user",
      password: node.credentials?.password ?? "",
      timeoutMs: intOr(c.timeout, undefined, 200, 30000),
      retries: intOr(c.retries, undefined, 0, 10),
      follow: c.follow === true || c.follow === "true",
      discovery: discoverySettings(RED),
    });
    const serial = node.session.options.serial;
    node.session.on("found", (host: string, previous?: string) => {
      if (previous && node.session?.foundAddress === undefined) node.log(RED._(NS + "log.back", { serial: serial ?? "", host, previous }));
      else if (previous) node.warn(RED._(NS + "log.foundMoved", { serial: serial ?? "", host, previous }));
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
