#!/usr/bin/env node
// `npm run bench`: performance figures, medians of several runs after a warm-up; the last line is JSON.
// Figures that need a real Node-RED process (read overhead, redeploy fds, meter CPU) are not measured yet: null.
"use strict";
const path = require("node:path");
const dist = path.join(__dirname, "..", "dist");
const p = require(path.join(dist, "protocol"));
const { SpeedwireClient } = require(path.join(dist, "client"));
const { SimulatedInverter } = require(path.join(dist, "simulator"));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const FULL_READ = ["energy", "times", "acPowerTotal", "acPowerPhase", "acVoltageCurrent", "gridFrequency", "dcPower", "dcVoltageCurrent"];

function answersOf(query, sim) {
  const q = p.QUERIES[query];
  const defs = p.VALUES.filter((v) => v.query === query);
  const values = sim.currentValues();
  const records = [];
  for (const d of defs) for (const cls of d.indexed ? [1, 2] : [1]) records.push(p.buildRecord(d, cls, values[d.indexed ? d.name + cls : d.name] ?? 1, 1700000000));
  const bySize = new Map();
  for (const r of records) bySize.set(r.length, [...(bySize.get(r.length) ?? []), r]);
  return [...bySize.values()].map((rs) => p.buildDataAnswer({ source: { susyId: 1, serial: 2 }, destination: { susyId: 3, serial: 4 }, packetId: 5, command: q.command, firstIndex: 0, records: rs }));
}

function rate(fn, items, ms = 400) {
  const runs = [];
  for (let r = 0; r < 6; r++) {
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

async function plantRatio() {
  const client = new SpeedwireClient();
  const sims = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const s = new SimulatedInverter({ port: 0, serial: 3300000000 + i, latencyMs: 50 });
    await s.start();
    return s;
  }));
  const sessions = sims.map((s) => client.inverter({ host: "127.0.0.1", port: s.port, password: "0000", timeoutMs: 2000 }));
  await fullRead(sessions); // logins and warm-up
  const one = [], all = [];
  for (let i = 0; i < 5; i++) {
    one.push(await fullRead(sessions.slice(0, 1)));
    all.push(await fullRead(sessions));
  }
  await client.close();
  await Promise.all(sims.map((s) => s.stop()));
  return { ratio: median(all) / median(one), oneMs: median(one), allMs: median(all) };
}

async function heapGrowth(reads) {
  const client = new SpeedwireClient();
  const sim = new SimulatedInverter({ port: 0 });
  await sim.start();
  const s = client.inverter({ host: "127.0.0.1", port: sim.port, password: "0000" });
  for (let i = 0; i < 1000; i++) await s.read(["acPowerPhase"]);
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < reads; i++) await s.read(["acPowerPhase"]);
  globalThis.gc?.();
  const after = process.memoryUsage().heapUsed;
  await client.close();
  await sim.stop();
  return (after - before) / 1048576;
}

async function main() {
  const sim = new SimulatedInverter({ port: 0, strings: 2 });
  const responses = ["energy", "acPowerPhase", "acVoltageCurrent", "dcPower", "dcVoltageCurrent", "deviceStatus"].flatMap((q) => answersOf(q, sim));
  const codec = rate((b) => p.valuesOf(p.readingsOf(p.decodeAnswer(b).records)), responses);
  const meterFrame = p.encodeMeterDatagram({ variant: "shm20", serial: 3000000001, tickerMs: 1, values: { powerImport: 1234.5 } });
  const meter = rate((b) => p.decodeMeterDatagram(b), [meterFrame]);
  const plant = await plantRatio();
  const heap = await heapGrowth(Number(process.env.BENCH_READS) || 100000);
  const figures = {
    codec_responses_per_s: codec,
    meter_datagrams_per_s: meter,
    read_overhead_ms_p50: null,
    read_overhead_ms_p99: null,
    plant_50_ratio: Number(plant.ratio.toFixed(2)),
    requests_per_full_read: FULL_READ.length,
    heap_growth_mb_100k_reads: Number(heap.toFixed(2)),
    fd_growth_200_redeploys: null,
    meter_cpu_pct_at_50_per_s: null,
  };
  console.log("figure                      value");
  for (const [k, v] of Object.entries(figures)) console.log(k.padEnd(28) + String(v));
  console.log(`(full read of 1 inverter ${plant.oneMs.toFixed(1)} ms, of 50 in parallel ${plant.allMs.toFixed(1)} ms, 50 ms simulated latency; heap figure ${globalThis.gc ? "after gc" : "without --expose-gc"})`);
  console.log(JSON.stringify(figures));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
