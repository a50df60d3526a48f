/**
 * String records (the device name, 0x821E) as real devices send them: SMA's STR32 is UTF-8. The name a user gives the
 * device in its web interface came out without its non-ASCII letters ("Süd-Dach" as "Sd-Dach"), without an error.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bytes, loadCaptures } from "../harness/fixtures";
import { decodeAnswer, decodeRecord, readingsOf, valuesOf, VALUES } from "../../src/protocol";
import { buildRecord } from "../../src/simulator/answer-builders";

/** lsw-typelabel-resp (STP 5.0-3AV-40) with its name record's 32 text bytes replaced by `name`, NUL-padded. */
function typeLabelNamed(name: Buffer): Buffer {
  const c = loadCaptures().find((x) => x.id === "lsw-typelabel-resp");
  assert.ok(c);
  const b = Buffer.from(bytes(c));
  const text = b.subarray(54 + 8, 54 + 40);
  assert.equal(b.readUInt16LE(54 + 1), 0x821e);
  text.fill(0);
  name.copy(text, 0, 0, 32);
  return b;
}

const nameOf = (b: Buffer): unknown => valuesOf(readingsOf(decodeAnswer(b).records)).deviceName;

describe("device names are UTF-8", () => {
  it("the names of the real captures are unchanged", () => {
    for (const [id, name] of [
      ["lsw-typelabel-resp", "SN: 3010538116"],
      ["ny-typelabel-resp", "SN: 305054146"],
    ]) {
      const c = loadCaptures().find((x) => x.id === id);
      assert.ok(c);
      assert.equal(nameOf(bytes(c)), name, id);
    }
  });

  it("a name with umlauts keeps them (Süd-Dach 2, not Sd-Dach 2)", () => {
    assert.equal(nameOf(typeLabelNamed(Buffer.from("Süd-Dach 2", "utf8"))), "Süd-Dach 2");
    assert.equal(nameOf(typeLabelNamed(Buffer.from("Garage Ost ☀", "utf8"))), "Garage Ost ☀");
  });

  it("bytes that are no UTF-8 are read as Latin-1 (0xFC is ü)", () => {
    assert.equal(nameOf(typeLabelNamed(Buffer.from("Süd", "latin1"))), "Süd");
  });

  it("a UTF-8 name that fills the 32 bytes, cut inside its last character, stays UTF-8 (not read as Latin-1)", () => {
    const full = Buffer.from("Wechselrichter Süd-Dach Garageü", "utf8");
    assert.equal(full.length, 33, "the ü's second byte does not fit");
    assert.equal(nameOf(typeLabelNamed(full.subarray(0, 32))), "Wechselrichter Süd-Dach Garage");
    const euro = Buffer.from("Anlage Süd 2 ".padEnd(30, "x") + "€", "utf8");
    assert.equal(nameOf(typeLabelNamed(euro.subarray(0, 32))), "Anlage Süd 2 ".padEnd(30, "x"));
  });

  it("control and bidi-override characters are dropped", () => {
    assert.equal(nameOf(typeLabelNamed(Buffer.from("A\u202eB\u0007C\u001b[2J", "utf8"))), "ABC[2J");
  });

  it("the simulator sends a name as UTF-8, cut at a whole character within 32 bytes", () => {
    const def = VALUES.find((d) => d.name === "deviceName");
    assert.ok(def);
    const read = (name: string): unknown =>
      valuesOf(readingsOf([decodeRecord(buildRecord(def, 1, name, 1_700_000_000))])).deviceName;
    assert.equal(read("Süd-Dach"), "Süd-Dach");
    const rec = buildRecord(def, 1, "Süd-Dach", 1_700_000_000);
    const utf8 = Buffer.from("Süd-Dach\0", "utf8");
    assert.deepEqual(rec.subarray(8, 8 + utf8.length), utf8);
    assert.equal(read("ü".repeat(17)), "ü".repeat(16));
  });
});
