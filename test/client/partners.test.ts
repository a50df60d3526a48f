/**
 * The client against what real devices send besides answers (speedwire-protocol.md §9): the 0x51800200 partner
 * requests a Sunny Boy Storage sends to every client that ever logged in, and an answer that comes late.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SpeedwireClient, SmaError, type InverterOptions, type ReadResult } from "../../src/client";
import { SimulatedInverter, type RequestEvent, type SimulatedInverterOptions } from "../../src/simulator";
import type { QueryName } from "../../src/protocol";

const clients: SpeedwireClient[] = [];
const sims: SimulatedInverter[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(sims.map((s) => s.stop()));
});

const TIMEOUT_MS = 300;

async function sim(opts: Partial<SimulatedInverterOptions> = {}): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: false, timePushMs: 0, ...opts });
  sims.push(s);
  await s.start();
  return s;
}

function client(): SpeedwireClient {
  const c = new SpeedwireClient();
  clients.push(c);
  return c;
}

function session(c: SpeedwireClient, s: SimulatedInverter, o: Partial<InverterOptions> = {}) {
  return c.inverter({ host: "127.0.0.1", port: s.port, password: "0000", timeoutMs: TIMEOUT_MS, retries: 2, ...o });
}

/** Every request the simulator gets, by kind: a client that answered a partner request would show up here. */
function requestsAt(s: SimulatedInverter): RequestEvent[] {
  const seen: RequestEvent[] = [];
  s.on("request", (r: RequestEvent) => void seen.push(r));
  return seen;
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** What a read gives, without its times. */
const outcome = (r: ReadResult) => ({
  values: r.values,
  unsupported: [...r.unsupported].sort(),
  unknown: [...r.unknown].sort(),
  device: r.device,
});

const QUERIES: QueryName[] = ["energy", "acPowerPhase", "deviceStatus", "gridRelay", "batterySoc", "gridPower"];
/** A pv device: battery values unsupported (0x0015), gridPower unknown (0x0014). */
const DEVICE: Partial<SimulatedInverterOptions> = { profile: "pv", unknown: ["gridPower"] };

describe("partner requests (0x51800200 to every partner) during reads", () => {
  it("change no value and no error, are never taken as answers, and the client does not answer them", async () => {
    const quiet = await sim({ ...DEVICE, partnerRequestMs: 0 });
    const expected = outcome(await session(client(), quiet).read(QUERIES));
    const s = await sim({ ...DEVICE, partnerRequestMs: 50 });
    const seen = requestsAt(s);
    const c = client();
    const x = session(c, s);
    let reads = 0;
    // Reads until the client has had at least 5 partner requests (about 250 ms), each read as on the quiet device.
    while (s.stats.partnerRequests < 5 || reads < 3) {
      assert.deepEqual(outcome(await x.read(QUERIES)), expected, `read ${reads + 1}`);
      reads++;
    }
    assert.ok(s.partners.some((p) => p.port === c.transport.port));
    // Stopped: every datagram the client gets is an answer it matched or a partner request it dropped.
    await s.stop();
    const t = c.transport.stats;
    // A resend (a process held up beyond the wait before one, on a busy machine) brings a second copy of an answer,
    // which is dropped as unmatched: allowed for, as many as there were resends, and nothing else.
    const copies = (): number => s.stats.answered - t.matched;
    await until(
      "the partner requests at the client",
      () => t.received === t.matched + copies() + s.stats.partnerRequests,
    );
    assert.equal(t.unmatched + t.rejected, s.stats.partnerRequests + copies());
    assert.ok(copies() <= x.stats.timeouts, `${copies()} answers not matched, ${x.stats.timeouts} resends`);
    assert.equal(t.malformed, 0);
    // The client sent only its login and queries: no answer (nor anything else) to the device's requests.
    assert.deepEqual([...new Set(seen.map((r) => r.kind))].sort(), ["login", "query"]);
    assert.equal(s.stats.ignored, 0);
  });

  it("a partner request with the packet id of the pending query is no answer to it", async () => {
    // deviceStatus asks with the same command (0x51800200) and a first index inside the request's range: the
    // device's request differs from the awaited answer only in the answer bit and the destination.
    const s = await sim({ ...DEVICE, partnerRequestMs: 0, latencyMs: 100 });
    const c = client();
    const x = session(c, s);
    const expected = outcome(await x.read(["deviceStatus"]));
    let crafted = 0;
    s.on("request", (r: RequestEvent) => {
      if (r.kind !== "query" || r.packetId === undefined) return;
      // While the answer is 100 ms away: the same packet id, from the device's address and port.
      void s.sendPartnerRequests({ packetId: r.packetId }).then((n) => (crafted += n));
    });
    const before = { ...c.transport.stats };
    for (let i = 0; i < 3; i++) assert.deepEqual(outcome(await x.read(["deviceStatus"])), expected);
    await until("the crafted requests sent", () => crafted === 3);
    await until("the crafted requests received", () => c.transport.stats.received - before.received === 6);
    assert.equal(c.transport.stats.matched - before.matched, 3, "the three answers");
    assert.equal(c.transport.stats.rejected - before.rejected, 3, "the three requests, dropped");
    assert.equal(x.stats.timeouts, 0);
    assert.equal(s.stats.ignored, 0, "the client sent nothing back");
  });

  it("a read that times out still times out (a request is no answer)", async () => {
    const s = await sim({ ...DEVICE, partnerRequestMs: 50 });
    const seen = requestsAt(s);
    const c = client();
    const x = session(c, s);
    await x.read(["acPowerPhase"]);
    // Every answer lost from now on; the partner requests still come.
    s.options.lossAnswers = 1;
    const partnersBefore = s.stats.partnerRequests;
    const e = await x.read(["acPowerPhase"]).catch((err: unknown) => err);
    assert.ok(e instanceof SmaError && e.code === "ETIMEDOUT", String(e));
    assert.ok(s.stats.partnerRequests > partnersBefore, "partner requests came while it waited");
    assert.deepEqual([...new Set(seen.map((r) => r.kind))].sort(), ["login", "query"]);
  });
});

describe("the partner table and the client's close", () => {
  it("session.close() logs off: the device no longer has the client's port", async () => {
    const s = await sim({ partnerRequestMs: 0 });
    const c = client();
    const x = session(c, s);
    await x.read(["acPowerPhase"]);
    const port = c.transport.port;
    assert.deepEqual(s.partners, [{ address: "127.0.0.1", port }]);
    const loggedOff = new Promise((r) => s.on("request", (q: RequestEvent) => void (q.kind === "logoff" && r(q))));
    await x.close();
    await loggedOff;
    assert.deepEqual(s.partners, []);
    assert.equal(await s.sendPartnerRequests(), 0);
  });
});

describe("an answer that comes late", () => {
  it("to a request already resent: the values once, and the late copy is not the next read's answer", async () => {
    // Every answer 100 ms away; the first answer to the read below 1.5 timeouts: the client resends in between.
    const s = await sim({ ...DEVICE, partnerRequestMs: 0, latencyMs: 100 });
    const c = client();
    const x = session(c, s);
    await x.read(["acPowerPhase"]);
    s.set("acPowerL1", 1111);
    s.delayNextAnswer(TIMEOUT_MS * 1.5);
    const states: string[] = [];
    x.on("state", (st: string) => states.push(st));
    const before = { ...c.transport.stats };
    const first = await x.read(["acPowerPhase"]);
    assert.equal(first.values.acPowerL1, 1111);
    assert.equal(x.stats.timeouts, 1, "one resend");
    assert.equal(s.stats.lateAnswers, 1);
    // The next read asks at once (its answer 100 ms away): the other copy of the first answer arrives meanwhile.
    s.set("acPowerL1", 2222);
    const second = await x.read(["acPowerPhase"]);
    assert.equal(second.values.acPowerL1, 2222, "not the late copy's 1111");
    await until(
      "both answers to the resent request and the next one",
      () => c.transport.stats.received - before.received === 3,
    );
    assert.equal(c.transport.stats.matched - before.matched, 2, "one answer per read");
    assert.equal(c.transport.stats.unmatched - before.unmatched, 1, "the other copy of the first answer dropped");
    assert.equal(x.stats.reads, 3);
    assert.equal(states.filter((st) => st === "ok").length, 2, "each read ended once");
  });
});
