/** Admin HTTP endpoints the editor calls (with the editor's permissions): value list, interfaces, discovery. */
import { distinctValues } from "../../src/protocol";
import { discover, ipv4Interfaces, type DiscoveredDevice } from "../../src/client";
import type { NodeAPI } from "node-red";
import { discoverySettings } from "./settings";

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
}
