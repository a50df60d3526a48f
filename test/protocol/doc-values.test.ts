/**
 * The value table against the protocol reference (speedwire-protocol.md §4 "Values: id, unit, scale" and
 * the class-byte note), not against our encoder: every record here is written byte by byte as §4 lays a record out
 * (class, LE value id, type byte, LE timestamp, LE value), with a raw number, and the expected reading is that raw
 * number divided by the doc's "divide by", typed in by hand. A wrong scale, a swapped id, a sentinel read as a number
 * or batteries numbered by class byte give wrong numbers without an error; this file is where they fail.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeRecord, readingsOf, valuesOf, type DataRecord } from "../../src/protocol";

const T = 1_700_000_000;
const UNSIGNED = 0x00;
const SIGNED = 0x40;

/** A 28-byte spot record as §4 lays it out; the value word is repeated (min/max copies) as devices do. */
function spot(cls: number, lri: number, type: number, raw: number): DataRecord {
  const b = Buffer.alloc(28);
  b.writeUInt8(cls, 0);
  b.writeUInt16LE(lri, 1);
  b.writeUInt8(type, 3);
  b.writeUInt32LE(T, 4);
  for (let off = 8; off < 24; off += 4) b.writeUInt32LE(raw >>> 0, off);
  b.writeUInt32LE(1, 24);
  return decodeRecord(b);
}

/** A 16-byte counter record (u64 LE at 8). */
function counter(lri: number, raw: bigint): DataRecord {
  const b = Buffer.alloc(16);
  b.writeUInt8(1, 0);
  b.writeUInt16LE(lri, 1);
  b.writeUInt8(UNSIGNED, 3);
  b.writeUInt32LE(T, 4);
  b.writeBigUInt64LE(raw, 8);
  return decodeRecord(b);
}

const read = (records: DataRecord[]): Record<string, unknown> => valuesOf(readingsOf(records));

describe("values read as the protocol doc's table says (§4)", () => {
  it("counters: energy in Wh, times in s, divided by 1", () => {
    assert.deepEqual(
      read([
        counter(0x2601, 12_345_678n),
        counter(0x2622, 4_321n),
        counter(0x462e, 98_765n),
        counter(0x462f, 87_654n),
        counter(0x4624, 2_345_678n),
        counter(0x4625, 345_678n),
      ]),
      {
        totalYield: 12_345_678,
        dayYield: 4_321,
        operatingTime: 98_765,
        feedInTime: 87_654,
        gridEnergyExport: 2_345_678,
        gridEnergyImport: 345_678,
      },
    );
  });

  it("AC side: power in W, voltage /100, current /1000, frequency /100, each phase under its own id", () => {
    const got = read([
      spot(1, 0x263f, SIGNED, 2_980),
      spot(1, 0x4640, SIGNED, 1_001),
      spot(1, 0x4641, SIGNED, 1_002),
      spot(1, 0x4642, SIGNED, 1_003),
      spot(1, 0x4648, UNSIGNED, 23_012),
      spot(1, 0x4649, UNSIGNED, 23_145),
      spot(1, 0x464a, UNSIGNED, 22_987),
      spot(1, 0x4650, UNSIGNED, 4_350),
      spot(1, 0x4651, UNSIGNED, 4_351),
      spot(1, 0x4652, UNSIGNED, 4_352),
      spot(1, 0x4657, UNSIGNED, 5_002),
    ]);
    assert.deepEqual(got, {
      acPower: 2_980,
      acPowerL1: 1_001,
      acPowerL2: 1_002,
      acPowerL3: 1_003,
      acVoltageL1: 230.12,
      acVoltageL2: 231.45,
      acVoltageL3: 229.87,
      acCurrentL1: 4.35,
      acCurrentL2: 4.351,
      acCurrentL3: 4.352,
      gridFrequency: 50.02,
    });
  });

  it("AC current under the newer ids 0x4653..0x4655 (signed): /1000, same names as the older ids", () => {
    assert.deepEqual(
      read([spot(1, 0x4653, SIGNED, 4_350), spot(1, 0x4654, SIGNED, 4_351), spot(1, 0x4655, SIGNED, 4_352)]),
      { acCurrentL1: 4.35, acCurrentL2: 4.351, acCurrentL3: 4.352 },
    );
  });

  it("per-battery SoC (0x498F): class-7 records numbered by order, % /1", () => {
    assert.deepEqual(
      read([spot(7, 0x498f, UNSIGNED, 0xffffffff), spot(7, 0x498f, UNSIGNED, 64), spot(7, 0x498f, UNSIGNED, 71)]),
      { batteryPackSoc1: null, batteryPackSoc2: 64, batteryPackSoc3: 71 },
    );
  });

  it("DC side: the class byte is the string (1 = A, 2 = B); V /100, A /1000", () => {
    assert.deepEqual(
      read([
        spot(1, 0x251e, SIGNED, 1_500),
        spot(2, 0x251e, SIGNED, 800),
        spot(1, 0x451f, SIGNED, 35_012),
        spot(2, 0x451f, SIGNED, 28_000),
        spot(1, 0x4521, SIGNED, 4_285),
        spot(2, 0x4521, SIGNED, 2_857),
      ]),
      {
        dcPower1: 1_500,
        dcPower2: 800,
        dcVoltage1: 350.12,
        dcVoltage2: 280,
        dcCurrent1: 4.285,
        dcCurrent2: 2.857,
      },
    );
  });

  it("inverter temperature /100, SoC /1, nominal power and hybrid grid power in W", () => {
    assert.deepEqual(
      read([
        spot(1, 0x2377, SIGNED, 4_150),
        spot(1, 0x295a, UNSIGNED, 87),
        spot(1, 0x411e, UNSIGNED, 5_000),
        spot(1, 0x4636, SIGNED, 1_200),
        spot(1, 0x4637, SIGNED, 300),
      ]),
      { temperature: 41.5, batterySoc: 87, nominalPower: 5_000, gridPowerExport: 1_200, gridPowerImport: 300 },
    );
  });

  it("batteries: three class-7 records per id, numbered by order; temperature /10, V /100, A /1000; NaN is null", () => {
    const NAN_S32 = 0x80000000;
    const NAN_U32 = 0xffffffff;
    const got = read([
      spot(7, 0x495b, SIGNED, 251),
      spot(7, 0x495b, SIGNED, NAN_S32),
      spot(7, 0x495b, SIGNED, -35),
      spot(7, 0x495c, UNSIGNED, 51_234),
      spot(7, 0x495c, UNSIGNED, NAN_U32),
      spot(7, 0x495c, UNSIGNED, 50_987),
      spot(7, 0x495d, SIGNED, -12_345),
      spot(7, 0x495d, SIGNED, NAN_S32),
      spot(7, 0x495d, SIGNED, 6_789),
    ]);
    assert.deepEqual(got, {
      batteryTemperature1: 25.1,
      batteryTemperature2: null,
      batteryTemperature3: -3.5,
      batteryVoltage1: 512.34,
      batteryVoltage2: null,
      batteryVoltage3: 509.87,
      batteryCurrent1: -12.345,
      batteryCurrent2: null,
      batteryCurrent3: 6.789,
    });
  });

  it("night: every 'no value' sentinel of §4 is null, never 0", () => {
    const got = read([
      spot(1, 0x263f, SIGNED, 0x80000000),
      spot(1, 0x4657, UNSIGNED, 0xffffffff),
      spot(1, 0x4648, UNSIGNED, 0xfffffffe),
      spot(1, 0x251e, SIGNED, 0x80000000),
      counter(0x2601, 0xffffffffffffffffn),
      counter(0x2622, 0x8000000000000000n),
    ]);
    assert.deepEqual(got, {
      acPower: null,
      gridFrequency: null,
      acVoltageL1: null,
      dcPower1: null,
      totalYield: null,
      dayYield: null,
    });
  });
});
