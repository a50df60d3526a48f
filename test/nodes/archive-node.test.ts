/** sma-archive in a Node-RED runtime (test helper) against a simulated inverter on 127.0.0.1. */
import { after, afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { helper, load, nextMessage } from "../harness/red-helper";
import { SimulatedInverter, localMidnight, type SimulatedInverterOptions } from "../../src/simulator";
import { rangeOf, timeOf } from "../../nodes/shared/archive";
import inverterNode = require("../../nodes/sma-inverter/sma-inverter");
import archiveNode = require("../../nodes/sma-archive/sma-archive");
import queryNodes = require("../../nodes/sma-query/sma-query");
import type { RequestEvent } from "../../src/simulator";
import { MAX_PENDING_ARCHIVES } from "../../src/client";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require("@node-red/nodes/core/common/25-catch.js");

const NODES = [inverterNode, archiveNode, catchNode];
const NOON = new Date(2025, 5, 21, 13, 0, 0);
const MIDNIGHT = localMidnight(NOON.getTime() / 1000) * 1000;
const sims: SimulatedInverter[] = [];

async function sim(o: Partial<SimulatedInverterOptions> = {}): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: true, clock: () => NOON, ...o });
  sims.push(s);
  await s.start();
  return s;
}

async function deploy(s: SimulatedInverter, node: Record<string, unknown>): Promise<void> {
  await load(
    NODES,
    [
      {
        id: "inv",
        type: "sma-inverter",
        host: "127.0.0.1",
        port: String(s.port),
        serial: "",
        group: "user",
        timeout: "300",
        retries: "2",
      },
      { id: "a", type: "sma-archive", inverter: "inv", wires: [["out"]], ...node },
      { id: "out", type: "helper" },
      { id: "c", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
      { id: "caught", type: "helper" },
    ],
    { inv: { password: "0000" } },
  );
}

/**
 * The messages of one read sent one per record: as many as the first one's msg.sma.count says (however slowly they
 * come on a loaded machine), plus any that arrive in `quietMs` after those (there should be none).
 */
function collect(quietMs = 400, timeoutMs = 10_000): Promise<Record<string, unknown>[]> {
  const got: Record<string, unknown>[] = [];
  return new Promise((resolve) => {
    let t = setTimeout(() => resolve(got), timeoutMs);
    helper.getNode("out").on("input", (m) => {
      got.push(m as Record<string, unknown>);
      if (got.length !== (got[0].sma as { count?: number } | undefined)?.count) return;
      clearTimeout(t);
      t = setTimeout(() => resolve(got), quietMs);
    });
  });
}

type Point = { time: number; totalYield: number; yield: number; power: number | null };

afterEach(async () => {
  await helper.unload();
});
after(async () => {
  await Promise.all(sims.map((x) => x.stop()));
});

describe("sma-archive", () => {
  it("range from msg (ISO string and Date): every 5-minute slot inside it, yields and power, the baseline left out", async () => {
    const s = await sim();
    await deploy(s, { archive: "day" });
    for (const from of [new Date(MIDNIGHT).toISOString(), new Date(MIDNIGHT)]) {
      const got = nextMessage(helper.getNode("out"));
      helper.getNode("a").receive({ payload: { from, to: NOON } });
      const msg = await got;
      const points = msg.payload as Point[];
      assert.equal(points.length, (13 * 3600) / 300 + 1, "00:00 .. 13:00 inclusive");
      assert.equal(points[0].time, MIDNIGHT);
      assert.equal(points[points.length - 1].time, NOON.getTime());
      for (const p of points) {
        assert.deepEqual(Object.keys(p).sort(), ["power", "time", "totalYield", "yield"]);
        assert.ok(p.yield >= 0 && Number.isFinite(p.power as number));
        assert.equal(p.power, Math.round((p.yield * 3600) / 300));
      }
      const v = s.currentValues() as Record<string, number>;
      assert.equal(
        points.reduce((a, p) => a + p.yield, 0),
        v.dayYield,
      );
      assert.equal(points[points.length - 1].totalYield, v.totalYield);
      const sma = msg.sma as Record<string, unknown>;
      assert.deepEqual(
        [sma.archive, sma.from, sma.to, sma.count, sma.serial],
        ["day", MIDNIGHT, NOON.getTime(), points.length, s.serial],
      );
      assert.deepEqual(sma.held, { from: MIDNIGHT - 300_000, to: NOON.getTime() });
      assert.equal(msg.topic, `sma/${s.serial}/archive/day`);
    }
  });

  it("range from the settings: the last N hours up to now", async () => {
    const s = await sim({ clock: () => new Date() });
    await deploy(s, { archive: "day", span: "2" });
    const got = nextMessage(helper.getNode("out"));
    const before = Date.now();
    helper.getNode("a").receive({ payload: "go" });
    const msg = await got;
    const points = msg.payload as Point[];
    assert.ok(points.length >= 23 && points.length <= 25, `${points.length} slots in 2 h`);
    assert.ok(
      points.every((p) => p.time % 300_000 === 0 && p.time >= before - 2 * 3600_000 - 1000 && p.time <= Date.now()),
    );
    const sma = msg.sma as Record<string, number>;
    assert.ok(Math.abs(sma.to - sma.from - 2 * 3600_000) < 1000);
  });

  it("one message per record, for database writes", async () => {
    const s = await sim();
    await deploy(s, { archive: "day", output: "each" });
    const all = collect();
    helper.getNode("a").receive({ payload: { from: NOON.getTime() - 3600_000, to: NOON.getTime() }, keep: "me" });
    const msgs = await all;
    assert.equal(msgs.length, 13);
    assert.deepEqual(
      msgs.map((m) => (m.payload as Point).time),
      Array.from({ length: 13 }, (_, i) => NOON.getTime() - 3600_000 + i * 300_000),
    );
    assert.ok(msgs.every((m) => m.keep === "me" && (m.sma as Record<string, number>).count === 13));
  });

  it("nothing in the range (0x0015, older than the retention): an empty array with the range stated, not an error", async () => {
    const s = await sim({ dayDataRetentionDays: 7 });
    await deploy(s, { archive: "day" });
    const caught: unknown[] = [];
    helper.getNode("caught").on("input", () => caught.push(1));
    const got = nextMessage(helper.getNode("out"));
    const from = MIDNIGHT - 30 * 86_400_000;
    helper.getNode("a").receive({ payload: { from, to: from + 86_400_000 } });
    const msg = await got;
    assert.deepEqual(msg.payload, []);
    assert.deepEqual((msg.sma as Record<string, unknown>).held, null);
    assert.deepEqual(
      [(msg.sma as Record<string, unknown>).from, (msg.sma as Record<string, unknown>).to],
      [from, from + 86_400_000],
    );
    assert.equal(caught.length, 0);
  });

  it("daily yields: dated by their day, also from a device that stamps them at the following midnight", async () => {
    const wants: Point[][] = [];
    for (const dailyTotalAtNextMidnight of [false, true]) {
      const s = await sim({ dailyTotalAtNextMidnight });
      await deploy(s, { archive: "month", nextMidnight: dailyTotalAtNextMidnight });
      const got = nextMessage(helper.getNode("out"));
      helper.getNode("a").receive({ payload: { from: MIDNIGHT - 5 * 86_400_000, to: MIDNIGHT - 1 } });
      const points = (await got).payload as Point[];
      assert.deepEqual(
        points.map((p) => p.time),
        [5, 4, 3, 2, 1].map((d) => localMidnight(MIDNIGHT / 1000 - d * 86_400 + 3600) * 1000),
      );
      assert.ok(points.every((p) => p.power === null && p.yield > 0));
      wants.push(points);
      await helper.unload();
    }
    assert.deepEqual(wants[1], wants[0]);
  });

  it("event log: flat records with time in ms and text null where the name is not known", async () => {
    const s = await sim({
      events: [{ time: MIDNIGHT / 1000 + 60, code: 10_001, tag: 0x1001, group: "installer", args: [1, 2, 3, 4] }],
    });
    await deploy(s, { archive: "events", group: "installer" });
    const got = nextMessage(helper.getNode("out"));
    helper.getNode("a").receive({ payload: { from: MIDNIGHT, to: NOON.getTime() } });
    const msg = await got;
    assert.deepEqual(msg.payload, [
      {
        time: MIDNIGHT + 60_000,
        entryId: 1,
        code: 10_001,
        tag: 0x1001,
        text: null,
        group: "installer",
        flags: 0,
        counter: 1,
        args: [1, 2, 3, 4],
        serial: s.serial,
        susyId: s.susyId,
      },
    ]);
  });

  it("a range that is none is EINVAL for a Catch node", async () => {
    const s = await sim();
    await deploy(s, { archive: "day" });
    const got = nextMessage(helper.getNode("caught"));
    helper.getNode("a").receive({ payload: { from: "yesterday-ish" } });
    const msg = await got;
    assert.match(String((msg.error as { message?: string }).message), /msg.payload.from/);
    assert.equal(s.stats.received, 0);
  });
});

describe("archive reads beside live reads", () => {
  it(
    "16 archive reads of 92 days and a spot poll of one inverter: the spot values come after at most one archive request",
    { timeout: 120_000 },
    async () => {
      const s = await sim();
      await load(
        [...NODES, queryNodes],
        [
          {
            id: "inv",
            type: "sma-inverter",
            host: "127.0.0.1",
            port: String(s.port),
            serial: "",
            group: "user",
            timeout: "300",
            retries: "2",
          },
          { id: "a", type: "sma-archive", inverter: "inv", archive: "day", wires: [["out"]] },
          { id: "spot", type: "sma-spot-ac", inverter: "inv", wires: [["spotOut"]] },
          { id: "out", type: "helper" },
          { id: "spotOut", type: "helper" },
          { id: "c", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
          { id: "caught", type: "helper" },
        ],
        { inv: { password: "0000" } },
      );
      const requests: string[] = [];
      s.on("request", (e: RequestEvent) => void (e.kind === "query" && requests.push(e.query ?? "")));
      const caught: Record<string, unknown>[] = [];
      helper.getNode("caught").on("input", (m) => caught.push(m as Record<string, unknown>));
      const archives: Record<string, unknown>[] = [];
      const allArchives = new Promise<void>((resolve) =>
        helper.getNode("out").on("input", (m) => {
          archives.push(m as Record<string, unknown>);
          if (archives.length === MAX_PENDING_ARCHIVES) resolve();
        }),
      );
      const range = { from: NOON.getTime() - 92 * 86_400_000, to: NOON.getTime() };
      for (let i = 0; i < 16; i++) helper.getNode("a").receive({ payload: range, topic: `archive ${i}` });
      // The archive reads are under way (the inverter answers at once: no clock is needed to see the order).
      while (requests.filter((q) => q === "dayData").length < 20) await new Promise((r) => setTimeout(r, 5));
      const before = requests.length;
      const spot = nextMessage(helper.getNode("spotOut"), 60_000);
      helper.getNode("spot").receive({ payload: "poll" });
      const msg = await spot;
      const between = requests.slice(before);
      const archiveFirst = between.findIndex((q) => q !== "dayData");
      assert.ok(
        archiveFirst >= 0 && archiveFirst <= 1,
        `archive requests before the spot poll's first query: ${archiveFirst}`,
      );
      assert.equal(typeof (msg.payload as Record<string, unknown>).power, "number");
      await allArchives;
      // The archive reads beyond the bound ended at once, at the Catch node, saying why.
      assert.equal(caught.length, 16 - MAX_PENDING_ARCHIVES);
      for (const m of caught)
        assert.match(String((m.error as { message?: string }).message), /EBUSY|busy: \d+ archive reads/);
      assert.deepEqual(
        archives.map((m) => (m.payload as unknown[]).length > 0),
        Array(MAX_PENDING_ARCHIVES).fill(true),
      );
    },
  );
});

describe("archive ranges", () => {
  it("Date, ISO string and ms; to defaults to now; the settings give the last N hours or days", () => {
    assert.equal(timeOf("2026-01-01T00:00:00Z"), Date.UTC(2026, 0, 1));
    assert.equal(timeOf(new Date(5000)), 5000);
    for (const bad of ["", "soon", NaN, -1, {}, null, 2 ** 32 * 1000])
      assert.equal(timeOf(bad), undefined, String(bad));
    assert.deepEqual(rangeOf({ from: 1000 }, "day", 24, 9000), { from: 1000, to: 9000 });
    assert.deepEqual(rangeOf("go", "day", 2, 10 * 3600_000), { from: 8 * 3600_000, to: 10 * 3600_000 });
    assert.deepEqual(rangeOf(undefined, "month", 3, 10 * 86_400_000), { from: 7 * 86_400_000, to: 10 * 86_400_000 });
    assert.throws(() => rangeOf({ from: 9000, to: 1000 }, "day", 1));
  });
});
