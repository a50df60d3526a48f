/**
 * The editor's admin endpoints under many calls: the discovery endpoint runs one search at a time, shared by
 * every request that arrives while it runs (each used to open its own socket and search).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { NodeAPI } from "node-red";
import { SimulatedInverter } from "../../src/simulator";
import { registerAdminEndpoints } from "../../nodes/shared/admin";

type Handler = (req: unknown, res: { json(v: unknown): void; status(n: number): { json(v: unknown): void } }) => void;

/** Just enough of Node-RED's RED for the endpoints: routes collected, every permission granted. */
function fakeRed(settings: object): { RED: NodeAPI; routes: Map<string, Handler> } {
  const routes = new Map<string, Handler>();
  const RED = {
    httpAdmin: { get: (path: string, _mw: unknown, h: Handler) => void routes.set(path, h) },
    auth: { needsPermission: () => () => undefined },
    settings,
  } as unknown as NodeAPI;
  return { RED, routes };
}

describe("admin endpoints", () => {
  const sims: SimulatedInverter[] = [];
  after(() => Promise.all(sims.map((s) => s.stop())));

  it("200 discover requests at once: one search reaches the network, every request gets its answer", async () => {
    const sim = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: false });
    sims.push(sim);
    await sim.start();
    const { RED, routes } = fakeRed({ smaSpeedwire: { discoveryTargets: [`127.0.0.1:${sim.port}`], discoveryTimeout: 500 } });
    registerAdminEndpoints(RED);
    const discover = routes.get("/sma-speedwire/discover");
    assert.ok(discover);
    const answers = await Promise.all(Array.from({ length: 200 }, () => new Promise<unknown>((resolve) => {
      discover({}, { json: resolve, status: () => ({ json: resolve }) });
    })));
    assert.equal(sim.stats.discovery, 1, `${sim.stats.discovery} searches for 200 requests`);
    assert.ok(answers.every((a) => Array.isArray(a) && a.some((d: { serial?: number }) => d.serial === sim.serial)), JSON.stringify(answers[0]));
    // A request after the search ended starts a new one.
    await new Promise((resolve) => discover({}, { json: resolve, status: () => ({ json: resolve }) }));
    assert.equal(sim.stats.discovery, 2);
  });
});
