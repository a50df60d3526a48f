/** The settings' rules: what the runtime reads settings with, and (the same compiled code) what the dialogs check. */
import { it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vm from "node:vm";
import * as rules from "../../src/client/settings-rules";
import { repoRoot } from "../harness/fixtures";

const { INVERTER_SERIAL, METER_SECONDS, PORT, TIMEOUT_MS, isHost, isMeterGroup, passwordProblem, seconds, wholeNumber } = rules;

it("wholeNumber takes digits (or an integer from an older flow) in range, else undefined", () => {
  assert.equal(wholeNumber("1500", TIMEOUT_MS), 1500);
  assert.equal(wholeNumber(" 1500 ", TIMEOUT_MS), 1500);
  assert.equal(wholeNumber(1500, TIMEOUT_MS), 1500);
  for (const bad of ["", " ", "1.5", "abc", "100", "30001", "1e3", "0x10", "-1", null, undefined]) assert.equal(wholeNumber(bad, TIMEOUT_MS), undefined, String(bad));
  assert.equal(wholeNumber("4294967294", INVERTER_SERIAL), 4294967294);
  for (const any of ["0", "4294967295"]) assert.equal(wholeNumber(any, INVERTER_SERIAL), undefined, `${any} addresses no single device`);
  assert.equal(wholeNumber("70000", PORT), undefined);
});

it("seconds takes plain decimals (the energy meter's 0.5 s throttle), else undefined", () => {
  assert.equal(seconds("0.5", METER_SECONDS), 0.5);
  assert.equal(seconds(2.5, METER_SECONDS), 2.5);
  for (const bad of ["", "x", "-1", "86401", "Infinity", "1e2", ".5"]) assert.equal(seconds(bad, METER_SECONDS), undefined, bad);
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

it("the editor's settings-rules.js is this module: the same rules and ranges in the browser", () => {
  const file = path.join(repoRoot(), "resources", "settings-rules.js");
  assert.ok(fs.existsSync(file), "build first: scripts/build.js writes it");
  const window: { SmaSettingsRules?: Record<string, unknown> } = {};
  vm.runInNewContext(fs.readFileSync(file, "utf8"), { window });
  const served = window.SmaSettingsRules;
  assert.ok(served);
  assert.deepEqual(Object.keys(served).filter((k) => k !== "__esModule").sort(), Object.keys(rules).sort());
  const samples: unknown[] = ["", "0", "1", "9522", "65536", "0.5", "1e3", "192.168.1.300", "239.12.255.254", "host.lan", "Passwört", 1500, null];
  for (const name of Object.keys(rules) as (keyof typeof rules)[]) {
    const mine: unknown = rules[name];
    const theirs: unknown = served[name];
    if (typeof mine !== "function") {
      assert.equal(JSON.stringify(theirs), JSON.stringify(mine), name);
      continue;
    }
    for (const v of samples) {
      for (const range of [PORT, TIMEOUT_MS, METER_SECONDS]) {
        // Results may be objects from the other realm, and a rule called with other arguments may throw: compare as text.
        const call = (f: unknown): string => {
          try {
            return JSON.stringify((f as (a: unknown, b: unknown) => unknown)(v, range)) ?? "undefined";
          } catch (e) {
            return `throws ${(e as Error).name}`;
          }
        };
        assert.equal(call(theirs), call(mine), `${name}(${JSON.stringify(v)})`);
      }
    }
  }
});
