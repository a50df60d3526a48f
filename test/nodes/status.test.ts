/** The one mapping from errors to status dots: what the user reads under a node. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { NodeAPI } from "node-red";
import { SmaError } from "../../src/client";
import { errorStatus, stateStatus } from "../../nodes/shared/status";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../harness/fixtures";

const locale = path.join(repoRoot(), "nodes", "sma-inverter", "locales", "en-US", "sma-inverter.json");
const status = (JSON.parse(fs.readFileSync(locale, "utf8")) as { status: Record<string, string> }).status;
const RED = {
  _: (key: string, subs: Record<string, unknown> = {}) => (status[key.split(":status.")[1]] ?? key).replace(/__(\w+)__/g, (_m, k: string) => String(subs[k])),
} as unknown as NodeAPI;

describe("status texts for login problems", () => {
  it("a wrong password, the back-off after it, and a device that keeps no session read differently", () => {
    const wrong = new SmaError("EAUTH", "refused", 0x0100);
    const paused = new SmaError("EAUTH", "paused", 0x0100);
    paused.paused = true;
    const noSession = new SmaError("EAUTH", "keeps no session", 0xffff);
    noSession.noSession = true;
    assert.equal(errorStatus(RED, wrong).text, "wrong password");
    assert.equal(errorStatus(RED, paused).text, "login paused");
    assert.equal(errorStatus(RED, noSession).text, "session not kept");
    assert.equal(stateStatus(RED, "auth", noSession)?.text, "session not kept", "the inverter-wide state says the same");
    assert.equal(stateStatus(RED, "auth")?.text, "wrong password");
  });
});

describe("status texts for what a login without values meant", () => {
  it("busy, encryption, another device, unknown objects and device codes each read differently", () => {
    const text = (e: SmaError): string | undefined => errorStatus(RED, e).text;
    assert.equal(text(new SmaError("EREFUSED", "login refused (busy)", 0x0102)), "login refused, busy");
    assert.equal(text(new SmaError("EENCRYPTED", "Speedwire encryption is on")), "encryption is on");
    assert.equal(text(new SmaError("EOTHERDEVICE", "device at h is SN 1, not 2")), "other serial");
    assert.equal(text(new SmaError("ENOTSUPPORTED", "", 0x0014)), "unknown to device");
    assert.equal(text(new SmaError("ENOTSUPPORTED", "", 0x0015)), "not supported");
    assert.equal(text(new SmaError("EPROTOCOL", "", 0x0123)), "device error 0x0123");
    assert.equal(text(new SmaError("EPROTOCOL", "nonsense")), "protocol error");
    for (const code of ["EREFUSED", "EENCRYPTED", "EOTHERDEVICE"] as const) {
      assert.equal(stateStatus(RED, "error", new SmaError(code, ""))?.fill, "red", code);
    }
  });
});
