/** The settings' rules: what the runtime reads settings with, and (the same compiled code) what the dialogs check. */
import { it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vm from "node:vm";
import * as rules from "../../src/client/settings-rules";
import { repoRoot } from "../harness/fixtures";

const {
  INVERTER_SERIAL,
  METER_SECONDS,
  PORT,
  TIMEOUT_MS,
  isHost,
  isMeterGroup,
  passwordProblem,
  seconds,
  wholeNumber,
} = rules;

it("wholeNumber takes digits (or an integer from an older flow) in range, else undefined", () => {
  assert.equal(wholeNumber("1500", TIMEOUT_MS), 1500);
  assert.equal(wholeNumber(" 1500 ", TIMEOUT_MS), 1500);
  assert.equal(wholeNumber(1500, TIMEOUT_MS), 1500);
  for (const bad of ["", " ", "1.5", "abc", "100", "30001", "1e3", "0x10", "-1", null, undefined])
    assert.equal(wholeNumber(bad, TIMEOUT_MS), undefined, String(bad));
  assert.equal(wholeNumber("4294967294", INVERTER_SERIAL), 4294967294);
  for (const any of ["0", "4294967295"])
    assert.equal(wholeNumber(any, INVERTER_SERIAL), undefined, `${any} addresses no single device`);
  assert.equal(wholeNumber("70000", PORT), undefined);
});

it("seconds takes plain decimals (the energy meter's 0.5 s throttle), else undefined", () => {
  assert.equal(seconds("0.5", METER_SECONDS), 0.5);
  assert.equal(seconds(2.5, METER_SECONDS), 2.5);
  for (const bad of ["", "x", "-1", "86401", "Infinity", "1e2", ".5"])
    assert.equal(seconds(bad, METER_SECONDS), undefined, bad);
});

it("hosts, meter groups and passwords", () => {
  for (const ok of ["192.168.1.20", "inverter.local", "sb5000"]) assert.ok(isHost(ok), ok);
  for (const bad of ["192.168.1.300", "1.2.3", "-x", "a b", ""]) assert.ok(!isHost(bad), bad);
  for (const ok of ["239.12.255.254", "192.168.1.5"]) assert.ok(isMeterGroup(ok), ok);
  for (const bad of ["0.0.0.0", "240.0.0.1", "255.255.255.255", "x"]) assert.ok(!isMeterGroup(bad), bad);
  assert.equal(passwordProblem("0000"), undefined);
  assert.equal(passwordProblem(""), undefined);
  assert.equal(passwordProblem("1234567890123"), "passwordLength");
  assert.equal(passwordProblem("Passwört"), "passwordChars");
});

it("the dialogs validate with this module: their built scripts (resources/) answer as its rules do", () => {
  type Validate = (this: Record<string, unknown>, v: unknown, opt?: object) => boolean | string;
  const window: { SmaSpeedwireEditor?: Record<string, Record<string, Validate>> } = {};
  // The bundles touch neither RED nor the page while loading; a validator may ask for the archive select ($) and a text (RED._).
  const context = { window, RED: { _: (key: string) => key }, $: () => ({ length: 0 }) };
  for (const file of ["sma-inverter.js", "sma-energy-meter.js", "sma-archive.js"]) {
    const script = path.join(repoRoot(), "resources", file);
    assert.ok(fs.existsSync(script), "build first: scripts/build.js writes resources/" + file);
    vm.runInNewContext(fs.readFileSync(script, "utf8"), context);
  }
  const { inverter, energyMeter, archive } = window.SmaSpeedwireEditor ?? {};
  assert.ok(inverter && energyMeter && archive);
  const samples: unknown[] = [
    "",
    "0",
    "1",
    "2",
    "9522",
    "65536",
    "0.5",
    "1e3",
    "192.168.1.300",
    "239.12.255.254",
    "10.0.0.1",
    "host.lan",
    "Passwört",
    "1234567890123",
    "200",
    "30000",
    "30001",
    "2208",
    "2209",
    1500,
    null,
  ];
  const node = { id: "n1" };
  for (const v of samples) {
    const is = (f: Validate, self: Record<string, unknown> = node): boolean => f.call(self, v) === true;
    const name = JSON.stringify(v);
    assert.equal(is(inverter.validatePort), wholeNumber(v, PORT) !== undefined, `port ${name}`);
    assert.equal(is(inverter.validateTimeout), wholeNumber(v, TIMEOUT_MS) !== undefined, `timeout ${name}`);
    assert.equal(is(inverter.validateRetries), wholeNumber(v, rules.RETRIES) !== undefined, `retries ${name}`);
    assert.equal(
      is(inverter.validateSerial),
      rules.text(v) === "" || wholeNumber(v, INVERTER_SERIAL) !== undefined,
      `serial ${name}`,
    );
    assert.equal(is(inverter.validatePassword), passwordProblem(v) === undefined, `password ${name}`);
    assert.equal(is(inverter.validateHost), rules.text(v) !== "" && isHost(v), `host ${name}`);
    assert.equal(is(energyMeter.validateGroup), isMeterGroup(v), `group ${name}`);
    assert.equal(is(energyMeter.validatePort), wholeNumber(v, PORT) !== undefined, `meter port ${name}`);
    assert.equal(is(energyMeter.validateThrottle), seconds(v, METER_SECONDS) !== undefined, `throttle ${name}`);
    for (const a of ["day", "month", "events"] as const) {
      assert.equal(
        is(archive.validateSpan, { archive: a }),
        rules.text(v) === "" || wholeNumber(v, rules.ARCHIVE_SPAN[a]) !== undefined,
        `span ${a} ${name}`,
      );
    }
  }
  // A refused value gets its reason when Node-RED asks for one (opt), from the dialog's catalog.
  assert.equal(inverter.validatePort.call(node, "0", {}), "@speedwire/node-red-sma/sma-inverter:validation.port");
});
