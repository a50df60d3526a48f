/**
 * Config node: one inverter (host, port, serial, user group, password as a credential).
 * Owns the inverter session on the process-wide client; logs off and releases it on close/redeploy.
 */
import { SmaError, SpeedwireClient } from "../../src/client";
import type { NodeAPI, NodeDef } from "node-red";
import { inverterLabel, type InverterConfigNode } from "../shared/query-node";
import { registerAdminEndpoints } from "../shared/admin";
import { inverterSettings } from "../../src/client/settings-rules";
import { discoverySettings, instanceIdentity, silenceSettings } from "../shared/settings";
import { LogLimit } from "../shared/log-limit";

const NS = "@speedwire/node-red-sma/sma-inverter:";
/** The shared socket's errors had no listener and vanished: now one line per kind and minute, whichever node logs it. */
const TRANSPORT_ERRORS = ["socketError", "handlerError"] as const;
const transportLog = new LogLimit(60_000);

export = (RED: NodeAPI): void => {
  registerAdminEndpoints(RED);
  RED.nodes.registerType<InverterConfigNode, NodeDef, unknown, { password?: string }>(
    "sma-inverter",
    function (this: InverterConfigNode, def: NodeDef) {
      RED.nodes.createNode(this, def);
      // Its log lines name it by its name, else its host or serial, not by its id.
      if (!def.name)
        this.name = inverterLabel(def as NodeDef & { host?: string; serial?: string }) || RED._(NS + "label.default");
      // The editor checks the same rules; a wrong setting is refused, never replaced by a default.
      const checked = inverterSettings(def as unknown as Record<string, unknown>);
      if (!checked.ok) {
        // No session: every read fails with EINVAL and the status names the field (nothing goes to the network).
        this.invalid = SmaError.invalid(checked.field, `${checked.field}: ${checked.reason}`);
        this.error(RED._(NS + "log.invalid", { field: checked.field, reason: checked.reason }));
        return;
      }
      for (const w of checked.warnings)
        this.warn(RED._(NS + "log.clamped", { field: w.field, from: w.from, to: w.to }));
      const c = checked.value;
      const client = SpeedwireClient.acquire({ identity: instanceIdentity(RED) });
      this.session = client.inverter({
        host: c.host,
        port: c.port,
        serial: c.serial,
        group: c.group,
        password: this.credentials?.password ?? "",
        timeoutMs: c.timeoutMs,
        retries: c.retries,
        follow: c.follow,
        discovery: discoverySettings(RED),
        ...silenceSettings(RED),
      });
      const serial = this.session.options.serial;
      this.session.on("found", (host: string, previous?: string) => {
        if (previous && this.session?.foundAddress === undefined)
          this.log(RED._(NS + "log.back", { serial: serial ?? "", host, previous }));
        else if (previous) this.warn(RED._(NS + "log.foundMoved", { serial: serial ?? "", host, previous }));
        else this.log(RED._(NS + "log.found", { serial: serial ?? "", host }));
      });
      this.session.on("address", (address: string, previous: string) => {
        this.warn(RED._(NS + "log.moved", { host: c.host, address, previous }));
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
    },
    { credentials: { password: { type: "password" } } },
  );
};
