/** The one mapping from errors to status dots: what the user reads under a node. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { NodeAPI } from "node-red";
import { SmaError } from "../../src/client";
import { errorStatus, okStatus, stateStatus } from "../../nodes/shared/status";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../harness/fixtures";

const locale = path.join(repoRoot(), "nodes", "sma-inverter", "locales", "en-US", "sma-inverter.json");
const status = (JSON.parse(fs.readFileSync(locale, "utf8")) as { status: Record<string, string> }).status;
const RED = {
  _: (key: string, subs: Record<string, unknown> = {}) =>
    (status[key.split(":status.")[1]] ?? key).replace(/__(\w+)__/g, (_m, k: string) => String(subs[k])),
} as unknown as NodeAPI;

describe("status texts for login problems", () => {
  it("a wrong password, the back-off after it, and a device that keeps no session read differently", () => {
    const wrong = new SmaError("EAUTH", "refused", 0x0100);
    const paused = new SmaError("EAUTH", "paused", { deviceCode: 0x0100, paused: true });
    const noSession = new SmaError("EAUTH", "keeps no session", { deviceCode: 0xffff, noSession: true });
    assert.equal(errorStatus(RED, wrong).text, "wrong password");
    assert.equal(errorStatus(RED, paused).text, "login paused");
    assert.equal(errorStatus(RED, noSession).text, "session not kept");
    assert.equal(
      stateStatus(RED, "auth", noSession)?.text,
      "session not kept",
      "the inverter-wide state says the same",
    );
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

describe("status texts for host names and busy queues", () => {
  it("a name not found, no DNS answer, a search that found nothing, busy live and busy archive reads read differently", () => {
    const notFound = new SmaError("ENOTFOUND", "host name x not found", { lookup: "notFound" });
    const noDns = new SmaError("ENOTFOUND", "no DNS answer", { lookup: "timeout" });
    const archives = new SmaError("EBUSY", "4 archive reads", { lane: "archive" });
    assert.equal(errorStatus(RED, notFound).text, "name not found");
    assert.equal(errorStatus(RED, noDns).text, "DNS no answer");
    assert.equal(errorStatus(RED, new SmaError("ENOTFOUND", "no device")).text, "not found");
    assert.equal(stateStatus(RED, "error", noDns)?.text, "DNS no answer", "the inverter-wide state says the same");
    assert.equal(errorStatus(RED, archives).text, "busy: archives");
    assert.equal(errorStatus(RED, new SmaError("EBUSY", "16 reads")).text, "busy");
  });

  it("ok with the address once a host name points elsewhere than at first", () => {
    const RED2 = {
      _: (key: string, o?: Record<string, string>) =>
        (status[key.split(":status.")[1]] ?? key).replace(/__(\w+)__/g, (_m, k: string) => o?.[k] ?? ""),
    } as unknown as NodeAPI;
    assert.equal(
      okStatus(RED2, new Date(2026, 0, 1, 12, 0, 1), false, false, "192.168.178.123").text,
      "ok 192.168.178.123",
    );
    assert.equal(okStatus(RED2, new Date(2026, 0, 1, 12, 0, 1)).text, "ok 12:00:01");
  });
});
