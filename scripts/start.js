#!/usr/bin/env node
// `npm start`: a real Node-RED with this package and FlowFuse Dashboard 2.0, a simulated hybrid inverter and Home
// Manager on 127.0.0.1 that measure one plant (PV, battery, house, grid) through a whole sunny day every 6 minutes,
// and example flows (each on its own tab) deployed against them, the solar dashboard at /dashboard.
//
// Usage: node scripts/start.js [--reset] [--port <n>] [--user-dir <dir>]
//   The first start seeds the demo flows into <user dir>/flows.json (default .node-red-demo/); later starts keep
//   the flows and credentials as you left them. --reset deploys the demo flows again (installed nodes stay).
//   The editor listens on 127.0.0.1:1880 (or --port / env PORT), or the next free port above it.
"use strict";
const { spawn } = require("node:child_process");
const dgram = require("node:dgram");
const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const PKG = require(path.join(root, "package.json")).name;
const DEMO_FLOWS = [
  "Spot AC and DC every 30 seconds.json",
  "Energy meter to debug.json",
  "Read energy every 5 minutes.json",
  "Status and device info.json",
  "Battery and grid.json",
  "Read any values.json",
  "Solar dashboard.json",
];
/** The demo's injects on the Debug tabs fire this often (s), so that a browser opened at any time sees readings at once. */
const DEMO_REPEAT_S = 3;
/** FlowFuse Dashboard 2.0, a devDependency: Node-RED loads it from here as if installed from the palette. */
const DASHBOARD_DIR = path.join(root, "node_modules", "@flowfuse", "node-red-dashboard");
const PASSWORD = "0000";
/** Real seconds per simulated day: an hour every 15 s. */
const DAY_S = 360;
/** Ports tried above the preferred one before giving up. */
const PORT_TRIES = 20;

function option(name) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : undefined;
}

const reset = process.argv.includes("--reset");
const userDir = path.resolve(option("--user-dir") ?? path.join(root, ".node-red-demo"));
const preferredUiPort = Number(option("--port") ?? process.env.PORT ?? 1880);
const files = {
  flows: path.join(userDir, "flows.json"),
  creds: path.join(userDir, "flows_cred.json"),
  state: path.join(userDir, "demo-state.json"),
  settings: path.join(userDir, "settings.js"),
  pkg: path.join(userDir, "package.json"),
};

/** Resolves with the first port from `from` upwards that `tryPort` can take, or rejects after PORT_TRIES. */
async function firstFree(from, tryPort, what) {
  for (let p = from; p < from + PORT_TRIES && p <= 65535; p++) if (await tryPort(p)) return p;
  throw new Error(`no free ${what} port in ${from}-${from + PORT_TRIES - 1} on 127.0.0.1`);
}

const tcpFree = (port) =>
  new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });

const udpFree = (port) =>
  new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.once("error", () => s.close(() => resolve(false)));
    s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * The example flows, each on its tab; every SMA node reads the one simulated inverter, the meter node the simulated
 * Home Manager. The examples share their config node (id sma-inverter-shared, "Inverter"): it is deployed once,
 * pointing at the simulator, so an example imported later in the editor ("Import copy") reads the simulator too.
 */
function demoFlows(inverterPort, meterPort) {
  const nodes = [];
  let config;
  const dashboard = fs.existsSync(path.join(DASHBOARD_DIR, "package.json"));
  // Without the dashboard nodes Node-RED would start none of the flows (it waits for the missing types).
  for (const file of DEMO_FLOWS.filter((f) => dashboard || !f.startsWith("Solar dashboard"))) {
    for (const n of JSON.parse(fs.readFileSync(path.join(root, "examples", file), "utf8"))) {
      if (n.type === "sma-inverter") {
        if (config) continue;
        config = Object.assign(n, {
          host: "127.0.0.1",
          port: inverterPort,
          serial: "",
          credentials: { password: PASSWORD },
        });
      }
      if (n.type === "sma-energy-meter")
        Object.assign(n, { group: "127.0.0.1", port: meterPort, iface: "", throttle: 2 });
      // The Debug sidebar shows only what arrives while the editor is open: the example's slow or one-off reads
      // repeat every few seconds in the demo (the dashboard keeps its widgets' last values by itself).
      if (n.type === "inject" && !file.startsWith("Solar dashboard"))
        Object.assign(n, {
          name: `every ${DEMO_REPEAT_S} s`,
          repeat: String(DEMO_REPEAT_S),
          once: true,
          onceDelay: "1",
        });
      // Node statuses are replayed to an editor that opens: each debug node shows its last reading under it at once.
      if (n.type === "debug") Object.assign(n, { tostatus: true, statusType: "auto" });
      nodes.push(n);
    }
  }
  for (const n of nodes) if (typeof n.inverter === "string") n.inverter = config.id;
  return nodes;
}

/** A kept flows.json still points at the simulators where they are this time (a port may have been taken). */
function followSimulators(state, inverterPort, meterPort) {
  if (!state || (state.inverterPort === inverterPort && state.meterPort === meterPort)) return;
  const flows = readJson(files.flows);
  if (!Array.isArray(flows)) return;
  for (const n of flows) {
    if (n.type === "sma-inverter" && n.host === "127.0.0.1" && Number(n.port) === state.inverterPort)
      n.port = inverterPort;
    if (n.type === "sma-energy-meter" && n.group === "127.0.0.1" && Number(n.port) === state.meterPort)
      n.port = meterPort;
  }
  fs.writeFileSync(files.flows, JSON.stringify(flows, null, 4));
}

/** The user dir depends on this package by a file: link, as npm would record it: installs from the palette keep it. */
function linkPackage() {
  const spec = "file:" + path.relative(userDir, root).split(path.sep).join("/");
  const pkg = readJson(files.pkg) ?? {
    name: "node-red-project",
    description: "The npm start demo of " + PKG,
    version: "0.0.1",
    private: true,
  };
  pkg.dependencies = { ...pkg.dependencies, [PKG]: spec };
  fs.writeFileSync(files.pkg, JSON.stringify(pkg, null, 2) + "\n");
  const link = path.join(userDir, "node_modules", ...PKG.split("/"));
  fs.mkdirSync(path.dirname(link), { recursive: true });
  const target = path.relative(path.dirname(link), root);
  let current;
  try {
    current = fs.readlinkSync(link);
  } catch {
    current = undefined;
  }
  if (current === target) return;
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(target, link, "dir");
}

function writeSettings(uiPort, inverterPort) {
  const settings = {
    uiHost: "127.0.0.1",
    uiPort,
    flowFile: "flows.json",
    credentialSecret: "sma-speedwire-demo",
    logging: { console: { level: "info" } },
    editorTheme: { tours: false, projects: { enabled: false } },
    telemetry: { enabled: false, updateNotification: false },
    smaSpeedwire: { discoveryTargets: [`127.0.0.1:${inverterPort}`] },
  };
  if (fs.existsSync(path.join(DASHBOARD_DIR, "package.json"))) settings.nodesDir = [DASHBOARD_DIR];
  fs.writeFileSync(
    files.settings,
    "// Written by scripts/start.js on every start (ports may change); your flows are in flows.json.\n" +
      "module.exports = " +
      JSON.stringify(settings, null, 2) +
      ";\n",
  );
}

async function startSimulators(sim) {
  const day = sim.compressedDay(DAY_S);
  // One plant: what the inverter reports and what the Home Manager measures at the grid connection follow from it.
  const plant = new sim.PlantModel({ pvPeakW: 5000, batteryWh: 5000, maxChargeW: 2500, maxDischargeW: 2500 });
  const options = {
    address: "127.0.0.1",
    profile: "hybrid",
    phases: 3,
    strings: 2,
    batteries: 1,
    timeVarying: true,
    dayClock: day,
    plant,
  };
  let inverter;
  await firstFree(
    9522,
    async (port) => {
      inverter = new sim.SimulatedInverter({ ...options, port });
      const ok = await inverter.start().then(
        () => true,
        () => false,
      );
      if (!ok) await inverter.stop().catch(() => undefined);
      return ok;
    },
    "UDP (inverter)",
  );
  const meterPort = await firstFree(9523, (p) => (p === inverter.port ? false : udpFree(p)), "UDP (meter)");
  const meter = new sim.SimulatedMeter({
    address: "127.0.0.1",
    port: meterPort,
    variant: "shm20",
    intervalMs: 1000,
    values: (at) => sim.plantMeterValues(plant, day(at)),
  });
  await meter.start();
  return { inverter, meter, meterPort };
}

async function main() {
  const sim = require(path.join(root, "dist", "src", "simulator"));
  fs.mkdirSync(userDir, { recursive: true });
  if (reset) for (const f of [files.flows, files.creds, files.state]) fs.rmSync(f, { force: true });
  const seed = !fs.existsSync(files.flows);
  const { inverter, meter, meterPort } = await startSimulators(sim);
  const stopSimulators = () => Promise.all([inverter.stop(), meter.stop()]);
  const uiPort = await firstFree(preferredUiPort, tcpFree, "TCP (editor)");
  linkPackage();
  writeSettings(uiPort, inverter.port);
  if (!seed) followSimulators(readJson(files.state), inverter.port, meterPort);

  const red = spawn(
    process.execPath,
    [require.resolve("node-red/red.js"), "--userDir", userDir, "--settings", files.settings],
    { stdio: "inherit" },
  );
  let exited = false;
  red.on("exit", () => void (exited = true));
  const url = `http://127.0.0.1:${uiPort}/`;
  let up = false;
  for (let i = 0; i < 120 && !up && !exited; i++) {
    await new Promise((r) => setTimeout(r, 500));
    up = await fetch(url + "settings").then(
      (r) => r.ok,
      () => false,
    );
  }
  if (!up) {
    red.kill("SIGINT");
    await stopSimulators();
    throw new Error(`Node-RED did not answer on ${url} within 60 s (see its output above)`);
  }
  if (seed) {
    const res = await fetch(url + "flows", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify(demoFlows(inverter.port, meterPort)),
    });
    if (!res.ok) {
      red.kill("SIGINT");
      await stopSimulators();
      throw new Error(`deploying the demo flows failed: ${res.status} ${await res.text()}`);
    }
    // The editor opens with the Debug sidebar in front (a user setting: the user may reorder the tabs later).
    await fetch(url + "settings/user", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ editor: { sidebar: { order: ["debug", "info", "help", "config", "context"] } } }),
    });
  }
  fs.writeFileSync(files.state, JSON.stringify({ inverterPort: inverter.port, meterPort }, null, 2) + "\n");

  const rel = path.relative(process.cwd(), userDir);
  const where = rel && !rel.startsWith("..") ? rel : userDir;
  console.log(
    `\nSimulated SMA inverter ${inverter.serial} on 127.0.0.1:${inverter.port} (user password ${PASSWORD}); ` +
      `simulated Sunny Home Manager sending to 127.0.0.1:${meterPort}. A sunny day passes every ${DAY_S / 60} minutes.`,
  );
  console.log(
    seed
      ? `Demo flows deployed, one tab per example (saved in ${where}/flows.json; later starts keep your changes).`
      : `Your flows from ${where}/flows.json (npm start -- --reset deploys the demo flows again).`,
  );
  console.log(
    fs.existsSync(path.join(DASHBOARD_DIR, "package.json"))
      ? `Solar dashboard: ${url}dashboard (the "Solar dashboard" tab).`
      : `No solar dashboard: @flowfuse/node-red-dashboard is not installed (npm install).`,
  );
  console.log(`Open ${url} and watch the Debug sidebar. Ctrl-C stops everything.\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    if (!exited) {
      const gone = new Promise((r) => red.once("exit", r));
      red.kill("SIGINT");
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (!exited) red.kill("SIGKILL");
    }
    await stopSimulators();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  red.on("exit", (code) => {
    if (!stopping) void stopSimulators().then(() => process.exit(code ?? 0));
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
