/**
 * Config node: one inverter (host, port, serial, user group, password as a credential).
 * Owns the inverter session on the process-wide client; logs off and releases it on close/redeploy.
 */
import { SpeedwireClient } from "../../src/client";
import type { NodeAPI, NodeDef } from "node-red";
import type { InverterConfigNode } from "../shared/query-node";
import { registerAdminEndpoints } from "../shared/admin";
import { INVERTER_SERIAL, PORT, RETRIES, TIMEOUT_MS, wholeNumber } from "../../src/client/settings-rules";
import { discoverySettings } from "../shared/settings";
import { LogLimit } from "../shared/log-limit";

const NS = "@speedwire/node-red-sma/sma-inverter:";
/** The shared socket's errors had no listener and vanished: now one line per kind and minute, whichever node logs it. */
const TRANSPORT_ERRORS = ["socketError", "handlerError"] as const;
const transportLog = new LogLimit(60_000);

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
  RED.nodes.registerType<InverterConfigNode, NodeDef, unknown, { password?: string }>("sma-inverter", function (this: InverterConfigNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const c = def as InverterDef;
    const client = SpeedwireClient.acquire();
    this.session = client.inverter({
      host: String(c.host ?? "").trim(),
      // Empty or out of range: undefined, and the session's DEFAULTS apply. The editor checks the same rules.
      port: wholeNumber(c.port, PORT),
      serial: wholeNumber(c.serial, INVERTER_SERIAL),
      group: c.group === "installer" ? "installer" : "user",
      password: this.credentials?.password ?? "",
      timeoutMs: wholeNumber(c.timeout, TIMEOUT_MS),
      retries: wholeNumber(c.retries, RETRIES),
      discovery: discoverySettings(RED),
    });
    const serial = this.session.options.serial;
    this.session.on("found", (host: string, previous?: string) => {
      if (previous) this.warn(RED._(NS + "log.foundMoved", { serial: serial ?? "", host, previous }));
      else this.log(RED._(NS + "log.found", { serial: serial ?? "", host }));
    });
    const transport = client.transport;
    const onTransportError = TRANSPORT_ERRORS.map((kind) => (err: unknown): void => {
      const message = err instanceof Error ? err.message : String(err);
      if (transportLog.allow(transport, kind)) this.warn(RED._(NS + "log." + kind, { message }));
    });
    TRANSPORT_ERRORS.forEach((kind, i) => transport.on(kind, onTransportError[i]));
    this.on("close", (_removed: boolean, done: () => void) => {
      TRANSPORT_ERRORS.forEach((kind, i) => transport.off(kind, onTransportError[i]));
      const session = this.session;
      this.session = undefined;
      (session ? session.close() : Promise.resolve())
        .then(() => SpeedwireClient.release())
        .catch(() => undefined)
        .finally(done);
    });
  }, { credentials: { password: { type: "password" } } });
};
