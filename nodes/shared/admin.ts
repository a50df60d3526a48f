/** Admin HTTP endpoints the editor calls (with the editor's permissions): value list, interfaces, discovery. */
import { distinctValues } from "../../src/protocol";
import { discover, ipv4Interfaces, type DiscoveredDevice } from "../../src/client";
import type { NodeAPI } from "node-red";
import { discoverySettings } from "./settings";
import type { InverterConfigNode } from "./query-node";

/** Trace downloads: at most this many per window for the whole runtime (each copies up to 128 KB of datagrams). */
export const TRACE_RATE = { max: 10, windowMs: 60_000 } as const;

/** Admin apps the endpoints are on: once per app, whichever of this package's node types loads first. */
const registered = new WeakSet<object>();

export function registerAdminEndpoints(RED: NodeAPI): void {
  if (registered.has(RED.httpAdmin)) return;
  registered.add(RED.httpAdmin);
  const read = RED.auth.needsPermission("sma-inverter.read");
  RED.httpAdmin.get("/sma-speedwire/values", read, (_req, res) => {
    res.json(distinctValues().map((v) => ({
      name: v.name, label: v.label, labels: v.labels, group: v.group, unit: v.unit, indexed: v.indexed !== undefined,
    })));
  });
  RED.httpAdmin.get("/sma-speedwire/interfaces", read, (_req, res) => {
    res.json(ipv4Interfaces());
  });
  // Requests while a search runs share it: one socket and one search however often the endpoint is called.
  let searching: Promise<DiscoveredDevice[]> | undefined;
  RED.httpAdmin.get("/sma-speedwire/discover", RED.auth.needsPermission("sma-inverter.write"), (_req, res) => {
    searching ??= discover(discoverySettings(RED)).finally(() => {
      searching = undefined;
    });
    searching.then((devices) => res.json(devices), (e: Error) => res.status(500).json({ error: e.message }));
  });
  // The deployed inverter's last exchanges (no password in them), as Search: only for who may change inverters.
  const asked: number[] = [];
  RED.httpAdmin.get("/sma-speedwire/trace/:id", RED.auth.needsPermission("sma-inverter.write"), (req, res) => {
    const now = Date.now();
    while (asked.length > 0 && now - asked[0] > TRACE_RATE.windowMs) asked.shift();
    if (asked.length >= TRACE_RATE.max) {
      res.set("Retry-After", String(Math.ceil((TRACE_RATE.windowMs - (now - asked[0])) / 1000)));
      res.status(429).json({ error: "too many trace downloads" });
      return;
    }
    asked.push(now);
    const id = String(req.params.id);
    const node = /^[0-9a-zA-Z._-]{1,64}$/.test(id) ? (RED.nodes.getNode(id) as InverterConfigNode | null) : null;
    if (!node || node.type !== "sma-inverter" || !node.session) {
      res.status(404).json({ error: "no deployed inverter with that id" });
      return;
    }
    const session = node.session;
    // RED.version() is a string in some Node-RED versions and a promise in the typings: either way.
    void Promise.resolve(RED.version() as string | Promise<string>).catch(() => undefined).then((nodeRed) => {
      res.set("Content-Disposition", `attachment; filename="sma-trace-${id.replace(/[^0-9a-zA-Z_-]/g, "")}.json"`);
      res.json(session.trace({ nodeRed: typeof nodeRed === "string" ? nodeRed : undefined }));
    });
  });
}
