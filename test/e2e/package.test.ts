/**
 * The package as a user installs it (npm pack -> npm install in the user dir) in a real Node-RED process,
 * on every runtime pair, read through the admin API against a simulated inverter on 127.0.0.1.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startNodeRed } from "../harness/nodered";
import { assertAvailable, runtimes, skipLocally } from "../harness/runtimes";
import { packPackage } from "../harness/pack";
import { SimulatedInverter } from "../../src/simulator";

const USER_PW = "Pv-Secret1";
const WRONG_PW = "Wrong-Pw-77";

function flows(port: number): unknown[] {
  const tab = "e2etab";
  const node = (o: Record<string, unknown>) => ({ z: tab, x: 100, y: 100, ...o });
  return [
    { id: tab, type: "tab", label: "e2e" },
    { id: "invok", type: "sma-inverter", name: "sim", host: "127.0.0.1", port: String(port), serial: "", group: "user",
      timeout: "300", retries: "1", credentials: { password: USER_PW } },
    { id: "invbad", type: "sma-inverter", name: "bad", host: "127.0.0.1", port: String(port), serial: "", group: "user",
      timeout: "300", retries: "1", credentials: { password: WRONG_PW } },
    node({ id: "injac", type: "inject", props: [{ p: "payload" }], payload: "", payloadType: "date", repeat: "", once: false, wires: [["ac"]] }),
    node({ id: "ac", type: "sma-spot-ac", inverter: "invok", topic: "", wires: [["dbgac"]] }),
    node({ id: "dbgac", type: "debug", active: true, tosidebar: true, complete: "true", targetType: "full", wires: [] }),
    node({ id: "injbad", type: "inject", props: [{ p: "payload" }], payload: "", payloadType: "date", repeat: "", once: false, wires: [["energybad"]] }),
    node({ id: "energybad", type: "sma-energy", inverter: "invbad", topic: "", wires: [[]] }),
    node({ id: "catch1", type: "catch", scope: ["energybad"], uncaught: false, wires: [["dbgcatch"]] }),
    node({ id: "dbgcatch", type: "debug", active: true, tosidebar: true, complete: "error", targetType: "msg", wires: [] }),
  ];
}

for (const rt of runtimes()) {
  test(`the installed package reads a simulated inverter on ${rt.name}`, { skip: skipLocally(rt.missing), timeout: 180_000 }, async (t) => {
    assertAvailable(rt.missing);
    const sim = new SimulatedInverter({ address: "127.0.0.1", port: 0, userPassword: USER_PW, phases: 3 });
    await sim.start();
    t.after(() => sim.stop());
    const tgz = await packPackage();
    const nr = await startNodeRed({ nodeBinary: rt.node, nodeRedDir: rt.nodeRedDir, logLevel: "trace", installPackageTgz: tgz });
    t.after(async () => void (await nr.stop().catch(() => undefined)));
    await nr.waitForLog(/Server now running at/, 30_000);

    const types = (await nr.nodeTypes()).filter((s) => s.module === "@speedwire/node-red-sma");
    const loaded = types.flatMap((s) => (s.err ? [] : s.types));
    for (const type of ["sma-inverter", "sma-energy", "sma-spot-ac", "sma-spot-dc", "sma-status", "sma-device-info", "sma-battery", "sma-grid", "sma-read"]) {
      assert.ok(loaded.includes(type), `${type} loaded (sets: ${JSON.stringify(types.map((s) => [s.id, s.err ?? "ok"]))})`);
    }

    await nr.deploy(flows(sim.port));
    await nr.inject("injac");
    const ac = await nr.waitForDebug((m) => m.id === "dbgac", 15_000);
    const msg = ac.value as { payload: Record<string, number>; topic: string; sma: { serial: number } };
    const want = sim.currentValues();
    assert.equal(msg.payload.powerL1, want.acPowerL1);
    assert.equal(msg.payload.voltageL2, want.acVoltageL2);
    assert.equal(msg.payload.frequency, want.gridFrequency);
    assert.equal(msg.topic, `sma/${sim.serial}/ac`);
    assert.equal(msg.sma.serial, sim.serial);
    const okStatus = await nr.waitForStatus("ac", (s) => s.fill === "green", 5_000);
    assert.match(String(okStatus.text), /^ok \d\d:\d\d:\d\d$/);

    await nr.inject("injbad");
    const caught = await nr.waitForDebug((m) => m.id === "dbgcatch", 15_000);
    assert.equal((caught.value as { code?: string }).code, "EAUTH");
    const badStatus = await nr.waitForStatus("energybad", (s) => s.fill === "red", 5_000);
    assert.equal(badStatus.text, "wrong password");

    const flowsJson = fs.readFileSync(path.join(nr.userDir, "flows.json"), "utf8");
    const credJson = fs.readFileSync(path.join(nr.userDir, "flows_cred.json"), "utf8");
    for (const pw of [USER_PW, WRONG_PW]) {
      assert.ok(!flowsJson.includes(pw), "password in flows.json");
      assert.ok(!credJson.includes(pw), "password in clear in flows_cred.json");
      assert.ok(!nr.log().includes(pw), "password in the trace log");
      assert.ok(!JSON.stringify(nr.debugMessages).includes(pw), "password in a debug message");
    }
    assert.match(JSON.parse(credJson).$ ?? "", /^[0-9a-f]{32}/, "flows_cred.json is encrypted");
  });
}
