#!/usr/bin/env node
// Release soak, longer than the tests: the packed package in a real Node-RED (Node-RED 4.1 / Node 20 from
// node_modules), all on 127.0.0.1.
//   1. --redeploys N (default 200) redeploys, "full" and "nodes" alternating, while 6 query nodes read 3 simulated
//      inverters every 100 ms: open fds and UDP sockets before/after, logins and logoffs per inverter.
//   2. --loss-seconds S (default 60) of reads every second from 3 inverters losing 10 / 30 / 50 % of requests and of
//      answers each: reads, errors by code, and whether every output equals the inverter's values.
//   3. --deadlines N (default 10) reads of an inverter that answers nothing (timeout 300 ms, 2 retries): the time
//      from the inject to the Catch node, against timeout x (retries + 1) = 900 ms.
// Prints the figures and one JSON line; exits 1 when a check fails (fd/UDP growth, a missing logoff, a wrong value,
// an error other than ETIMEDOUT, Uncaught/unhandled/EADDRINUSE in the log).
// Usage: node scripts/build.js --test && node scripts/soak.js [--redeploys 200] [--loss-seconds 60] [--deadlines 10]
"use strict";
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const build = path.join(root, "build");
const need = (p) => {
  try {
    return require(path.join(build, p));
  } catch (e) {
    console.error(`soak: ${p} not found in build/ (run \`node scripts/build.js --test\` first): ${e.message}`);
    process.exit(2);
  }
};
const { startNodeRed, until } = need("test/harness/nodered");
const { packPackage } = need("test/harness/pack");
const { redeploySoak } = need("test/harness/redeploys");
const { debug, inject, inverterNode, node, pollingFlows, pollingReaders } = need("test/harness/flows");
const { SimulatedInverter } = need("src/simulator");

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`soak: --${name} needs a whole number`);
    process.exit(2);
  }
  return v;
}
const REDEPLOYS = arg("redeploys", 200);
const LOSS_S = arg("loss-seconds", 60);
const DEADLINES = arg("deadlines", 10);
const PW = "Soak-Pw-42";
const NOON = new Date("2024-06-21T12:00:00Z");
const BAD_LOG = /uncaught|unhandled|EADDRINUSE/i;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (s) => process.stderr.write(s + "\n");

const inverter = (id, sim, o = {}) => inverterNode(id, sim.port, PW, o);

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
};

async function sims(n, o) {
  const out = [];
  for (let k = 0; k < n; k++) {
    const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, userPassword: PW, clock: () => NOON, ...o(k) });
    await s.start();
    out.push(s);
  }
  return out;
}

async function redeploys(nr) {
  const plant = await sims(3, (k) => ({ serial: 3400000001 + k, latencyMs: 2 }));
  const tab = "soak";
  const readers = pollingReaders("", plant.length);
  const flowsFor = (i) =>
    pollingFlows(
      tab,
      "",
      plant.map((p) => p.port),
      PW,
      i,
    );
  let logoffs0 = [];
  let logins0 = [];
  const r = await redeploySoak(nr, {
    count: REDEPLOYS,
    flowsFor,
    readers,
    onStart: () => {
      logoffs0 = plant.map((s) => s.stats.logoffs);
      logins0 = plant.map((s) => s.stats.logins);
      nr.clearDebug();
    },
    afterDeploy: (i) => void (i >= 0 && (i + 1) % 50 === 0 && say(`  ${i + 1} redeploys, fds ${nr.openFds()}`)),
  });
  await sleep(500);
  const logoffs = plant.map((s, k) => s.stats.logoffs - logoffs0[k]);
  const logins = plant.map((s, k) => s.stats.logins - logins0[k]);
  const errors = nr.debugMessages.filter((m) => m.id === "catchdbg").length;
  check(r.fdEnd <= r.fdStart, `fds ${r.fdStart} -> ${r.fdEnd}`);
  check(r.udpEnd === r.udpStart && r.udpMax <= 1, `UDP sockets ${r.udpStart} -> ${r.udpEnd} (max ${r.udpMax})`);
  check(
    logoffs.every((n) => n === REDEPLOYS),
    `logoffs ${logoffs} (want ${REDEPLOYS} each)`,
  );
  check(errors === 0, `${errors} failed reads during the redeploys`);
  await nr.deploy([{ id: tab, type: "tab", label: "soak" }], "full");
  await until("UDP socket closed", () => (nr.udpSockets() === 0 ? true : undefined), 10_000).catch(() =>
    check(false, "UDP socket left open"),
  );
  await Promise.all(plant.map((s) => s.stop()));
  return { ...r, logoffs, logins, failedReads: errors };
}

async function lossRun(nr) {
  const rates = [0.1, 0.3, 0.5];
  const plant = await sims(rates.length, (k) => ({
    serial: 3400000101 + k,
    lossRequests: rates[k],
    lossAnswers: rates[k],
    seed: k + 1,
  }));
  const tab = "loss";
  await nr.deploy(
    [
      { id: tab, type: "tab", label: "loss" },
      ...plant.flatMap((s, k) => [
        // The default timeout and retries (empty fields): what a user who changed nothing gets.
        inverter(`linv${k}`, s, { timeout: "", retries: "" }),
        inject(tab, `linj${k}`, `lac${k}`, "1"),
        node(tab, { id: `lac${k}`, type: "sma-spot-ac", inverter: `linv${k}`, topic: "", wires: [[`ldbg${k}`]] }),
        debug(tab, `ldbg${k}`),
      ]),
      node(tab, { id: "lcatch", type: "catch", scope: null, uncaught: false, wires: [["lcatchdbg"]] }),
      debug(tab, "lcatchdbg", "error"),
    ],
    "full",
  );
  nr.clearDebug();
  await sleep(LOSS_S * 1000);
  await nr.deploy([{ id: tab, type: "tab", label: "loss" }], "full");
  const out = plant.map((s, k) => {
    const want = s.currentValues();
    const msgs = nr.debugMessages.filter((m) => m.id === `ldbg${k}`);
    const wrong = msgs.filter(
      (m) =>
        m.value.payload.powerL1 !== want.acPowerL1 ||
        m.value.payload.frequency !== want.gridFrequency ||
        m.value.sma.serial !== s.serial,
    ).length;
    return { lossEachWay: rates[k], reads: msgs.length, wrong, dropped: s.stats.dropped };
  });
  const errors = {};
  for (const m of nr.debugMessages.filter((x) => x.id === "lcatchdbg"))
    errors[m.value.code] = (errors[m.value.code] ?? 0) + 1;
  check(
    out.every((o) => o.wrong === 0),
    "a read under loss gave a wrong value",
  );
  check(
    Object.keys(errors).every((c) => c === "ETIMEDOUT"),
    `errors other than ETIMEDOUT under loss: ${JSON.stringify(errors)}`,
  );
  await Promise.all(plant.map((s) => s.stop()));
  return { seconds: LOSS_S, perInverter: out, errors };
}

async function deadlines(nr) {
  const [mute] = await sims(1, () => ({ serial: 3400000201, lossAnswers: 1 }));
  const tab = "mute";
  const times = [];
  for (let i = 0; i < DEADLINES; i++) {
    // A new config node each time: a session that never had an answer uses all its retries.
    await nr.deploy(
      [
        { id: tab, type: "tab", label: "mute" },
        inverter("minv", mute, { timeout: "300", retries: "2", name: `mute ${i}` }),
        inject(tab, "minj", "mac"),
        node(tab, { id: "mac", type: "sma-spot-ac", inverter: "minv", topic: "", wires: [[]] }),
        node(tab, { id: "mcatch", type: "catch", scope: ["mac"], uncaught: false, wires: [["mcatchdbg"]] }),
        debug(tab, "mcatchdbg", "error"),
      ],
      "full",
    );
    nr.clearDebug();
    const t0 = Date.now();
    await nr.inject("minj");
    const m = await nr.waitForDebug((x) => x.id === "mcatchdbg", 10_000);
    times.push(Date.now() - t0);
    check(m.value.code === "ETIMEDOUT", `100 % loss ended with ${m.value.code}`);
  }
  await nr.deploy([{ id: tab, type: "tab", label: "mute" }], "full");
  await mute.stop();
  const sorted = [...times].sort((a, b) => a - b);
  return {
    runs: times.length,
    deadlineMs: 900,
    minMs: sorted[0] ?? null,
    medianMs: sorted[Math.floor(sorted.length / 2)] ?? null,
    maxMs: sorted[sorted.length - 1] ?? null,
  };
}

async function main() {
  say("soak: packing and installing the package");
  const nr = await startNodeRed({ installPackageTgz: await packPackage(), logLevel: "info" });
  const figures = { node: process.version };
  try {
    say(`soak: ${REDEPLOYS} redeploys`);
    figures.redeploys = await redeploys(nr);
    if (LOSS_S > 0) {
      say(`soak: ${LOSS_S} s of reads under 10 / 30 / 50 % loss each way`);
      figures.loss = await lossRun(nr);
    }
    if (DEADLINES > 0) {
      say(`soak: ${DEADLINES} reads of an inverter that answers nothing`);
      figures.deadlines = await deadlines(nr);
    }
  } finally {
    const bad = nr
      .log()
      .split("\n")
      .filter((l) => BAD_LOG.test(l));
    check(bad.length === 0, `log: ${bad.slice(0, 5).join(" | ")}`);
    await nr.stop();
  }
  const r = figures.redeploys;
  console.log(
    `redeploys: ${r.redeploys} (full ${r.full}, nodes ${r.nodes}) in ${(r.durationMs / 1000).toFixed(1)} s; ` +
      `open fds ${r.fdStart} -> ${r.fdEnd} (max ${r.fdMax}); UDP sockets ${r.udpStart} -> ${r.udpEnd} (max ${r.udpMax}); ` +
      `logoffs per inverter ${r.logoffs.join("/")}, logins ${r.logins.join("/")}; failed reads ${r.failedReads}`,
  );
  if (figures.loss) {
    for (const o of figures.loss.perInverter) {
      console.log(
        `loss ${o.lossEachWay * 100} % each way, ${figures.loss.seconds} s: ${o.reads} reads, ${o.wrong} wrong values, ${o.dropped} datagrams dropped`,
      );
    }
    console.log(`loss errors: ${JSON.stringify(figures.loss.errors)}`);
  }
  if (figures.deadlines) {
    const d = figures.deadlines;
    console.log(
      `100 % loss: ETIMEDOUT after ${d.minMs}/${d.medianMs}/${d.maxMs} ms (min/median/max of ${d.runs}; timeout x attempts = ${d.deadlineMs} ms)`,
    );
  }
  console.log(JSON.stringify({ ...figures, failures }));
  if (failures.length) {
    console.error("soak FAILED:\n  " + failures.join("\n  "));
    process.exit(1);
  }
  console.log("soak passed");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
