/** Archive and event-log reads of the session against the simulator: chunks, fragments under loss, 0x0015, limits. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SpeedwireClient, SmaError, type InverterOptions } from "../../src/client";
import { SimulatedInverter, localMidnight, type SimulatedInverterOptions } from "../../src/simulator";

const NOON = new Date(2025, 5, 21, 13, 0, 0);
const MIDNIGHT = localMidnight(NOON.getTime() / 1000);
const clients: SpeedwireClient[] = [];
const sims: SimulatedInverter[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(sims.map((s) => s.stop()));
});

async function sim(o: Partial<SimulatedInverterOptions> = {}): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: true, clock: () => NOON, ...o });
  sims.push(s);
  await s.start();
  return s;
}

function session(s: SimulatedInverter, o: Partial<InverterOptions> = {}) {
  const c = new SpeedwireClient();
  clients.push(c);
  return c.inverter({ host: "127.0.0.1", port: s.port, password: "0000", timeoutMs: 200, retries: 2, ...o });
}

const threeDays = { from: MIDNIGHT - 2 * 86_400, to: NOON.getTime() / 1000 };

describe("archive reads", () => {
  it("day data: every slot of the range plus the baseline slot before it, asked a day at a time", async () => {
    const s = await sim();
    const inv = session(s);
    const r = await inv.readArchive("day", threeDays);
    assert.deepEqual(r.asked, { from: threeDays.from - 300, to: threeDays.to });
    assert.equal(r.records.length, 2 * 288 + (13 * 3600) / 300 + 2);
    assert.deepEqual(r.held, { from: threeDays.from - 300, to: threeDays.to });
    // Requests the client made, not datagrams the device got: on a busy machine an answer of a day's 288 records
    // can take longer than the RTO learnt from the login (100 ms), and the client then rightly sends it again.
    assert.equal(inv.stats.requests - inv.stats.logins, 3, "one request per day of the range");
    assert.ok(s.stats.queries.dayData >= 3);
    assert.ok(
      r.records.every((x, i) => i === 0 || x.time === r.records[i - 1].time + 300),
      "no gap, no repeat",
    );
    assert.equal(r.records[r.records.length - 1].totalWh, s.currentValues().totalYield);
    assert.equal(r.device.serial, s.serial);
  });

  it("fragmented answers under 15 % loss each way come back complete, never partial", async () => {
    const whole = await session(await sim()).readArchive("day", threeDays);
    for (const seed of [1, 2, 3]) {
      const s = await sim({ lossAnswers: 0.15, lossRequests: 0.15, seed, maxRecordsPerDatagram: 40 });
      const r = await session(s, { retries: 6 }).readArchive("day", threeDays);
      assert.deepEqual(r.records, whole.records, `seed ${seed}`);
      assert.ok(s.stats.dropped > 0, "the loss happened");
    }
  });

  it("an answer missing a datagram is asked again, then fails with ETIMEDOUT rather than returning part of it", async () => {
    const s = await sim({ maxRecordsPerDatagram: 40 });
    // Drop the first datagram of every answer: the rest, down to fragment 0, arrives.
    const real = (s as unknown as { reply: (d: Buffer[], to: unknown) => void }).reply.bind(s);
    (s as unknown as { reply: (d: Buffer[], to: unknown) => void }).reply = (d, to) =>
      real(d.length > 1 ? d.slice(1) : d, to);
    await assert.rejects(
      session(s, { retries: 1 }).readArchive("day", threeDays),
      (e: unknown) => e instanceof SmaError && e.code === "ETIMEDOUT" && /incomplete answer/.test(e.message),
    );
    assert.ok(s.stats.queries.dayData >= 2, "asked again within the deadline, then gave up");
  });

  it("0x0015 (nothing in that range, older than the retention) is an empty result with the range stated, not an error", async () => {
    const s = await sim({ dayDataRetentionDays: 7 });
    const old = { from: MIDNIGHT - 20 * 86_400, to: MIDNIGHT - 10 * 86_400 };
    const r = await session(s).readArchive("day", old);
    assert.deepEqual([r.records, r.held, r.asked.from], [[], null, old.from - 300]);
    const partly = await session(s).readArchive("day", { from: MIDNIGHT - 9 * 86_400, to: MIDNIGHT });
    assert.equal(partly.held?.from, NOON.getTime() / 1000 - 7 * 86_400, "what the device still holds");
  });

  it("month data: one record per completed day from the day before the range", async () => {
    const s = await sim();
    const inv = session(s);
    const r = await inv.readArchive("month", { from: MIDNIGHT - 40 * 86_400, to: MIDNIGHT });
    assert.equal(r.records.length, 41);
    assert.equal(r.records[0].time, localMidnight(MIDNIGHT - 41 * 86_400 + 3600));
    assert.equal(inv.stats.requests - inv.stats.logins, 2, "31 days a request (requests, not resent datagrams)");
  });

  it("a device that stamps each daily total at the following midnight gives the same records, dated by their day", async () => {
    const wanted = { from: MIDNIGHT - 10 * 86_400, to: MIDNIGHT };
    const plain = await session(await sim()).readArchive("month", wanted);
    const late = await sim({ dailyTotalAtNextMidnight: true });
    const shifted = await session(late).readArchive("month", wanted, { dailyAtNextMidnight: true });
    assert.deepEqual(shifted.records, plain.records);
    assert.deepEqual(shifted.held, plain.held);
    const unshifted = await session(late).readArchive("month", wanted);
    assert.notDeepEqual(
      unshifted.records.map((r) => r.time),
      plain.records.map((r) => r.time),
      "without the option the dates are a day late",
    );
  });

  it("event log of either group", async () => {
    const s = await sim({
      events: [
        { time: MIDNIGHT - 40 * 86_400, code: 1, tag: 11, group: "user" },
        { time: MIDNIGHT + 60, code: 2, tag: 22, group: "user" },
        { time: MIDNIGHT + 120, code: 3, tag: 33, group: "installer" },
      ],
    });
    const inv = session(s);
    const user = await inv.readEvents("user", { from: MIDNIGHT - 60 * 86_400, to: MIDNIGHT + 86_399 });
    assert.deepEqual(
      user.records.map((e) => [e.code, e.entryId]),
      [
        [1, 1],
        [2, 2],
      ],
    );
    const inst = await inv.readEvents("installer", { from: MIDNIGHT, to: MIDNIGHT + 86_399 });
    assert.deepEqual(
      inst.records.map((e) => e.code),
      [3],
    );
    const none = await inv.readEvents("installer", { from: MIDNIGHT - 86_400, to: MIDNIGHT - 1 });
    assert.deepEqual([none.records, none.held], [[], null]);
  });

  it("ranges that are no range or too long are EINVAL before anything is sent", async () => {
    const s = await sim();
    const inv = session(s);
    for (const range of [
      { from: 10, to: 5 },
      { from: 0.5, to: 5 },
      { from: 0, to: 93 * 86_400 },
    ]) {
      await assert.rejects(inv.readArchive("day", range), (e: unknown) => e instanceof SmaError && e.code === "EINVAL");
    }
    assert.equal(s.stats.received, 0);
  });

  it("a lapsed session mid-read logs in again and goes on; archive and value reads share the queue", async () => {
    const s = await sim();
    const inv = session(s);
    await inv.read(["energy"]);
    s.restart();
    const [archive, values] = await Promise.all([inv.readArchive("day", threeDays), inv.read(["energy"])]);
    assert.equal(archive.records.length, 2 * 288 + (13 * 3600) / 300 + 2);
    assert.equal(values.values.totalYield, s.currentValues().totalYield);
    assert.equal(s.stats.logins, 2);
  });
});
