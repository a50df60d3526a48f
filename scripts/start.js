#!/usr/bin/env node
// `npm start`: a real Node-RED with this package, a simulated inverter and energy meter on loopback,
// and example flows deployed against them. Open the printed URL and watch the debug sidebar.
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const userDir = path.join(root, ".node-red-demo");
const DEMO_FLOWS = ["Spot AC and DC every 30 seconds.json", "Read energy every 5 minutes.json", "Status and device info.json", "Energy meter to debug.json"];
const PASSWORD = "0000";

function freePort(preferred) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => {
      const any = net.createServer();
      any.listen(0, "127.0.0.1", () => {
        const p = any.address().port;
        any.close(() => resolve(p));
      });
    });
    srv.listen(preferred, "127.0.0.1", () => srv.close(() => resolve(preferred)));
  });
}

/** A UDP port free on 127.0.0.1: the preferred one if it is, else any. */
function freeUdpPort(preferred) {
  const dgram = require("node:dgram");
  const tryBind = (port) => new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.once("error", () => s.close(() => resolve(undefined)));
    s.bind(port, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  return tryBind(preferred).then((p) => p ?? tryBind(0));
}

async function startSimulators() {
  const sim = require(path.join(root, "dist", "src", "simulator"));
  const options = { address: "127.0.0.1", profile: "hybrid", phases: 3, strings: 2, batteries: 1 };
  let inverter = new sim.SimulatedInverter({ ...options, port: 9522 });
  try {
    await inverter.start();
  } catch {
    // 9522 is taken on this machine (a real listener or another tool): any free port does for the demo.
    await inverter.stop().catch(() => undefined);
    inverter = new sim.SimulatedInverter({ ...options, port: 0 });
    await inverter.start();
  }
  return { inverter, sim };
}

function demoFlows(inverterPort, meterPort) {
  const nodes = [];
  for (const file of DEMO_FLOWS) {
    const p = path.join(root, "examples", file);
    if (!fs.existsSync(p)) continue;
    for (const n of JSON.parse(fs.readFileSync(p, "utf8"))) {
      if (nodes.some((m) => m.id === n.id)) continue;
      if (n.type === "sma-inverter") Object.assign(n, { host: "127.0.0.1", port: String(inverterPort), serial: "", credentials: { password: PASSWORD } });
      if (n.type === "sma-energy-meter") Object.assign(n, { group: "127.0.0.1", port: String(meterPort), iface: "" });
      if (n.type === "inject" && n.repeat && Number(n.repeat) > 10) n.repeat = "10";
      nodes.push(n);
    }
  }
  // Every sma-* node needs one config node: point them all at the first one.
  const config = nodes.find((n) => n.type === "sma-inverter");
  for (const n of nodes) if (config && typeof n.inverter === "string") n.inverter = config.id;
  return nodes.filter((n) => n.type !== "sma-inverter" || n === config);
}

async function main() {
  const { inverter, sim } = await startSimulators();
  const meterPort = await freeUdpPort(9523);
  const meter = new sim.SimulatedMeter({ address: "127.0.0.1", port: meterPort, variant: "shm20", intervalMs: 1000 });
  await meter.start();
  const uiPort = await freePort(Number(process.env.PORT) || 1880);
  fs.mkdirSync(path.join(userDir, "node_modules"), { recursive: true });
  const link = path.join(userDir, "node_modules", "@speedwire/node-red-sma");
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(root, link, "dir");
  fs.writeFileSync(path.join(userDir, "settings.js"), `module.exports = {
  uiHost: "127.0.0.1", uiPort: ${uiPort}, flowFile: "flows.json", credentialSecret: "sma-speedwire-demo",
  logging: { console: { level: "info" } }, editorTheme: { tours: false, projects: { enabled: false } },
};\n`);
  fs.rmSync(path.join(userDir, "flows.json"), { force: true });
  fs.rmSync(path.join(userDir, "flows_cred.json"), { force: true });
  const red = spawn(process.execPath, [require.resolve("node-red/red.js"), "--userDir", userDir, "--settings", path.join(userDir, "settings.js")], { stdio: "inherit" });
  const url = `http://127.0.0.1:${uiPort}/`;
  let up = false;
  for (let i = 0; i < 120 && !up; i++) {
    await new Promise((r) => setTimeout(r, 500));
    up = await fetch(url + "settings").then((r) => r.ok, () => false);
  }
  if (!up) {
    red.kill("SIGINT");
    await Promise.all([inverter.stop(), meter.stop()]);
    throw new Error(`Node-RED did not answer on ${url} within 60 s (see its output above)`);
  }
  const res = await fetch(url + "flows", {
    method: "POST", headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" },
    body: JSON.stringify(demoFlows(inverter.port, meterPort)),
  });
  console.log(`\nSimulated SMA inverter ${inverter.serial} on 127.0.0.1:${inverter.port} (user password ${PASSWORD})`);
  console.log(`Simulated Sunny Home Manager sending to 127.0.0.1:${meterPort}`);
  console.log(res.ok ? `Demo flows deployed. Open ${url} and watch the debug sidebar (Ctrl-C stops).\n` : `Deploy failed: ${res.status} ${await res.text()}`);
  const stop = async () => {
    red.kill("SIGINT");
    await inverter.stop();
    await meter.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  red.on("exit", (code) => process.exit(code ?? 0));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
