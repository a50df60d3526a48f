/**
 * The package's own entry in Node-RED's settings.js:
 *
 *     smaSpeedwire: {
 *       discoveryTargets: ["192.168.1.255", "10.0.0.7:9522"], // default: multicast 239.12.255.254 on every interface
 *       discoveryTimeout: 3000,                                 // ms the search waits for answers
 *       asleepAfter: 60,                                        // s of silence before an inverter counts as asleep
 *     }
 *
 * Targets help where multicast does not pass (Docker bridge networks, some Wi-Fi): a subnet broadcast
 * address or the devices' own addresses. Bad entries are left out, never thrown on.
 */
import { clientIdentity, instanceSeed, parseTargets, type DiscoverOptions } from "../../src/client";
import { DISCOVERY_TIMEOUT_MS, wholeNumber } from "../../src/client/settings-rules";
import type { Address } from "../../src/protocol";
import type { NodeAPI } from "node-red";

/** This Node-RED instance's Speedwire identity, from its user dir: two instances never share (and end) sessions. */
export function instanceIdentity(RED: NodeAPI): Address {
  const userDir = (RED.settings as { userDir?: unknown } | undefined)?.userDir;
  return clientIdentity(instanceSeed(typeof userDir === "string" ? userDir : undefined));
}

export function discoverySettings(RED: NodeAPI): Pick<DiscoverOptions, "targets" | "timeoutMs" | "identity"> {
  const out: Pick<DiscoverOptions, "targets" | "timeoutMs" | "identity"> = { identity: instanceIdentity(RED) };
  const own = (RED.settings as { smaSpeedwire?: unknown } | undefined)?.smaSpeedwire;
  if (!own || typeof own !== "object") return out;
  const o = own as Record<string, unknown>;
  const targets = parseTargets(o.discoveryTargets);
  if (targets.length > 0) out.targets = targets;
  const timeout = wholeNumber(o.discoveryTimeout, DISCOVERY_TIMEOUT_MS);
  if (timeout !== undefined) out.timeoutMs = timeout;
  return out;
}

/** asleepAfter (seconds, 0 to 3600) as the sessions' silentAfterMs; absent or out of range: the session's default. */
export function silenceSettings(RED: NodeAPI): { silentAfterMs?: number } {
  const own = (RED.settings as { smaSpeedwire?: Record<string, unknown> } | undefined)?.smaSpeedwire;
  const s = Number(own?.asleepAfter);
  return own && own.asleepAfter !== undefined && Number.isFinite(s) && s >= 0 && s <= 3600
    ? { silentAfterMs: s * 1000 }
    : {};
}
