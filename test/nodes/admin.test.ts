/**
 * The editor's admin endpoints under many calls: the discovery endpoint runs one search at a time, shared by
 * every request that arrives while it runs (each used to open its own socket and search).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { NodeAPI } from "node-red";
import { SimulatedInverter } from "../../src/simulator";
import { TRACE_RATE, registerAdminEndpoints } from "../../nodes/shared/admin";
import { SpeedwireClient, type SessionTrace } from "../../src/client";
import { encodePassword } from "../../src/protocol";

type Handler = (
  req: unknown,
  res: {
    json(v: unknown): void;
    status(n: number): { json(v: unknown): void };
    set?(k: string, v: string): void;
  },
) => void;

/** Just enough of Node-RED's RED for the endpoints: routes collected, every permission granted. */
function fakeRed(
  settings: object,
  nodes: Record<string, unknown> = {},
): { RED: NodeAPI; routes: Map<string, Handler>; permissions: Map<string, string> } {
  const routes = new Map<string, Handler>();
  const permissions = new Map<string, string>();
  const RED = {
    httpAdmin: {
      get: (path: string, mw: { permission: string }, h: Handler) => {
        routes.set(path, h);
        permissions.set(path, mw.permission);
      },
      post: (path: string, mw: { permission: string }, h: Handler) => {
        routes.set("POST " + path, h);
        permissions.set("POST " + path, mw.permission);
      },
    },
    auth: { needsPermission: (permission: string) => ({ permission }) },
    nodes: { getNode: (id: string) => nodes[id] ?? null },
    version: () => "4.1.15",
    settings,
  } as unknown as NodeAPI;
  return { RED, routes, permissions };
}

/** Calls a route; resolves with the status, headers and body it answered. */
function call(
  h: Handler,
  params: Record<string, string>,
): Promise<{ status: number; body: unknown; headers: Record<string, string> }> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {};
    let status = 200;
    h(
      { params },
      {
        json: (body) => resolve({ status, body, headers }),
        status: (n) => {
          status = n;
          return { json: (body: unknown) => resolve({ status, body, headers }) };
        },
        set: (k, v) => void (headers[k] = v),
      },
    );
  });
}

describe("admin endpoints", () => {
  const sims: SimulatedInverter[] = [];
  after(() => Promise.all(sims.map((s) => s.stop())));

  it("200 discover requests at once: one search reaches the network, every request gets its answer", async () => {
    const sim = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: false });
    sims.push(sim);
    await sim.start();
    const { RED, routes } = fakeRed({
      smaSpeedwire: { discoveryTargets: [`127.0.0.1:${sim.port}`], discoveryTimeout: 500 },
    });
    registerAdminEndpoints(RED);
    const discover = routes.get("/sma-speedwire/discover");
    assert.ok(discover);
    const answers = await Promise.all(
      Array.from(
        { length: 200 },
        () =>
          new Promise<unknown>((resolve) => {
            discover({}, { json: resolve, status: () => ({ json: resolve }) });
          }),
      ),
    );
    assert.equal(sim.stats.discovery, 1, `${sim.stats.discovery} searches for 200 requests`);
    assert.ok(
      answers.every((a) => Array.isArray(a) && a.some((d: { serial?: number }) => d.serial === sim.serial)),
      JSON.stringify(answers[0]),
    );
    // A request after the search ended starts a new one.
    await new Promise((resolve) => discover({}, { json: resolve, status: () => ({ json: resolve }) }));
    assert.equal(sim.stats.discovery, 2);
  });

  it("trace: needs the inverter's write permission, gives the deployed session's trace without the password, rate-limited", async () => {
    const password = "Tr4c3Pw";
    const sim = new SimulatedInverter({
      address: "127.0.0.1",
      port: 0,
      timeVarying: false,
      userPassword: password,
      shortLoginAnswer: false,
    });
    sims.push(sim);
    await sim.start();
    const client = new SpeedwireClient();
    const session = client.inverter({ host: "127.0.0.1", port: sim.port, password });
    await session.read(["energy"]);
    const { RED, routes, permissions } = fakeRed(
      {},
      { inv: { type: "sma-inverter", session }, other: { type: "sma-energy" } },
    );
    registerAdminEndpoints(RED);
    assert.equal(permissions.get("POST /sma-speedwire/diagnose"), "sma-inverter.write");
    const path = "/sma-speedwire/trace/:id";
    const trace = routes.get(path);
    assert.ok(trace);
    assert.equal(permissions.get(path), "sma-inverter.write");
    assert.equal(permissions.get("/sma-speedwire/discover"), "sma-inverter.write", "as Search");
    const ok = await call(trace, { id: "inv" });
    assert.equal(ok.status, 200);
    const text = JSON.stringify(ok.body);
    assert.ok(
      !text.includes(password) &&
        !text.includes(encodePassword(password, "user").subarray(0, password.length).toString("hex")),
    );
    assert.equal((ok.body as SessionTrace).nodeRed, "4.1.15");
    assert.ok((ok.body as SessionTrace).entries.length >= 4);
    assert.match(ok.headers["Content-Disposition"], /attachment; filename="sma-trace-inv.json"/);
    assert.equal((await call(trace, { id: "other" })).status, 404);
    assert.equal((await call(trace, { id: "missing" })).status, 404);
    const statuses: number[] = [];
    for (let i = 0; i < TRACE_RATE.max; i++) statuses.push((await call(trace, { id: "inv" })).status);
    assert.ok(statuses.includes(429), `after ${TRACE_RATE.max} in a minute: ${statuses.join()}`);
    assert.equal(statuses.filter((s) => s !== 429).length, TRACE_RATE.max - 3, "the first ones in the window passed");
    await client.close();
  });
});
