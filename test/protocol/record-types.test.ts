/**
 * Records whose type byte is not the one the value table expects, built from real captures with that one byte changed.
 * Devices mark one value 0x00 (unsigned) or 0x40 (signed): the STP 5.0-3AV-40 capture sends the AC currents
 * 0x4653..55 as 0x40, where SBFspot's table lists them as 0x00 and its reader notes that it "can't rely on dataType".
 * Read by the type byte alone, a night "no value" (0x80000000) marked 0x00 became 2147483648 W and a small negative
 * power -5 W became 4294967291 W, without an error.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bytes, loadCaptures } from "../harness/fixtures";
import { decodeAnswer, readingsOf, valuesOf, type ReadingValue } from "../../src/protocol";

const RECORDS = 54;

/** The capture's datagram with each 28-byte record changed by `edit` (record bytes, index). */
function edited(id: string, edit: (rec: Buffer, i: number) => void): Buffer {
  const c = loadCaptures().find((x) => x.id === id);
  assert.ok(c, id);
  const b = Buffer.from(bytes(c));
  const end = b.length - 4;
  assert.equal((end - RECORDS) % 28, 0, `${id} has 28-byte records`);
  for (let off = RECORDS, i = 0; off < end; off += 28, i++) edit(b.subarray(off, off + 28), i);
  return b;
}

/** Sets the record's type byte and its four value copies. */
function set(rec: Buffer, type: number, raw?: number): void {
  rec.writeUInt8(type, 3);
  if (raw !== undefined) for (let off = 8; off < 24; off += 4) rec.writeUInt32LE(raw >>> 0, off);
}

const values = (b: Buffer): Record<string, ReadingValue> => valuesOf(readingsOf(decodeAnswer(b).records));

describe("a spot record is read by the value table's type, whatever its type byte says", () => {
  it("a night answer whose records are marked unsigned gives null AC power, not 2147483648 W", () => {
    const v = values(edited("ny-acpower-night", (r) => set(r, 0x00)));
    assert.deepEqual([v.acPowerL1, v.acPowerL2, v.acPowerL3], [null, null, null]);
  });

  it("a negative AC power marked unsigned stays negative (-5 W, not 4294967291 W)", () => {
    const v = values(edited("lsw-acpower-resp", (r, i) => set(r, 0x00, i === 0 ? -5 : undefined)));
    assert.deepEqual([v.acPowerL1, v.acPowerL2, v.acPowerL3], [-5, 55, 57]);
  });

  it("the unsigned 'no value' 0xFFFFFFFF in a signed value marked unsigned is null, not 4294967295 W", () => {
    const v = values(edited("lsw-acpower-resp", (r, i) => set(r, 0x00, i === 1 ? 0xffffffff : undefined)));
    assert.deepEqual([v.acPowerL1, v.acPowerL2, v.acPowerL3], [56, null, 57]);
  });

  it("an unsigned value (AC voltage) marked signed: 0xFFFFFFFF is null, not -0.01 V; 0x80000000 is null", () => {
    const v = values(
      edited("lsw-acvi-resp", (r, i) => {
        if (i === 0) set(r, 0x40, 0xffffffff);
        if (i === 1) set(r, 0x40, 0x80000000);
        if (i === 2) set(r, 0x00, 0x80000000);
      }),
    );
    assert.deepEqual([v.acVoltageL1, v.acVoltageL2, v.acVoltageL3], [null, null, null]);
    assert.equal(v.acVoltageL1L2, 396.65);
  });

  it("-1 in a signed value marked signed is a reading, not a sentinel", () => {
    const v = values(edited("lsw-acpower-resp", (r, i) => set(r, 0x40, i === 2 ? -1 : undefined)));
    assert.equal(v.acPowerL3, -1);
  });

  it("every real spot answer reads the same with its type bytes swapped (0x00 <-> 0x40)", () => {
    const spot = ["lsw-dcpower-resp", "lsw-dcvi-resp", "lsw-acpower-resp", "lsw-acvi-resp", "ny-acpower-night"];
    for (const id of spot) {
      const c = loadCaptures().find((x) => x.id === id);
      assert.ok(c, id);
      const swapped = edited(id, (r) => set(r, r.readUInt8(3) === 0x40 ? 0x00 : 0x40));
      assert.deepEqual(values(swapped), values(bytes(c)), id);
    }
  });
});

describe("a firmware record is read by the value table's type, whatever its type byte says", () => {
  const firmware = (type: number): ReadingValue => {
    const c = loadCaptures().find((x) => x.id === "lsw-swver-resp");
    assert.ok(c);
    const b = Buffer.from(bytes(c));
    assert.equal(b.readUInt16LE(RECORDS + 1), 0x8234);
    b.writeUInt8(type, RECORDS + 3);
    return values(b).firmware;
  };

  it("the capture's record (type 0x00) gives 3.10.10.R", () => {
    assert.equal(firmware(0x00), "3.10.10.R");
  });

  it("the same record marked 0x08 (status), as SBFspot's table has it, gives 3.10.10.R, not null", () => {
    assert.equal(firmware(0x08), "3.10.10.R");
  });
});
