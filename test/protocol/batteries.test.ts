/**
 * Batteries are numbered by position, strings by class byte (protocol reference §4, seen on a live 2026 plant).
 * No real capture holds battery records yet: the answers here are built byte by byte from the reference's
 * description of a Sunny Boy Storage answer (three 28-byte records per value id, ALL with class byte 7, battery A
 * first, a battery not fitted carrying the NaN sentinel), not with the simulator's encoder.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  MAX_POSITION,
  VALUES,
  decodeAnswer,
  encodeInverterDatagram,
  queriesFor,
  readingsOf,
  resolveName,
  valuesOf,
  type DataRecord,
} from "../../src/protocol";

const NAN_S32 = 0x80000000;
const NAN_U32 = 0xffffffff;
const T = 1_774_777_350;

/** A 28-byte spot record: class, LE value id, type (0x40 signed, 0x00 unsigned), time, the value in 4 words, 1. */
function spot(cls: number, lri: number, signed: boolean, raw: number): Buffer {
  const r = Buffer.alloc(28);
  r.writeUInt8(cls, 0);
  r.writeUInt16LE(lri, 1);
  r.writeUInt8(signed ? 0x40 : 0x00, 3);
  r.writeUInt32LE(T, 4);
  for (let off = 8; off < 24; off += 4) r.writeUInt32LE(raw >>> 0, off);
  r.writeUInt32LE(1, 24);
  return r;
}

/** An answer to 0x51000200 (code 0x51000201) holding the records, as one datagram. */
function answer(records: Buffer[], fragment = 0, firstIndex = 0): DataRecord[] {
  const datagram = encodeInverterDatagram({
    control: 0xa0,
    destination: { susyId: 0x7d, serial: 975748674 },
    destinationControl: 0xa100,
    source: { susyId: 361, serial: 3005625197 },
    sourceControl: 0x0100,
    errorCode: 0,
    fragment,
    packetId: 5,
    command: 0x51000201,
    first: firstIndex,
    last: firstIndex + records.length - 1,
    payload: Buffer.concat(records),
  });
  return decodeAnswer(datagram).records;
}

const temp = (raw: number): Buffer => spot(7, 0x495b, true, raw);

describe("battery records: numbered by position among the records of one value id", () => {
  it("three class-7 temperature records are batteryTemperature1..3 in order; the NaN slot is null", () => {
    const readings = readingsOf(answer([temp(235), temp(NAN_S32), temp(310)]));
    assert.deepEqual(
      readings.map((r) => [r.name, r.value, r.cls]),
      [
        ["batteryTemperature1", 23.5, 7],
        ["batteryTemperature2", null, 7],
        ["batteryTemperature3", 31, 7],
      ],
    );
    const v = valuesOf(readings);
    assert.deepEqual([v.batteryTemperature1, v.batteryTemperature2, v.batteryTemperature3], [23.5, null, 31]);
    assert.ok(!("batteryTemperature7" in v), "the class byte is no battery number");
  });

  it("temperature, voltage, current and per-battery SoC: each value id counts its own records", () => {
    const recs = answer([
      temp(210),
      temp(245),
      temp(NAN_S32),
      spot(7, 0x495c, false, 5120),
      spot(7, 0x495c, false, 5135),
      spot(7, 0x495c, false, NAN_U32),
      spot(7, 0x495d, true, -1500),
      spot(7, 0x495d, true, 2250),
      spot(7, 0x495d, true, NAN_S32),
      spot(7, 0x498f, false, 57),
      spot(7, 0x498f, false, 63),
      spot(7, 0x498f, false, NAN_U32),
    ]);
    const v = valuesOf(readingsOf(recs));
    assert.deepEqual(v, {
      batteryTemperature1: 21,
      batteryTemperature2: 24.5,
      batteryTemperature3: null,
      batteryVoltage1: 51.2,
      batteryVoltage2: 51.35,
      batteryVoltage3: null,
      batteryCurrent1: -1.5,
      batteryCurrent2: 2.25,
      batteryCurrent3: null,
      batteryPackSoc1: 57,
      batteryPackSoc2: 63,
      batteryPackSoc3: null,
    });
  });

  it("battery A not fitted, B and C fitted: B and C keep their numbers 2 and 3", () => {
    const v = valuesOf(readingsOf(answer([temp(NAN_S32), temp(199), temp(301)])));
    assert.deepEqual(v, { batteryTemperature1: null, batteryTemperature2: 19.9, batteryTemperature3: 30.1 });
  });

  it("an answer in two datagrams: positions continue across them (the records in the device's order)", () => {
    const recs = [...answer([temp(220), temp(230)], 1, 4), ...answer([temp(240)], 0, 6)];
    assert.deepEqual(valuesOf(readingsOf(recs)), {
      batteryTemperature1: 22,
      batteryTemperature2: 23,
      batteryTemperature3: 24,
    });
  });
});

describe("hostile battery answers", () => {
  it("no more than MAX_POSITION numbers per value id, however many records come", () => {
    const recs = answer(Array.from({ length: 300 }, (_, i) => temp(i)));
    const names = Object.keys(valuesOf(readingsOf(recs)));
    assert.equal(names.length, MAX_POSITION);
    assert.equal(names.at(-1), `batteryTemperature${MAX_POSITION}`);
  });
});

describe("DC strings: numbered by the class byte, up to 4 (A-D)", () => {
  it("classes 1..4 are dcPower1..4; a lone class-3 record is dcPower3, not 1", () => {
    const dc = (cls: number, w: number): Buffer => spot(cls, 0x251e, true, w);
    const rs = answer([dc(1, 1450), dc(2, 1320), dc(3, 990), dc(4, 870)]);
    assert.deepEqual(valuesOf(readingsOf(rs)), { dcPower1: 1450, dcPower2: 1320, dcPower3: 990, dcPower4: 870 });
    assert.deepEqual(valuesOf(readingsOf(answer([dc(3, 700)]))), { dcPower3: 700 });
  });
});

describe("the numbering rule is a property of the table row", () => {
  it("battery rows are numbered by position, string rows by class; no other row is indexed", () => {
    for (const v of VALUES) {
      if (v.group === "dc") assert.equal(v.indexed, "class", v.name);
      else if (["batteryTemperature", "batteryVoltage", "batteryCurrent", "batteryPackSoc"].includes(v.name))
        assert.equal(v.indexed, "position", v.name);
      else assert.equal(v.indexed, undefined, v.name);
    }
  });

  it("the device's SoC (batterySoc, 0x295A) and each battery's (batteryPackSoc<n>, 0x498F) do not clash", () => {
    assert.deepEqual(
      resolveName("batterySoc").defs.map((d) => d.lri),
      [0x295a],
    );
    assert.deepEqual(resolveName("batteryPackSoc2"), { defs: VALUES.filter((d) => d.lri === 0x498f), index: 2 });
    assert.deepEqual(queriesFor(["batterySoc"]), ["batterySoc"]);
    assert.deepEqual(queriesFor(["batteryPackSoc"]), ["batteryPackSoc"]);
    assert.equal(
      new Set(VALUES.filter((d) => d.indexed).map((d) => d.name)).size,
      VALUES.filter((d) => d.indexed).length,
    );
  });
});
