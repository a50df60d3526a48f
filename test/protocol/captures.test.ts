/**
 * Every real captured packet in test/fixtures/captures.json decodes to what its publisher reported.
 * The tests loop over the file: a capture added later is checked without a new test.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bytes, loadCaptures, type Capture } from "../harness/fixtures";
import { buildDeviceTime } from "../../src/simulator/clock";
import {
  buildDiscovery,
  buildIdentify,
  buildLogin,
  buildLogoff,
  buildQuery,
  decodeAnswer,
  decodeDiscoveryAnswer,
  decodeInverterDatagram,
  isAnswerCode,
  isDiscoveryRequest,
  isDeviceTimeHeader,
  decodeDeviceTime,
  findQuery,
  readingsOf,
  valuesOf,
  Command,
  DEVICE_TYPE_TAGS,
  ErrorCode,
  type EnumValue,
  type Net2Header,
  type UserGroupName,
} from "../../src/protocol";

type Json = Record<string, unknown>;
const hex = (n: unknown): number => (typeof n === "number" ? n : parseInt(String(n), 16));
const isInverter = (c: Capture): boolean =>
  (c.kind === "inverter-request" ||
    c.kind === "inverter-response" ||
    c.kind === "discovery-request" ||
    c.kind === "discovery-response") &&
  c.hex.slice(32, 36) === "6065";

function checkHeader(h: Net2Header, d: Json): void {
  const src = d.src as Json | undefined;
  const dst = d.dst as Json | undefined;
  if (src) assert.deepEqual(h.source, { susyId: src.susy_id, serial: src.serial }, "source");
  if (dst) assert.deepEqual(h.destination, { susyId: dst.susy_id, serial: dst.serial }, "destination");
  // Newer entries write the code as the sources print it ("0x0102").
  if (d.error !== undefined)
    assert.equal(h.errorCode, typeof d.error === "string" ? hex(d.error) : d.error, "error code");
  // Requests have the command's bit 0 clear, answers set (a client drops requests other devices send).
  if (typeof d.answer_bit === "boolean") assert.equal(isAnswerCode(h.command), d.answer_bit, "answer bit");
  if (d.ctrl !== undefined) assert.equal(h.control, hex(d.ctrl), "control byte");
  if (d.fragment !== undefined) assert.equal(h.fragment, d.fragment, "fragment");
  if (d.packet_id !== undefined)
    assert.equal(h.packetId | (h.packetIdFlag ? 0x8000 : 0), hex(d.packet_id), "packet id");
  if (d.command !== undefined) assert.equal(h.command, hex(d.command), "command");
  if (d.first !== undefined) assert.equal(h.first, hex(d.first), "first");
  if (d.last !== undefined) assert.equal(h.last, hex(d.last), "last");
  if (d.first_record !== undefined) assert.equal(h.first, d.first_record, "first record index");
  if (d.last_record !== undefined) assert.equal(h.last, d.last_record, "last record index");
}

/** What each key the captures use means in our value names. A key not listed here fails the test. */
const PER_INDEX: Record<string, string> = { pdc_W: "dcPower", udc_V: "dcVoltage", idc_A: "dcCurrent" };
const PLAIN: Record<string, string> = {
  total_Wh: "totalYield",
  today_Wh: "dayYield",
  firmware: "firmware",
  pac1_W: "acPowerL1",
  pac2_W: "acPowerL2",
  pac3_W: "acPowerL3",
  uac1_V: "acVoltageL1",
  uac2_V: "acVoltageL2",
  uac3_V: "acVoltageL3",
  uac12_V: "acVoltageL1L2",
  uac23_V: "acVoltageL2L3",
  uac31_V: "acVoltageL3L1",
  iac1_A: "acCurrentL1",
  iac2_A: "acCurrentL2",
  iac3_A: "acCurrentL3",
};
/** Keys of values that no row of the table names (documented unknowns): they must not appear. */
const UNKNOWN = new Set(["lri_464E", "firmware_raw", "u32s_0003"]);

function expectedValues(c: Capture): Record<string, unknown> {
  const want: Record<string, unknown> = {};
  const d = (c.derived?.values ?? {}) as Json;
  for (const [k, v] of Object.entries(d)) {
    if (UNKNOWN.has(k)) continue;
    if (PER_INDEX[k]) {
      for (const [n, x] of Object.entries(v as Json)) want[PER_INDEX[k] + n] = x;
    } else if (PLAIN[k]) want[PLAIN[k]] = v;
    else if (k === "strings") want.deviceName = (v as Json)["821E"];
    else if (k === "device_class_tag") want.deviceClass = (v as Json).selected;
    else if (k === "device_type_tag") want.deviceType = (Array.isArray(v) ? v[0] : (v as Json)).selected;
    else assert.fail(`capture ${c.id}: derived key ${k} has no mapping in this test`);
  }
  const r = (c.reported ?? {}) as Json;
  if (typeof r.total_Wh === "number") want.totalYield = r.total_Wh;
  if (typeof r.today_Wh === "number") want.dayYield = r.today_Wh;
  if (typeof r.status === "number") want.deviceStatus = r.status;
  if (typeof r.gridRelay === "number") want.gridRelay = r.gridRelay;
  if (typeof r.device_class_tag === "number") want.deviceClass = r.device_class_tag;
  if (typeof r.device_type_tag === "number") want.deviceType = r.device_type_tag;
  return want;
}

const plain = (v: unknown): unknown => (v && typeof v === "object" && "selected" in v ? (v as EnumValue).selected : v);

describe("real inverter answers", () => {
  for (const c of loadCaptures().filter(
    (x) => x.kind === "inverter-response" || (x.kind === "discovery-response" && isInverter(x)),
  )) {
    it(`${c.id} (${c.device}) decodes to the reported values`, () => {
      const answer = decodeAnswer(bytes(c));
      checkHeader(answer.header, (c.derived ?? {}) as Json);
      const rep = (c.reported ?? {}) as Json;
      if (typeof rep.error === "number") assert.equal(answer.header.errorCode, rep.error);
      if (typeof rep.answer === "string") assert.equal(answer.header.command, hex(rep.answer));
      const d = (c.derived ?? {}) as Json;
      if (typeof d.record_size === "number") assert.ok(answer.records.every((r) => r.size === d.record_size));
      if (Array.isArray(d.records)) assert.equal(answer.records.length, d.records.length, "record count");
      const readings = readingsOf(answer.records);
      const got = valuesOf(readings);
      for (const [name, want] of Object.entries(expectedValues(c))) {
        assert.ok(name in got, `${name} missing; got ${Object.keys(got).join(",")}`);
        assert.deepEqual(plain(got[name]), want, name);
      }
      if (typeof rep.timestamp === "number")
        assert.ok(readings.every((x) => x.timestamp === (rep.timestamp as number) * 1000));
      assert.ok(
        !Object.values(got).some((v) => typeof v === "number" && (Math.abs(v) >= 2147483648 || v === 4294967295)),
        "a sentinel leaked as a number",
      );
    });
  }

  it("a night answer gives null AC power, not 0 and not -2147483648", () => {
    const nights = loadCaptures().filter(
      (c) => c.kind === "inverter-response" && /night|no sun/i.test(`${c.id} ${JSON.stringify(c.reported)}`),
    );
    assert.ok(nights.length > 0);
    for (const c of nights) {
      const values = valuesOf(readingsOf(decodeAnswer(bytes(c)).records));
      assert.ok(Object.keys(values).length > 0);
      for (const v of Object.values(values)) assert.equal(v, null);
    }
  });

  it("error answers carry their code and no records (not logged in, refused, wrong password)", () => {
    const codes = new Set<number>();
    for (const c of loadCaptures().filter((x) => x.kind === "inverter-response")) {
      const a = decodeAnswer(bytes(c));
      if (a.header.errorCode !== 0) {
        codes.add(a.header.errorCode);
        assert.equal(a.records.length, 0, c.id);
      }
    }
    for (const code of [ErrorCode.NOT_LOGGED_IN, ErrorCode.WRONG_PASSWORD, ErrorCode.REFUSED])
      assert.ok(codes.has(code), `code ${code}`);
  });
});

/** Offsets where clients legitimately differ: control byte and control words of data queries. */
const CONTROL_OFFSETS = new Set([19, 26, 27, 34, 35]);

function sameExcept(ours: Buffer, theirs: Buffer, skip: Set<number>, id: string): void {
  assert.equal(ours.length, theirs.length, `${id}: length`);
  for (let i = 0; i < ours.length; i++) {
    if (!skip.has(i))
      assert.equal(
        ours[i],
        theirs[i],
        `${id}: byte ${i} ours ${ours.toString("hex")} theirs ${theirs.toString("hex")}`,
      );
  }
}

describe("real requests have the layout of ours", () => {
  for (const c of loadCaptures().filter((x) => x.kind === "inverter-request" || x.kind === "discovery-request")) {
    it(`${c.id}: our builder makes the same bytes`, () => {
      const theirs = bytes(c);
      if (!isInverter(c)) {
        assert.ok(isDiscoveryRequest(theirs));
        assert.deepEqual(buildDiscovery(), theirs);
        return;
      }
      const { header: h, payload } = decodeInverterDatagram(theirs);
      checkHeader(h, (c.derived ?? {}) as Json);
      // Every request, ours or one a device pushes to "any": command bit 0 clear, so a client never takes it for an answer.
      assert.equal(isAnswerCode(h.command), false, `${c.id}: a request`);
      const base = { source: h.source, destination: h.destination, packetId: h.packetId };
      if (h.command === Command.LOGIN) {
        const group: UserGroupName = h.first === 0x0a ? "installer" : "user";
        const key = group === "user" ? 0x88 : 0xbb;
        const password = String.fromCharCode(
          ...[...payload.subarray(8, 20)].filter((b) => b !== key).map((b) => (b - key) & 0xff),
        );
        const ours = buildLogin({ ...base, group, password, time: payload.readUInt32LE(0), timeoutS: h.last });
        sameExcept(ours, theirs, new Set(), c.id);
      } else if (h.command === Command.LOGOFF) {
        sameExcept(buildLogoff(base), theirs, new Set(), c.id);
      } else if (isDeviceTimeHeader(h)) {
        // Sent by devices, not clients: the simulator's builder (never the client) makes it.
        const t = decodeDeviceTime(theirs);
        const ours = buildDeviceTime({
          source: h.source,
          packetId: h.packetId,
          time: t.time ?? 0,
          lastSet: t.lastSet ?? 0,
          tzOffsetS: t.tzOffsetS,
          dst: t.dst,
          setCounter: t.setCounter,
        });
        sameExcept(ours, theirs, new Set(), c.id);
      } else if (h.command === Command.IDENTIFY) {
        sameExcept(buildIdentify(base), theirs, CONTROL_OFFSETS, c.id);
      } else if (payload.length > 0) {
        // Requests with a body (device time 0xF000020A, the 0x2800000E multicast) are none a client sends: they only
        // have to pass the framing, and decode to no records (a client drops them).
        assert.equal(decodeAnswer(theirs).records.length, 0, c.id);
        assert.equal(findQuery(h.command, h.first, h.last), undefined, c.id);
      } else {
        sameExcept(
          buildQuery({ ...base, query: { command: h.command, first: h.first, last: h.last } }),
          theirs,
          CONTROL_OFFSETS,
          c.id,
        );
      }
    });
  }
});

describe("real discovery answers", () => {
  for (const c of loadCaptures().filter((x) => x.kind === "discovery-response" && !isInverter(x))) {
    it(`${c.id} gives the device's address`, () => {
      assert.equal(decodeDiscoveryAnswer(bytes(c)).address, (c.derived as Json).ip);
    });
  }
});

describe("model names of real devices", () => {
  const squash = (s: string): string => s.replace(/\s+/g, "").toUpperCase();
  for (const c of loadCaptures().filter((x) => x.kind === "inverter-response" && isInverter(x))) {
    const tag = valuesOf(readingsOf(decodeAnswer(bytes(c)).records)).deviceType;
    const selected = plain(tag);
    if (typeof selected !== "number") continue;
    it(`${c.id}: type tag ${selected} is the model the capture names`, () => {
      const model = DEVICE_TYPE_TAGS[selected];
      assert.ok(model, `tag ${selected} has a model name`);
      assert.ok(squash(c.device).includes(squash(model)), `"${model}" in "${c.device}"`);
    });
  }
});
