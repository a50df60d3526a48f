/**
 * Config node: one inverter (host, port, serial, user group, password as a credential).
 * Owns the inverter session on the process-wide client; logs off and releases it on close/redeploy.
 */
import { SmaError, SpeedwireClient, rules } from "../../src/client";
import type { Node, NodeAPI, NodeDef } from "../shared/red";
import type { InverterConfigNode } from "../shared/query-node";
import { registerAdminEndpoints } from "../shared/admin";
import { discoverySettings, instanceIdentity } from "../shared/settings";

const NS = "@speedwire/node-red-sma/sma-inverter:";

export = (RED: NodeAPI): void => {
  registerAdminEndpoints(RED);
  RED.nodes.registerType("sma-inverter", function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this as InverterConfigNode;
    const checked = rules.inverterSettings(def);
    if (!checked.ok) {
      // No session: every read fails with EINVAL and the status names the field (nothing goes to the network).
      const err = new SmaError("EINVAL", `${checked.field}: ${checked.reason}`);
      err.field = checked.field;
      node.invalid = err;
      node.error(RED._(NS + "log.invalid", { field: checked.field, reason: checked.reason }));
      return;
    }
    for (const w of checked.warnings) node.warn(RED._(NS + "log.clamped", { field: w.field, from: w.from, to: w.to }));
    const c = checked.value;
    const client = SpeedwireClient.acquire({ identity: instanceIdentity(RED) });
    node.session = client.inverter({
      host: c.host, port: c.port, serial: c.serial, group: c.group, password: node.credentials?.password ?? "",
      timeoutMs: c.timeoutMs, retries: c.retries, follow: c.follow, discovery: discoverySettings(RED),
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
