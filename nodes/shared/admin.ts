/** Admin HTTP endpoints the editor calls (with the editor's permissions): value list, interfaces, discovery, diagnose. */
import { SPEEDWIRE_PORT, distinctValues } from "../../src/protocol";
import { diagnose, discover, ipv4Interfaces, meterListenersOpen, type DiscoveredDevice } from "../../src/client";
import { inverterSettings, type InverterSettings } from "../../src/client/settings-rules";
import type { NodeAPI } from "node-red";
import { discoverySettings } from "./settings";
import type { InverterConfigNode } from "./query-node";

/** Trace downloads: at most this many per window for the whole runtime (each copies up to 128 KB of datagrams). */
export const TRACE_RATE = { max: 10, windowMs: 60_000 } as const;

/**
 * Diagnose runs: at most this many per window for the whole runtime (each sends a few dozen datagrams to one host
 * and may search the discovery targets), and at most `running` at once.
 */
export const DIAGNOSE_RATE = { max: 6, windowMs: 60_000, running: 2 } as const;
/** How far back Diagnose looks at what the deployed sma-energy-meter listeners heard. */
export const DIAGNOSE_METER_WINDOW_MS = 10_000;
/** What Node-RED's editor sends for a password credential that was not changed in the dialog. */
export const UNCHANGED_PASSWORD = "__PWRD__";

/** A sliding-window limit: false (and a 429 answered) when the window is full. */
function limiter(max: number, windowMs: number, what: string): (res: AdminResponse) => boolean {
  const asked: number[] = [];
  return (res) => {
    const now = Date.now();
    while (asked.length > 0 && now - asked[0] > windowMs) asked.shift();
    if (asked.length >= max) {
      res.set("Retry-After", String(Math.ceil((windowMs - (now - asked[0])) / 1000)));
      res.status(429).json({ error: `too many ${what}` });
      return false;
    }
    asked.push(now);
    return true;
  };
}

/** What the handlers use of Express's request and response. */
interface AdminRequest {
  body?: unknown;
  params: Record<string, string>;
}
interface AdminResponse {
  set(k: string, v: string): unknown;
  status(n: number): { json(v: unknown): unknown };
  json(v: unknown): unknown;
}

/** A node id as the editor sends it (anything else finds no node). */
const NODE_ID = /^[0-9a-zA-Z._-]{1,64}$/;

/** Admin apps the endpoints are on: once per app, whichever of this package's node types loads first. */
const registered = new WeakSet<object>();

/**
 * The endpoints, one handler each: the value list and the interfaces for who may read inverters; discovery,
 * diagnose and the trace download (rate limited: TRACE_RATE, DIAGNOSE_RATE) for who may change them.
 */
export function registerAdminEndpoints(RED: NodeAPI): void {
  if (registered.has(RED.httpAdmin)) return;
  registered.add(RED.httpAdmin);
  const read = RED.auth.needsPermission("sma-inverter.read");
  RED.httpAdmin.get("/sma-speedwire/values", read, valuesHandler);
  RED.httpAdmin.get("/sma-speedwire/interfaces", read, interfacesHandler);
  RED.httpAdmin.get("/sma-speedwire/discover", RED.auth.needsPermission("sma-inverter.write"), discoverHandler(RED));
  RED.httpAdmin.post("/sma-speedwire/diagnose", RED.auth.needsPermission("sma-inverter.write"), diagnoseHandler(RED));
  RED.httpAdmin.get("/sma-speedwire/trace/:id", RED.auth.needsPermission("sma-inverter.write"), traceHandler(RED));
}

/** GET values: every readable value once, as the editor's value list shows it. */
function valuesHandler(_req: AdminRequest, res: AdminResponse): void {
  res.json(
    distinctValues().map((v) => ({
      name: v.name,
      label: v.label,
      labels: v.labels,
      group: v.group,
      unit: v.unit,
      indexed: v.indexed !== undefined,
    })),
  );
}

/** GET interfaces: this host's IPv4 interfaces. */
function interfacesHandler(_req: AdminRequest, res: AdminResponse): void {
  res.json(ipv4Interfaces());
}

/** GET discover: requests while a search runs share it: one socket and one search however often it is called. */
function discoverHandler(RED: NodeAPI): (req: AdminRequest, res: AdminResponse) => void {
  let searching: Promise<DiscoveredDevice[]> | undefined;
  return (_req, res) => {
    searching ??= discover(discoverySettings(RED)).finally(() => {
      searching = undefined;
    });
    searching.then(
      (devices) => res.json(devices),
      (e: Error) => res.status(500).json({ error: e.message }),
    );
  };
}

/**
 * POST diagnose: the checks of src/client/diagnose.ts against the host in the request (and, when a meter listener
 * runs, a search of the configured discovery targets for a Home Manager that sends elsewhere). The password is the
 * one typed in the dialog, or the deployed node's when the dialog sends Node-RED's placeholder (unchanged): that one
 * goes only to the host and port the deployed node uses. The answer holds codes and figures, never the password.
 */
function diagnoseHandler(RED: NodeAPI): (req: AdminRequest, res: AdminResponse) => void {
  const diagnoseLimit = limiter(DIAGNOSE_RATE.max, DIAGNOSE_RATE.windowMs, "diagnose runs");
  let diagnosing = 0;
  return (req, res) => {
    const body = (req.body && typeof req.body === "object" ? req.body : {}) as Record<string, unknown>;
    const c = diagnoseSettings(body, res);
    if (!c) return;
    const password = diagnosePassword(RED, body, c, res);
    if (password === undefined) return;
    if (diagnosing >= DIAGNOSE_RATE.running) {
      res.set("Retry-After", "5");
      res.status(429).json({ error: "a diagnose is already running" });
      return;
    }
    if (!diagnoseLimit(res)) return;
    diagnosing++;
    const listening = meterListenersOpen() > 0;
    diagnose({
      host: c.host,
      port: c.port,
      serial: c.serial,
      group: c.group,
      password,
      timeoutMs: c.timeoutMs,
      retries: c.retries,
      meters: { sinceMs: DIAGNOSE_METER_WINDOW_MS, listening },
      discovery: listening ? discoverySettings(RED) : undefined,
    })
      .then(
        (d) => res.json(d),
        (e: Error) => res.status(500).json({ error: e.message }),
      )
      .finally(() => {
        diagnosing--;
      });
  };
}

/** The request's connection settings, checked as the dialog's fields are; undefined after a 400 when one is wrong. */
function diagnoseSettings(body: Record<string, unknown>, res: AdminResponse): InverterSettings | undefined {
  const checked = inverterSettings({
    host: body.host,
    port: body.port,
    serial: body.serial,
    group: body.group,
    timeout: body.timeout,
    retries: body.retries,
  });
  if (!checked.ok) {
    res.status(400).json({ error: `${checked.field}: ${checked.reason}`, field: checked.field });
    return undefined;
  }
  if (checked.value.host === "") {
    res.status(400).json({ error: "Diagnose needs a host", field: "host" });
    return undefined;
  }
  return checked.value;
}

/**
 * The password to send: the typed one, else (Node-RED's placeholder or none) the deployed node's, and that one only
 * to the host and port the deployed node uses; undefined after a 400 when there is none to send.
 */
function diagnosePassword(
  RED: NodeAPI,
  body: Record<string, unknown>,
  c: InverterSettings,
  res: AdminResponse,
): string | undefined {
  const typed = typeof body.password === "string" ? body.password : undefined;
  if (typed !== undefined && typed !== UNCHANGED_PASSWORD) return typed;
  const id = typeof body.id === "string" && NODE_ID.test(body.id) ? body.id : "";
  const node = id ? (RED.nodes.getNode(id) as InverterConfigNode | null) : null;
  const saved = node?.type === "sma-inverter" ? node.credentials?.password : undefined;
  const deployed = node?.session?.options;
  if (saved === undefined || !deployed) {
    res.status(400).json({ error: "no saved password: type the password", field: "password", code: "nopassword" });
    return undefined;
  }
  if (deployed.host !== c.host || deployed.port !== (c.port ?? SPEEDWIRE_PORT)) {
    res.status(400).json({
      error: "the saved password goes only to the deployed host: type the password",
      field: "password",
      code: "otherhost",
    });
    return undefined;
  }
  return saved;
}

/** GET trace/:id: the deployed inverter's last exchanges (no password in them), as Search: for who may change inverters. */
function traceHandler(RED: NodeAPI): (req: AdminRequest, res: AdminResponse) => void {
  const traceLimit = limiter(TRACE_RATE.max, TRACE_RATE.windowMs, "trace downloads");
  return (req, res) => {
    if (!traceLimit(res)) return;
    const id = String(req.params.id);
    const node = NODE_ID.test(id) ? (RED.nodes.getNode(id) as InverterConfigNode | null) : null;
    if (!node || node.type !== "sma-inverter" || !node.session) {
      res.status(404).json({ error: "no deployed inverter with that id" });
      return;
    }
    const session = node.session;
    // RED.version() is a string in some Node-RED versions and a promise in the typings: either way.
    void Promise.resolve(RED.version() as string | Promise<string>)
      .catch(() => undefined)
      .then((nodeRed) => {
        res.set("Content-Disposition", `attachment; filename="sma-trace-${id.replace(/[^0-9a-zA-Z_-]/g, "")}.json"`);
        res.json(session.trace({ nodeRed: typeof nodeRed === "string" ? nodeRed : undefined }));
      });
  };
}
