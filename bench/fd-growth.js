// fd_growth_200_redeploys: open file descriptors of the Node-RED process after 200 redeploys minus before,
// each counted once the process has settled. The flow reads simulated inverters and listens to a meter. The
// redeploy loop is the harness's redeploySoak (test/harness/redeploys.ts, compiled to build/test/harness).
"use strict";
const path = require("node:path");
const { freeUdpPort } = require("./lib");
const { PASSWORD } = require("./nodered-figures");

const dist = path.join(__dirname, "..", "dist", "src");
const { SimulatedInverter, SimulatedMeter } = require(path.join(dist, "simulator"));

/**
 * The flow of redeploy i: per simulated inverter one sma-inverter config node and sma-spot-ac, sma-energy and
 * sma-spot-dc nodes, each triggered by an inject that fires once 0.1 s after it starts; one sma-energy-meter
 * (unicast) fed by a simulated meter. Every node's name carries i, so that a "nodes" deploy restarts all of them.
 */
function flowOf(i, sims, meterPort) {
  const tab = "benchfd";
  const flows = [{ id: tab, type: "tab", label: `redeploys ${i}` }];
  sims.forEach((sim, k) => {
    const inv = `inv${k}`;
    flows.push({
      id: inv,
      type: "sma-inverter",
      name: `sim ${k} r${i}`,
      host: "127.0.0.1",
      port: String(sim.port),
      serial: "",
      group: "user",
      timeout: "500",
      retries: "1",
      credentials: { password: PASSWORD },
    });
    for (const type of ["sma-spot-ac", "sma-energy", "sma-spot-dc"]) {
      const id = `${type}-${k}`;
      flows.push({
        id: `inj-${id}`,
        z: tab,
        x: 100,
        y: 100,
        type: "inject",
        name: `r${i}`,
        props: [{ p: "payload" }],
        payload: "",
        payloadType: "date",
        repeat: "",
        once: true,
        onceDelay: 0.1,
        wires: [[id]],
      });
      flows.push({ id, z: tab, x: 300, y: 100, type, name: `r${i}`, inverter: inv, topic: "", wires: [[]] });
    }
  });
  flows.push({
    id: "meter",
    z: tab,
    x: 100,
    y: 200,
    type: "sma-energy-meter",
    name: `r${i}`,
    group: "127.0.0.1",
    port: String(meterPort),
    iface: "",
    serial: "",
    throttle: "0",
    onlyChanges: false,
    watchdog: "10",
    wires: [[]],
  });
  return flows;
}

async function fdGrowth(nr, { redeploys = 200, inverters = 3 } = {}) {
  const { redeploySoak } = require(path.join(__dirname, "..", "build", "test", "harness", "redeploys.js"));
  const sims = [];
  for (let k = 0; k < inverters; k++) {
    const s = new SimulatedInverter({
      address: "127.0.0.1",
      port: 0,
      serial: 3400000000 + k,
      userPassword: PASSWORD,
      latencyMs: 2,
    });
    await s.start();
    sims.push(s);
  }
  const meterPort = await freeUdpPort();
  const meter = new SimulatedMeter({
    address: "127.0.0.1",
    port: meterPort,
    bindAddress: "127.0.0.1",
    serial: 3000000201,
    intervalMs: 200,
  });
  await meter.start();
  const readers = sims.flatMap((_, k) => ["sma-spot-ac", "sma-energy", "sma-spot-dc"].map((t) => `${t}-${k}`));
  let logins0 = 0;
  try {
    const r = await redeploySoak(nr, {
      count: redeploys,
      flowsFor: (i) => flowOf(i, sims, meterPort),
      readers, // every query node must read again (fresh green status) after every redeploy
      warmup: 4,
      // longer than the 5 s keep-alive of Node-RED's HTTP server, so that the admin API's connection is not counted
      stableMs: 6000,
      afterDeploy: async (i) => {
        if (i === -1) await nr.waitForStatus("meter", (st) => st.fill === "green", 10_000);
      },
      onStart: () => {
        logins0 = sims.reduce((sum, sim) => sum + sim.stats.logins, 0);
      },
    });
    const logins = sims.reduce((sum, sim) => sum + sim.stats.logins, 0) - logins0;
    return {
      growth: r.fdEnd - r.fdStart,
      before: r.fdStart,
      after: r.fdEnd,
      udpBefore: r.udpStart,
      udpAfter: r.udpEnd,
      redeploys: r.redeploys,
      detail:
        `${r.full} full + ${r.nodes} nodes, ${readers.length} query nodes on ${inverters} simulated inverters + 1 meter node, ` +
        `every query node read after every redeploy, ${logins} logins seen by the simulators, ${(r.durationMs / 1000).toFixed(0)} s; ` +
        `highest right after a redeploy: ${r.fdMax} fds, ${r.udpMax} UDP sockets; settled ${(r.settleMs / 1000).toFixed(1)} s after the last`,
    };
  } finally {
    await nr.deploy([{ id: "benchfd", type: "tab", label: "empty" }]);
    await meter.stop();
    await Promise.all(sims.map((s) => s.stop()));
  }
}

module.exports = { fdGrowth };
