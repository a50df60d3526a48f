/**
 * The Diagnose endpoint in a real Node-RED (node-red-node-test-helper): POST /sma-speedwire/diagnose with the
 * dialog's settings. The stored-password placeholder (__PWRD__) uses the deployed node's credential, for its
 * deployed host only; a typed password is used as typed; the answer never holds the password; runs are rate-limited;
 * the meters the deployed sma-energy-meter listener heard are in the answer.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { helper, load, startServer, stopServer } from "../harness/red-helper";
import { repoRoot } from "../harness/fixtures";
import { SimulatedInverter, SimulatedMeter } from "../../src/simulator";
import { DIAGNOSE_RATE, UNCHANGED_PASSWORD } from "../../nodes/shared/admin";
import * as fs from "node:fs";
import * as path from "node:path";
import { DIAGNOSE_CODES, DIAGNOSE_TEXT_EN, DIAGNOSE_VERDICTS, type Diagnosis } from "../../src/client";
import inverterNode = require("../../nodes/sma-inverter/sma-inverter");
import meterNode = require("../../nodes/sma-energy-meter/sma-energy-meter");

const PASSWORD = "D1agPw";
const LOCALES = path.join(repoRoot(), "nodes", "sma-inverter", "locales");
const cleanup: (() => Promise<unknown> | void)[] = [];
before(() => startServer());
afterEach(() => helper.unload());
after(async () => {
  for (const f of cleanup.reverse()) await f();
  await stopServer();
});

async function freePort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function post(
  body: Record<string, unknown>,
): Promise<{ status: number; body: Diagnosis & { error?: string; code?: string }; text: string }> {
  const r = await helper.request().post("/sma-speedwire/diagnose").send(body).set("Content-Type", "application/json");
  return { status: r.status, body: r.body as Diagnosis & { error?: string; code?: string }, text: r.text };
}

describe("POST /sma-speedwire/diagnose", () => {
  it("saved password (placeholder) for the deployed host, typed passwords as typed, never a password in the answer, rate-limited", async () => {
    const sim = new SimulatedInverter({
      address: "127.0.0.1",
      port: 0,
      timeVarying: false,
      serial: 3000000444,
      userPassword: PASSWORD,
    });
    cleanup.push(() => sim.stop());
    await sim.start();
    const meterPort = await freePort();
    await load(
      [inverterNode, meterNode],
      [
        {
          id: "inv",
          type: "sma-inverter",
          host: "127.0.0.1",
          port: String(sim.port),
          serial: "3000000444",
          group: "user",
          timeout: "2000",
          retries: "1",
        },
        {
          id: "m",
          type: "sma-energy-meter",
          group: "127.0.0.1",
          port: String(meterPort),
          iface: "",
          serial: "",
          throttle: "0",
          onlyChanges: false,
          watchdog: "0",
          wires: [[]],
        },
      ],
      { inv: { password: PASSWORD } },
    );
    const meter = new SimulatedMeter({
      variant: "shm20",
      serial: 3000000555,
      address: "127.0.0.1",
      port: meterPort,
      intervalMs: 100,
    });
    cleanup.push(() => meter.stop());
    await meter.start();
    await meter.sendNow();
    const dialog = {
      id: "inv",
      host: "127.0.0.1",
      port: String(sim.port),
      serial: "3000000444",
      group: "user",
      timeout: "2000",
      retries: "1",
    };

    const saved = await post({ ...dialog, password: UNCHANGED_PASSWORD });
    assert.equal(saved.status, 200, saved.text);
    assert.equal(saved.body.verdict, "ok");
    assert.ok(saved.body.steps.some((s) => s.code === "login.ok"));
    assert.ok(!saved.text.includes(PASSWORD), "the answer holds the password");
    const heard = saved.body.steps.filter((s) => s.code === "meters.heard").map((s) => s.data);
    assert.ok(
      heard.some((h) => h.serial === 3000000555 && h.cast === "unicast"),
      JSON.stringify(saved.body.steps),
    );

    const typed = await post({ ...dialog, password: "wrong1" });
    assert.equal(typed.body.verdict, "wrong-password");

    // The saved password never goes to another host or port than the deployed node's.
    const elsewhere = await post({ ...dialog, port: String(sim.port + 1), password: UNCHANGED_PASSWORD });
    assert.equal(elsewhere.status, 400);
    assert.equal(elsewhere.body.code, "otherhost");
    const undeployed = await post({ ...dialog, id: "nope", password: UNCHANGED_PASSWORD });
    assert.equal(undeployed.body.code, "nopassword");
    const bad = await post({ ...dialog, host: "not a host", password: "x" });
    assert.equal(bad.status, 400);

    // Two runs so far (400s are not counted): the window allows DIAGNOSE_RATE.max, then 429 with Retry-After.
    const statuses: number[] = [];
    for (let i = 2; i < DIAGNOSE_RATE.max + 1; i++)
      statuses.push((await post({ ...dialog, password: "wrong1" })).status);
    assert.deepEqual(statuses, [...Array<number>(DIAGNOSE_RATE.max - 2).fill(200), 429]);
  });

  it("every step code and verdict has a text in en-US (the CLI's English) and de, with the same placeholders", () => {
    const en = JSON.parse(fs.readFileSync(path.join(LOCALES, "en-US", "sma-inverter.json"), "utf8")) as {
      diagnose: Record<string, Record<string, string>>;
    };
    const de = JSON.parse(fs.readFileSync(path.join(LOCALES, "de", "sma-inverter.json"), "utf8")) as {
      diagnose: Record<string, Record<string, string>>;
    };
    const keys = [...DIAGNOSE_CODES, ...DIAGNOSE_VERDICTS.map((v) => `verdict.${v}` as const)];
    const holes = (s: string): string[] => (s.match(/__[a-zA-Z]+__/g) ?? []).sort();
    for (const k of keys) {
      const [a, b] = k.split(".");
      assert.equal(en.diagnose[a]?.[b], DIAGNOSE_TEXT_EN[k], `en-US ${k}`);
      assert.ok(de.diagnose[a]?.[b], `de ${k}`);
      assert.deepEqual(holes(de.diagnose[a][b]), holes(DIAGNOSE_TEXT_EN[k]), `de ${k}`);
    }
    for (const k of ["run", "running", "tooMany", "noPassword", "otherHost", "failed", "verdictLabel"]) {
      assert.equal(typeof en.diagnose[k], "string", k);
      assert.equal(typeof de.diagnose[k], "string", k);
    }
  });
});
