/** Admin HTTP endpoints the editor calls (with the editor's permissions): value list, interfaces, discovery. */
import { VALUES } from "../../protocol";
import { discover, ipv4Interfaces } from "../../client";
import type { NodeAPI } from "./red";
import { discoverySettings } from "./settings";

let registered = false;

export function registerAdminEndpoints(RED: NodeAPI): void {
  if (registered) return;
  registered = true;
  const read = RED.auth.needsPermission("sma-inverter.read");
  RED.httpAdmin.get("/sma-speedwire/values", read, (_req, res) => {
    const seen = new Set<string>();
    res.json(VALUES.filter((v) => !seen.has(v.name) && seen.add(v.name)).map((v) => ({
      name: v.name, label: v.label, group: v.group, unit: v.unit, indexed: v.indexed === true,
    })));
  });
  RED.httpAdmin.get("/sma-speedwire/interfaces", read, (_req, res) => {
    res.json(ipv4Interfaces());
  });
  RED.httpAdmin.get("/sma-speedwire/discover", RED.auth.needsPermission("sma-inverter.write"), (req, res) => {
    const settings = discoverySettings(RED);
    const timeoutMs = Math.min(Math.max(Number(req.query.timeout) || settings.timeoutMs || 3000, 500), 10000);
    discover({ ...settings, timeoutMs }).then((devices) => res.json(devices), (e: Error) => res.status(500).json({ error: e.message }));
  });
}
