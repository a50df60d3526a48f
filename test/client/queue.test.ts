/** One inverter's queue: archive reads take turns with live reads, request by request; each kind bounded on its own. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  FairQueue,
  MAX_PENDING_ARCHIVES,
  MAX_PENDING_READS,
  SmaError,
  SpeedwireClient,
  type Lane,
} from "../../src/client";
import { SimulatedInverter, type RequestEvent } from "../../src/simulator";
import { DAY_S } from "../../src/protocol";

const clients: SpeedwireClient[] = [];
const sims: SimulatedInverter[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(sims.map((s) => s.stop()));
});

const busy = (lane: Lane, n: number): SmaError => Object.assign(new SmaError("EBUSY", `${n} ${lane}`), { lane });

describe("FairQueue", () => {
  it("a live job queued during an archive job runs after the archive's current step, not after the whole archive", async () => {
    const q = new FairQueue({ live: 16, archive: 4 });
    const log: string[] = [];
    let liveQueued!: () => void;
    const started = new Promise<void>((r) => (liveQueued = r));
    const archive = q.run(
      "archive",
      "a",
      async (turn) => {
        for (let i = 0; i < 5; i++) {
          if (i > 0) await turn.pass();
          log.push(`a${i}`);
          if (i === 0) await started;
        }
      },
      busy,
    );
    await new Promise((r) => setImmediate(r));
    const live = q.run("live", "l", async () => void log.push("live"), busy);
    liveQueued();
    await Promise.all([archive, live]);
    assert.deepEqual(log, ["a0", "live", "a1", "a2", "a3", "a4"]);
  });

  it("archives and live reads are bounded each on their own; the refusal names its lane", async () => {
    const q = new FairQueue({ live: 2, archive: 1 });
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const jobs = [
      q.run("archive", "a1", () => hold, busy),
      q.run("live", "l1", () => hold, busy),
      q.run("live", "l2", () => hold, busy),
    ];
    const refusals = await Promise.allSettled([
      q.run("archive", "a2", () => hold, busy),
      q.run("live", "l3", () => hold, busy),
    ]);
    assert.deepEqual(
      refusals.map((r) => r.status === "rejected" && (r.reason as SmaError).lane),
      ["archive", "live"],
    );
    assert.equal(
      q.run("live", "l1", () => hold, busy),
      jobs[1],
      "an identical job shares the pending one",
    );
    release();
    await Promise.all(jobs);
    assert.equal(q.size(), 0);
  });
});

describe("archive reads beside live reads", () => {
  it(
    `${MAX_PENDING_ARCHIVES} archive reads of 92 days and a live read: the live read waits for at most one archive request; the next archive read is EBUSY`,
    { timeout: 60_000 },
    async () => {
      const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, latencyMs: 2 });
      sims.push(s);
      await s.start();
      const c = new SpeedwireClient();
      clients.push(c);
      const session = c.inverter({ host: "127.0.0.1", port: s.port, password: "0000", timeoutMs: 1000, retries: 2 });
      const requests: string[] = [];
      // Requests, not datagrams: a resend (same packet id, one request in flight) on a loaded machine is not another request.
      let lastId: number | undefined;
      s.on("request", (e: RequestEvent) => {
        if (e.kind !== "query" || e.packetId === lastId) return;
        lastId = e.packetId;
        requests.push(e.query ?? "");
      });
      const to = Math.floor(Date.now() / 1000);
      const archives = Array.from({ length: MAX_PENDING_ARCHIVES }, (_, i) =>
        session.readArchive("day", { from: to - 92 * DAY_S + i * 300, to }),
      );
      const refused = await session.readArchive("day", { from: to - DAY_S, to }).catch((e: SmaError) => e);
      assert.ok(refused instanceof SmaError && refused.code === "EBUSY" && refused.lane === "archive", String(refused));
      assert.match(refused.message, /archive reads/);
      // Live reads are still taken beside them.
      while (requests.filter((q) => q === "dayData").length < 10) await new Promise((r) => setTimeout(r, 5));
      const before = requests.length;
      const live = await session.read(["acPowerTotal"]);
      const between = requests.slice(before);
      assert.ok(live.values.acPower !== undefined);
      const archiveRequests = between.indexOf("acPowerTotal");
      assert.ok(
        archiveRequests >= 0 && archiveRequests <= 1,
        `archive requests before the live read's own: ${between.slice(0, 5).join()} (${archiveRequests})`,
      );
      const results = await Promise.all(archives);
      const asked = requests.filter((q) => q === "dayData").length;
      assert.ok(asked >= MAX_PENDING_ARCHIVES * 92 && asked <= MAX_PENDING_ARCHIVES * 94, `${asked} archive requests`);
      // The same as read alone: taking turns cut nothing out.
      const alone = await session.readArchive("day", { from: to - 92 * DAY_S, to });
      assert.ok(alone.records.length > 0);
      assert.deepEqual(results[0].records, alone.records);
      assert.ok(MAX_PENDING_READS >= 16);
    },
  );
});
