// The figures measured on a real Node-RED process (test/harness/nodered.ts, compiled to build/test/harness):
// read overhead through a flow, CPU while listening to energy meters. The package is the packed tarball
// (packPackage(): npm pack of this repository), npm-installed into the Node-RED user dir as a user would.
"use strict";
const path = require("node:path");
const dgram = require("node:dgram");
const { spawn } = require("node:child_process");
const { median, quantile, sleep, nowMs, cpuPercent, freeUdpPort, httpClient } = require("./lib");

const dist = path.join(__dirname, "..", "dist", "src");
const { SimulatedInverter, SimulatedMeter } = require(path.join(dist, "simulator"));

const PASSWORD = "Bench-Pw1";
const LATENCY_MS = 20;

/**
 * Measures how long the simulator really holds each answer: from the request datagram arriving on its
 * socket to the answer being handed to the socket (20 ms of latencyMs plus timer slack and its own work).
 * The bench reaches into the simulator's socket (a private field, plain JS here) for this; the simulator
 * itself is unchanged.
 */
function holdMeter(sim) {
  const sock = sim.socket;
  if (!sock) throw new Error("simulator not started");
  let pending = null;
  let total = 0;
  let answers = 0;
  sock.prependListener("message", () => {
    pending ??= nowMs();
  });
  const send = sock.send;
  sock.send = function (...args) {
    if (pending !== null) {
      total += nowMs() - pending;
      answers++;
      pending = null;
    }
    return send.apply(this, args);
  };
  return {
    reset() {
      total = 0;
      answers = 0;
      pending = null;
    },
    get totalMs() {
      return total;
    },
    get answers() {
      return answers;
    },
  };
}

/**
 * read_overhead_ms_p50/p99. Flow A: http in GET /bench/sma -> sma-spot-ac -> http response; flow B (baseline):
 * http in GET /bench/base -> http response. The bench times each GET itself (one kept-alive connection on
 * 127.0.0.1), alternating A and B. Per A read: overhead = round trip - time the simulator held its answers
 * (4 queries x 20 ms + timer slack) - median round trip of B in the same run.
 */
async function readOverhead(nr, { runs = 3, reads = 400, warmup = 100, latencyMs = LATENCY_MS } = {}) {
  const sim = new SimulatedInverter({ address: "127.0.0.1", port: 0, userPassword: PASSWORD, phases: 3, latencyMs });
  await sim.start();
  const held = holdMeter(sim);
  const tab = "benchread";
  const n = (o) => ({ z: tab, x: 100, y: 100, ...o });
  await nr.deploy([
    { id: tab, type: "tab", label: "read overhead" },
    {
      id: "inv",
      type: "sma-inverter",
      name: "sim",
      host: "127.0.0.1",
      port: String(sim.port),
      serial: "",
      group: "user",
      timeout: "1500",
      retries: "2",
      credentials: { password: PASSWORD },
    },
    n({ id: "inA", type: "http in", url: "/bench/sma", method: "get", upload: false, swaggerDoc: "", wires: [["ac"]] }),
    n({ id: "ac", type: "sma-spot-ac", inverter: "inv", topic: "", wires: [["outA"]] }),
    n({ id: "outA", type: "http response", statusCode: "", headers: {}, wires: [] }),
    n({
      id: "inB",
      type: "http in",
      url: "/bench/base",
      method: "get",
      upload: false,
      swaggerDoc: "",
      wires: [["outB"]],
    }),
    n({ id: "outB", type: "http response", statusCode: "", headers: {}, wires: [] }),
  ]);
  const client = httpClient();
  const urlA = nr.url + "bench/sma";
  const urlB = nr.url + "bench/base";
  const timed = async (url, check) => {
    const t0 = nowMs();
    const res = await client.get(url);
    const ms = nowMs() - t0;
    if (res.status !== 200 || !check(res.body))
      throw new Error(`GET ${url}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    return ms;
  };
  const isAc = (body) => {
    const p = JSON.parse(body);
    return typeof p.power === "number" && typeof p.frequency === "number";
  };
  const readA = async () => {
    held.reset();
    const rtt = await timed(urlA, isAc);
    if (held.answers !== 4) throw new Error(`expected 4 answers of the simulator per read, saw ${held.answers}`);
    return { rtt, held: held.totalMs };
  };
  const readB = () => timed(urlB, () => true);

  try {
    await timed(urlA, isAc); // login
    for (let i = 0; i < warmup; i++) {
      await readA();
      await readB();
    }
    const results = [];
    for (let r = 0; r < runs; r++) {
      const a = [];
      const b = [];
      for (let i = 0; i < reads; i++) {
        // alternate the order so that neither flow always runs right after the other
        if (i % 2 === 0) {
          a.push(await readA());
          b.push(await readB());
        } else {
          b.push(await readB());
          a.push(await readA());
        }
      }
      const base = median(b);
      const overhead = a.map((x) => x.rtt - x.held - base);
      results.push({
        p50: quantile(overhead, 0.5),
        p99: quantile(overhead, 0.99),
        baseP50: base,
        baseP99: quantile(b, 0.99),
        rttP50: quantile(
          a.map((x) => x.rtt),
          0.5,
        ),
        heldP50: quantile(
          a.map((x) => x.held),
          0.5,
        ),
      });
    }
    const pick = (k) => median(results.map((x) => x[k]));
    return {
      p50: pick("p50"),
      p99: pick("p99"),
      baseP50: pick("baseP50"),
      baseP99: pick("baseP99"),
      rttP50: pick("rttP50"),
      heldP50: pick("heldP50"),
      reads: runs * reads,
      runs,
      perRun: results.map((x) => `${x.p50.toFixed(2)}/${x.p99.toFixed(2)}`).join(", "),
    };
  } finally {
    client.close();
    await nr.deploy([{ id: tab, type: "tab", label: "empty" }]);
    await sim.stop();
  }
}

/**
 * The machine's floor under read_overhead (context, not a figure of the package): 4 sequential UDP exchanges
 * between this process and a plain Node child process that holds each answer holdMs (setTimeout) and reports
 * how long it held it; floor = round trip of the 4 - held. This is what waking two idle processes 8 times over
 * loopback costs on this machine, with no Speedwire and no Node-RED involved.
 */
async function udpFloor({ rounds = 300, warmup = 30, exchanges = 4, holdMs = LATENCY_MS } = {}) {
  const child = spawn(
    process.execPath,
    [
      "-e",
      `
    const s = require("node:dgram").createSocket("udp4");
    s.on("message", (m, r) => {
      const t0 = process.hrtime.bigint();
      const answer = () => {
        const b = Buffer.alloc(8);
        b.writeDoubleLE(Number(process.hrtime.bigint() - t0) / 1e6);
        s.send(b, r.port, r.address);
      };
      if (${holdMs} > 0) setTimeout(answer, ${holdMs}); else answer();
    });
    s.bind(0, "127.0.0.1", () => process.send(s.address().port));
    process.on("disconnect", () => process.exit(0));`,
    ],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  const sock = dgram.createSocket("udp4");
  try {
    const port = await new Promise((resolve, reject) => {
      child.once("message", resolve);
      child.once("exit", (code) => reject(new Error(`floor echo process exited (${code})`)));
    });
    await new Promise((r) => sock.bind(0, "127.0.0.1", r));
    const request = Buffer.alloc(58); // the size of a Speedwire query
    const exchange = () =>
      new Promise((resolve) => {
        sock.once("message", (m) => resolve(m.readDoubleLE(0)));
        sock.send(request, port, "127.0.0.1");
      });
    const floor = [];
    for (let i = 0; i < warmup + rounds; i++) {
      const t0 = nowMs();
      let held = 0;
      for (let k = 0; k < exchanges; k++) held += await exchange();
      if (i >= warmup) floor.push(nowMs() - t0 - held);
    }
    return { p50: quantile(floor, 0.5), p99: quantile(floor, 0.99), rounds };
  } finally {
    sock.close();
    child.disconnect();
  }
}

/**
 * meter_cpu_pct_at_50_per_s: CPU of the Node-RED process (utime + stime from /proc/<pid>/stat, % of one core)
 * with one sma-energy-meter node listening for unicast on a free port (bound by the node to 0.0.0.0; the
 * meters send to 127.0.0.1) while 5 simulated meters (distinct serials) send 10 datagrams/s each, minus the
 * CPU of the same process with the same flow deployed and no meters. Per run and per node setting: an idle
 * window, then a load window; each figure is the median over the runs. Settings: the node's defaults
 * (throttle 5 s per meter) and throttle 0 (every datagram becomes a message and a status update).
 */
async function meterCpu(nr, { runs = 3, windowMs = 10_000, variants = { default: "5", throttle0: "0" } } = {}) {
  const port = await freeUdpPort();
  const tab = "benchmeter";
  const flow = (throttle) => [
    { id: tab, type: "tab", label: "meter cpu" },
    {
      id: "meter",
      z: tab,
      x: 100,
      y: 100,
      type: "sma-energy-meter",
      name: "",
      group: "127.0.0.1",
      port: String(port),
      iface: "",
      serial: "",
      throttle,
      onlyChanges: false,
      watchdog: "10",
      wires: [["sink"]],
    },
    { id: "sink", z: tab, x: 300, y: 100, type: "debug", active: false, tosidebar: true, complete: "false", wires: [] },
  ];
  const startAll = async () => {
    const ms = Array.from(
      { length: 5 },
      (_, i) =>
        new SimulatedMeter({
          address: "127.0.0.1",
          port,
          bindAddress: "127.0.0.1",
          serial: 3000000101 + i,
          intervalMs: 100,
        }),
    );
    await Promise.all(ms.map((m) => m.start()));
    return ms;
  };
  const stopAll = (ms) => Promise.all(ms.map((m) => m.stop()));
  const sent = (ms) => ms.reduce((s, m) => s + m.sent, 0);

  const out = {};
  for (const name of Object.keys(variants)) out[name] = { idle: [], load: [], net: [], rate: [] };
  let warmed = false;
  for (let r = 0; r < runs; r++) {
    for (const [name, throttle] of Object.entries(variants)) {
      await nr.deploy(flow(throttle));
      if (!warmed) {
        // Warm-up, and proof that the node receives: its status turns green.
        const ms = await startAll();
        await nr.waitForStatus("meter", (s) => s.fill === "green", 10_000);
        await sleep(3000);
        await stopAll(ms);
        warmed = true;
      }
      await sleep(1000);
      const idle = await cpuPercent(nr.pid, windowMs);
      const ms = await startAll();
      await sleep(1000);
      const sent0 = sent(ms);
      const t0 = nowMs();
      const load = await cpuPercent(nr.pid, windowMs);
      const rate = (sent(ms) - sent0) / ((nowMs() - t0) / 1000);
      await stopAll(ms);
      const o = out[name];
      o.idle.push(idle);
      o.load.push(load);
      o.net.push(load - idle);
      o.rate.push(rate);
    }
  }
  await nr.deploy([{ id: tab, type: "tab", label: "empty" }]);
  const result = {};
  for (const [name, o] of Object.entries(out)) {
    result[name] = { net: median(o.net), idle: median(o.idle), load: median(o.load), rate: median(o.rate) };
  }
  return { ...result, runs, windowMs };
}

module.exports = { readOverhead, udpFloor, meterCpu, holdMeter, PASSWORD, LATENCY_MS };
