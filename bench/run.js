#!/usr/bin/env node
// `npm run bench`: the performance figures of docs/PERFORMANCE.md. Each figure is the median of several runs
// after a warm-up; figures compared with a baseline measure both side by side in the same run. Prints a table,
// then details, then as its LAST line one JSON object with the figures.
//
// Needs `node scripts/build.js --test` first (dist/ and the test harness in build/test/harness), which the
// npm script does. BENCH_QUICK=1 runs every part with small counts (a smoke test of the bench, not figures).
"use strict";
const path = require("node:path");
const { median, quantile, machine } = require("./lib");

const root = path.join(__dirname, "..");
const dist = path.join(root, "dist", "src");
const p = { ...require(path.join(dist, "protocol")), ...require(path.join(dist, "simulator", "answer-builders")) };
const { SpeedwireClient } = require(path.join(dist, "client"));
const { SimulatedInverter } = require(path.join(dist, "simulator"));
const harness = path.join(root, "build", "test", "harness");

const QUICK = !!process.env.BENCH_QUICK && process.env.BENCH_QUICK !== "0";
const N = QUICK
  ? {
      rateRuns: 3,
      heapReads: 5000,
      heapRuns: 1,
      readRuns: 1,
      reads: 40,
      readWarmup: 10,
      hotReads: 40,
      floorRounds: 30,
      cpuRuns: 1,
      cpuWindowMs: 3000,
      redeploys: 20,
      lossReads: 5,
    }
  : {
      rateRuns: 6,
      heapReads: 100_000,
      heapRuns: 3,
      readRuns: 3,
      reads: 400,
      readWarmup: 100,
      hotReads: 300,
      floorRounds: 300,
      cpuRuns: 3,
      cpuWindowMs: 10_000,
      redeploys: 200,
      lossReads: 200,
    };

// energy (2 queries) + AC (4) + DC (2): what sma-energy, sma-spot-ac and sma-spot-dc ask together.
const FULL_READ = [
  "energy",
  "times",
  "acPowerTotal",
  "acPowerPhase",
  "acVoltageCurrent",
  "gridFrequency",
  "dcPower",
  "dcVoltageCurrent",
];
const PACKAGE = "@speedwire/node-red-sma";

function answersOf(query, sim) {
  const q = p.QUERIES[query];
  const defs = p.VALUES.filter((v) => v.query === query);
  const values = sim.currentValues();
  const records = [];
  for (const d of defs)
    for (const cls of d.indexed ? [1, 2] : [1])
      records.push(p.buildRecord(d, cls, values[d.indexed ? d.name + cls : d.name] ?? 1, 1700000000));
  const bySize = new Map();
  for (const r of records) bySize.set(r.length, [...(bySize.get(r.length) ?? []), r]);
  return [...bySize.values()].map((rs) =>
    p.buildDataAnswer({
      source: { susyId: 1, serial: 2 },
      destination: { susyId: 3, serial: 4 },
      packetId: 5,
      command: q.command,
      firstIndex: 0,
      records: rs,
    }),
  );
}

/** Items per second of fn over items: runs of >= ms each, the first one a warm-up, median of the others. */
function rate(fn, items, ms = 400) {
  const runs = [];
  for (let r = 0; r < N.rateRuns; r++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    let t;
    do {
      for (const x of items) fn(x);
      n += items.length;
      t = Number(process.hrtime.bigint() - t0) / 1e6;
    } while (t < ms);
    if (r > 0) runs.push((n / t) * 1000);
  }
  return Math.round(median(runs));
}

async function fullRead(sessions) {
  const t0 = process.hrtime.bigint();
  await Promise.all(sessions.map((s) => s.read(FULL_READ)));
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * plant_50_ratio: a full read of 50 simulated inverters (50 ms latency each) in parallel through one client,
 * divided by a full read of one, alternating one/all 5 times after a warm-up; medians. Also counts the
 * requests one full read sends (requests_per_full_read), from the session's own counter.
 */
async function plantRatio() {
  const client = new SpeedwireClient();
  const sims = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, serial: 3300000000 + i, latencyMs: 50 });
      await s.start();
      return s;
    }),
  );
  const sessions = sims.map((s) =>
    client.inverter({ host: "127.0.0.1", port: s.port, password: "0000", timeoutMs: 2000 }),
  );
  await fullRead(sessions); // logins and warm-up
  const one = [],
    all = [],
    requests = [];
  for (let i = 0; i < 5; i++) {
    const before = sessions[0].stats.requests;
    one.push(await fullRead(sessions.slice(0, 1)));
    requests.push(sessions[0].stats.requests - before);
    all.push(await fullRead(sessions));
  }
  await client.close();
  await Promise.all(sims.map((s) => s.stop()));
  return { ratio: median(all) / median(one), oneMs: median(one), allMs: median(all), requests: median(requests) };
}

/**
 * loss30_default_completion / loss30_read_time_ratio: 10 simulated inverters with 30 % loss each way (requests and
 * every answer datagram, seeded) and 10 without loss, all with 20 ms latency and a fixed clock, each read by a
 * session with the default timeout and retries through one client. Rounds alternate: a full read of the 10 lossy
 * ones in parallel, then of the 10 clean ones. Each session first connects (a read, repeated until it succeeds,
 * at most 5 times: before the first answer the link is not known; the repeats are reported), then completion =
 * reads whose values all equal the simulator's / reads; ratio = median read time with loss / median without.
 */
async function loss30(reads) {
  const clock = () => new Date("2024-06-21T12:00:00Z");
  const client = new SpeedwireClient();
  const make = (i, loss) =>
    new SimulatedInverter({
      address: "127.0.0.1",
      port: 0,
      serial: 3400000000 + i + (loss ? 100 : 0),
      latencyMs: 20,
      clock,
      ...(loss ? { lossRequests: 0.3, lossAnswers: 0.3, seed: 1000 + i } : {}),
    });
  const lossy = Array.from({ length: 10 }, (_, i) => make(i, true));
  const clean = Array.from({ length: 10 }, (_, i) => make(i, false));
  await Promise.all([...lossy, ...clean].map((s) => s.start()));
  const sessionsOf = (sims) =>
    sims.map((s) => ({
      s,
      inv: client.inverter({ host: "127.0.0.1", port: s.port, password: "0000" }),
      want: s.currentValues(),
    }));
  const ls = sessionsOf(lossy),
    cs = sessionsOf(clean);
  const one = async ({ inv, want }) => {
    const t0 = process.hrtime.bigint();
    try {
      const r = await inv.read(FULL_READ);
      const ok =
        Object.keys(r.values).length > 10 &&
        Object.entries(r.values).every(([k, v]) => JSON.stringify(v) === JSON.stringify(want[k]));
      return { ok, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
    } catch (e) {
      return { ok: false, ms: Number(process.hrtime.bigint() - t0) / 1e6, code: e.code };
    }
  };
  const connect = async (x) => {
    for (let i = 0; i < 5; i++) if ((await one(x)).ok) return i;
    throw new Error(`${x.s.serial} did not connect in 5 reads`);
  };
  const warm = await Promise.all([...ls, ...cs].map(connect));
  const lossyRuns = [],
    cleanRuns = [];
  for (let i = 0; i < reads / 10; i++) {
    lossyRuns.push(...(await Promise.all(ls.map(one))));
    cleanRuns.push(...(await Promise.all(cs.map(one))));
  }
  const datagrams = ls.reduce((n, x) => n + x.s.stats.received, 0);
  const requests = ls.reduce((n, x) => n + x.inv.stats.requests, 0);
  const links = ls.map((x) => x.inv.linkFigures);
  await client.close();
  await Promise.all([...lossy, ...clean].map((s) => s.stop()));
  const ms = (xs) => median(xs.map((x) => x.ms));
  return {
    completion: lossyRuns.filter((x) => x.ok).length / lossyRuns.length,
    reads: lossyRuns.length,
    failed: lossyRuns.filter((x) => !x.ok).map((x) => x.code ?? "wrong values"),
    cleanOk: cleanRuns.filter((x) => x.ok).length,
    ratio: ms(lossyRuns) / ms(cleanRuns),
    lossyMs: ms(lossyRuns),
    cleanMs: ms(cleanRuns),
    lossyP99: quantile(
      lossyRuns.map((x) => x.ms),
      0.99,
    ),
    warmFailed: warm.slice(0, 10).reduce((a, b) => a + b, 0),
    datagramsPerRequest: datagrams / requests,
    resentPct: median(links.map((l) => l.resentPct)),
    rttMs: median(links.map((l) => l.rttMs)),
  };
}

async function settledHeap() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

/** heap_growth_mb_100k_reads: heapUsed after gc, after minus before 100,000 sequential reads (1,000 warm-up). */
async function heapGrowth(reads) {
  const client = new SpeedwireClient();
  const sim = new SimulatedInverter({ address: "127.0.0.1", port: 0 });
  await sim.start();
  const s = client.inverter({ host: "127.0.0.1", port: sim.port, password: "0000" });
  for (let i = 0; i < 1000; i++) await s.read(["acPowerPhase"]);
  const before = await settledHeap();
  const t0 = Date.now();
  for (let i = 0; i < reads; i++) await s.read(["acPowerPhase"]);
  const ms = Date.now() - t0;
  const after = await settledHeap();
  await client.close();
  await sim.stop();
  return { mb: (after - before) / 1048576, ms };
}

/** Starts Node-RED with the packed package npm-installed into its user dir; checks that the node types loaded. */
async function startNodeRedWithPackage() {
  const { startNodeRed } = require(path.join(harness, "nodered.js"));
  const { packPackage } = require(path.join(harness, "pack.js"));
  const tgz = await packPackage();
  const nr = await startNodeRed({ installPackageTgz: tgz, logLevel: "warn" });
  const sets = (await nr.nodeTypes()).filter((s) => s.module === PACKAGE);
  const loaded = sets.flatMap((s) => (s.err ? [] : s.types));
  for (const t of ["sma-inverter", "sma-spot-ac", "sma-energy", "sma-energy-meter"]) {
    if (!loaded.includes(t)) {
      await nr.stop();
      throw new Error(`${t} did not load from ${tgz}: ${JSON.stringify(sets.map((s) => [s.id, s.err ?? "ok"]))}`);
    }
  }
  return { nr, version: require(path.join(root, "node_modules", "node-red", "package.json")).version };
}

const loadAverage = () => require("node:os").loadavg()[0].toFixed(2);
const fmt = (v, digits = 2) =>
  v === null || v === undefined
    ? "null"
    : typeof v === "number" && !Number.isInteger(v)
      ? v.toFixed(digits)
      : String(v);
const round = (v, digits = 2) => Number(v.toFixed(digits));

async function main() {
  const t0 = Date.now();
  const load0 = loadAverage();
  const log = (what) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0)} s] ${what}\n`);

  log("codec");
  const sim = new SimulatedInverter({ port: 0, strings: 2 });
  const responses = [
    "energy",
    "acPowerPhase",
    "acVoltageCurrent",
    "dcPower",
    "dcVoltageCurrent",
    "deviceStatus",
  ].flatMap((q) => answersOf(q, sim));
  const codec = rate((b) => p.valuesOf(p.readingsOf(p.decodeAnswer(b).records)), responses);
  const meterFrame = p.encodeMeterDatagram({
    variant: "shm20",
    serial: 3000000001,
    tickerMs: 1,
    values: { powerImport: 1234.5 },
  });
  const meter = rate((b) => p.decodeMeterDatagram(b), [meterFrame]);
  log("plant of 50");
  const plant = await plantRatio();
  log(`30 % loss each way, defaults: ${N.lossReads * 10} full reads with loss and as many without`);
  const loss = await loss30(N.lossReads * 10);
  log(`heap, ${N.heapRuns} x ${N.heapReads} reads`);
  const heaps = [];
  for (let i = 0; i < N.heapRuns; i++) heaps.push(await heapGrowth(N.heapReads));

  log("Node-RED: pack, install, start");
  const { nr, version: nrVersion } = await startNodeRedWithPackage();
  const { readOverhead, udpFloor, meterCpu } = require("./nodered-figures");
  const { fdGrowth } = require("./fd-growth");
  let ro, hot, floor, cpu, fd;
  try {
    log(`read overhead, ${N.readRuns} x ${N.reads} reads (+ baseline)`);
    ro = await readOverhead(nr, { runs: N.readRuns, reads: N.reads, warmup: N.readWarmup });
    log("read overhead without simulated latency");
    hot = await readOverhead(nr, { runs: 1, reads: N.hotReads, warmup: N.readWarmup, latencyMs: 0 });
    log("machine floor: bare UDP exchanges between two processes");
    floor = await udpFloor({ rounds: N.floorRounds });
    log(`meter CPU, ${N.cpuRuns} runs of ${N.cpuWindowMs / 1000} s windows`);
    cpu = await meterCpu(nr, { runs: N.cpuRuns, windowMs: N.cpuWindowMs });
    log(`fd growth over ${N.redeploys} redeploys`);
    fd = await fdGrowth(nr, { redeploys: N.redeploys });
  } finally {
    await nr.stop();
  }

  const heap = median(heaps.map((h) => h.mb));
  const figures = {
    codec_responses_per_s: codec,
    meter_datagrams_per_s: meter,
    read_overhead_ms_p50: round(ro.p50),
    read_overhead_ms_p99: round(ro.p99),
    machine_floor_ms_p99: round(floor.p99),
    plant_50_ratio: round(plant.ratio),
    loss30_default_completion: round(loss.completion, 4),
    loss30_read_time_ratio: round(loss.ratio),
    requests_per_full_read: plant.requests,
    heap_growth_mb_100k_reads: round(heap),
    fd_growth_200_redeploys: fd.growth,
    meter_cpu_pct_at_50_per_s: round(cpu.default.net),
  };
  const goals = {
    codec_responses_per_s: ["—", () => true],
    meter_datagrams_per_s: ["—", () => true],
    read_overhead_ms_p50: ["— (p99 goal)", () => true],
    read_overhead_ms_p99: ["≤ 1.5 × floor", (v) => v <= 1.5 * floor.p99],
    machine_floor_ms_p99: ["— (context)", () => true],
    plant_50_ratio: ["< 1.5", (v) => v < 1.5],
    loss30_default_completion: [">= 0.999", (v) => v >= 0.999],
    loss30_read_time_ratio: ["<= 2", (v) => v <= 2],
    requests_per_full_read: ["<= 8", (v) => v <= 8],
    heap_growth_mb_100k_reads: ["< 5", (v) => v < 5],
    fd_growth_200_redeploys: ["0", (v) => v <= 0],
    meter_cpu_pct_at_50_per_s: ["< 5", (v) => v < 5],
  };
  console.log(
    `machine: ${machine()}, Node-RED ${nrVersion}${QUICK ? "  (BENCH_QUICK: small counts, not figures)" : ""}`,
  );
  console.log("");
  console.log("figure".padEnd(28) + "value".padStart(12) + "   goal".padEnd(17) + "met");
  for (const [k, v] of Object.entries(figures)) {
    const [goal, ok] = goals[k];
    console.log(
      k.padEnd(28) +
        fmt(v).padStart(12) +
        ("   " + goal).padEnd(17) +
        (goal === "—" || goal.startsWith("— ") ? "" : ok(v) ? "yes" : "NO"),
    );
  }
  console.log("");
  console.log(
    `read overhead: ${ro.reads} reads in ${ro.runs} runs (p50/p99 per run: ${ro.perRun} ms); sma-spot-ac round trip p50 ${fmt(ro.rttP50)} ms, ` +
      `simulator held p50 ${fmt(ro.heldP50)} ms (4 answers, 20 ms each), baseline flow p50 ${fmt(ro.baseP50)} / p99 ${fmt(ro.baseP99)} ms`,
  );
  console.log(
    `read overhead with simulator latency 0: p50 ${fmt(hot.p50)} ms, p99 ${fmt(hot.p99)} ms (${hot.reads} reads)`,
  );
  console.log(
    `machine floor, 4 bare UDP exchanges between two plain Node processes, 20 ms hold each: p50 ${fmt(floor.p50)} ms, p99 ${fmt(floor.p99)} ms (${floor.rounds} rounds)`,
  );
  console.log(
    `30 % loss each way, defaults: ${loss.reads} full reads, ${loss.reads - loss.failed.length} with the true values` +
      `${loss.failed.length ? ` (failed: ${loss.failed.join(", ")})` : ""}; connecting took ${loss.warmFailed} repeated first read(s) over the 10 lossy sessions; read time p50 ${fmt(loss.lossyMs, 1)} ms ` +
      `(p99 ${fmt(loss.lossyP99, 1)}) vs ${fmt(loss.cleanMs, 1)} ms without loss (${loss.cleanOk} of ${loss.reads} right); ` +
      `${fmt(loss.datagramsPerRequest)} datagrams per request; link: rtt ${loss.rttMs} ms, resent ${loss.resentPct} % (medians)`,
  );
  console.log(
    `plant: full read of 1 inverter ${fmt(plant.oneMs, 1)} ms, of 50 in parallel ${fmt(plant.allMs, 1)} ms (50 ms simulated latency, ${plant.requests} requests per inverter)`,
  );
  console.log(
    `heap: ${heaps.map((h) => `${fmt(h.mb)} MB (${(h.ms / 1000).toFixed(1)} s)`).join(", ")} over ${N.heapReads} reads per run${globalThis.gc ? ", after gc" : ", WITHOUT --expose-gc"}`,
  );
  for (const [name, c] of Object.entries({ "default (throttle 5 s)": cpu.default, "throttle 0": cpu.throttle0 })) {
    console.log(
      `meter CPU, ${name}: ${fmt(c.load)} % with meters - ${fmt(c.idle)} % idle = ${fmt(c.net)} % of one core at ${fmt(c.rate, 1)} datagrams/s (median of ${cpu.runs} x ${cpu.windowMs / 1000} s)`,
    );
  }
  console.log(
    `fds: ${fd.before} before, ${fd.after} after ${fd.redeploys} redeploys (${fd.detail}); UDP sockets ${fd.udpBefore} -> ${fd.udpAfter}`,
  );
  console.log(
    `bench took ${((Date.now() - t0) / 1000).toFixed(0)} s; load average (1 min) ${load0} at the start, ${loadAverage()} at the end`,
  );
  console.log(JSON.stringify(figures));
}

main().then(
  () => {
    // Nothing should keep the process alive; if something does, do not hang the bench.
    setTimeout(() => process.exit(0), 5000).unref();
  },
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
