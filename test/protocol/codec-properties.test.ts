/** Round trips and hostile input for the inverter codec (fast-check properties and a seeded fuzz run). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DecodeError,
  QUERIES,
  QUERY_NAMES,
  VALUES,
  buildLogin,
  buildQuery,
  decodeAnswer,
  decodeDiscoveryAnswer,
  decodeInverterDatagram,
  encodePassword,
  readingsOf,
  valuesOf,
  type ValueDef,
} from "../../src/protocol";
import { buildDataAnswer, buildRecord } from "../../src/simulator/answer-builders";
import { bytes, loadCaptures } from "../harness/fixtures";

const address = fc
  .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff }))
  .map(([susyId, serial]) => ({ susyId, serial }));

function onlyDecodeErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
  }
}

describe("round trips", () => {
  it("a query decodes to the command, range, addresses and packet id it was built with", () => {
    fc.assert(
      fc.property(
        address,
        address,
        fc.integer({ min: 1, max: 0x7fff }),
        fc.constantFrom(...QUERY_NAMES),
        (src, dst, id, q) => {
          const { header } = decodeInverterDatagram(
            buildQuery({ source: src, destination: dst, packetId: id, query: QUERIES[q] }),
          );
          assert.deepEqual(
            [header.source, header.destination, header.packetId, header.packetIdFlag],
            [src, dst, id, true],
          );
          assert.deepEqual(
            [header.command, header.first, header.last],
            [QUERIES[q].command, QUERIES[q].first, QUERIES[q].last],
          );
        },
      ),
    );
  });

  it("a password of up to 12 printable characters encodes to 12 bytes that decode back", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x20-\x7e]{0,12}$/), fc.constantFrom("user", "installer"), (pw, group) => {
        const key = group === "user" ? 0x88 : 0xbb;
        const enc = encodePassword(pw, group as "user" | "installer");
        assert.equal(enc.length, 12);
        const back = String.fromCharCode(...[...enc].slice(0, pw.length).map((b) => (b - key) & 0xff));
        assert.equal(back, pw);
      }),
    );
  });

  it("passwords the inverter cannot take are refused with a clear error, not truncated", () => {
    for (const pw of ["1234567890123", "pässword", "tab\there"]) {
      assert.throws(
        () => buildLogin({ source: { susyId: 1, serial: 1 }, packetId: 1, group: "user", password: pw, time: 0 }),
        (e: unknown) => e instanceof DecodeError && e.code === "EENCODE",
      );
    }
  });

  it("every numeric row of the value table survives record encode/decode, and null stays null", () => {
    const numeric = VALUES.filter((v) => v.type === "u32" || v.type === "s32" || v.type === "u64");
    const valueFor = (def: ValueDef) =>
      def.type === "s32" ? fc.integer({ min: -2_000_000, max: 2_000_000 }) : fc.integer({ min: 0, max: 4_000_000 });
    fc.assert(
      fc.property(
        fc
          .constantFrom(...numeric)
          .chain((d) => fc.tuple(fc.constant(d), fc.option(valueFor(d)), fc.integer({ min: 1, max: 4 }))),
        ([def, raw, cls]) => {
          const value = raw === null ? null : raw / def.scale;
          const rec = buildRecord(def, cls, value, 1_700_000_000);
          const answer = buildDataAnswer({
            source: { susyId: 1, serial: 2 },
            destination: { susyId: 3, serial: 4 },
            packetId: 5,
            command: QUERIES[def.query].command,
            firstIndex: 7,
            records: [rec, rec],
          });
          const got = valuesOf(readingsOf(decodeAnswer(answer).records));
          // Two records of one id: strings are numbered by the class byte, batteries by position (the first is 1, then 2).
          const name = def.indexed === "position" ? def.name + 1 : def.indexed ? def.name + cls : def.name;
          assert.equal(got[name], value === null ? null : Number(value.toFixed(6)));
          if (def.indexed === "position") assert.equal(got[def.name + 2], got[name]);
          // No float noise: at most the scale's decimals (1/100 -> 2), e.g. 230.01, never 230.01000000000002.
          if (typeof got[name] === "number")
            assert.ok((String(got[name]).split(".")[1] ?? "").length <= Math.log10(def.scale), String(got[name]));
        },
      ),
    );
  });
});

describe("hostile input", () => {
  it("random bytes never throw anything but DecodeError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (a) => {
        const b = Buffer.from(a);
        onlyDecodeErrors(() => decodeAnswer(b));
        onlyDecodeErrors(() => decodeDiscoveryAnswer(b));
      }),
      { numRuns: 20000 },
    );
  });

  it("1,000,000 mutated real packets (seeded): no exception but DecodeError, no sentinel as a number", () => {
    const seed = Number(process.env.SMA_FUZZ_SEED ?? Date.now() % 1_000_000);
    let state = seed >>> 0 || 1;
    const rand = (n: number): number => {
      state ^= state << 13;
      state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      return state % n;
    };
    const seeds = loadCaptures()
      .filter((c) => c.hex.startsWith("534d4100"))
      .map(bytes);
    try {
      for (let i = 0; i < 1_000_000; i++) {
        const base = seeds[rand(seeds.length)];
        let b = Buffer.from(base);
        switch (rand(5)) {
          case 0:
            b = b.subarray(0, rand(b.length + 1));
            break; // truncation
          case 1:
            for (let k = 0; k <= rand(4); k++) b[rand(b.length)] = rand(256);
            break; // flipped bytes
          case 2:
            b.writeUInt16BE(rand(0x10000), 12);
            break; // a lying data length
          case 3:
            if (b.length > 54) {
              b.writeUInt32LE(rand(64), 46);
              b.writeUInt32LE(rand(64), 50);
            }
            break; // lying record counts
          default:
            if (b.length > 54) b[54 + rand(b.length - 54)] = [0x00, 0x08, 0x10, 0x40][rand(4)]; // other record types
        }
        try {
          const v = valuesOf(readingsOf(decodeAnswer(b).records));
          for (const x of Object.values(v)) if (typeof x === "number") assert.ok(Number.isFinite(x));
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
        }
      }
    } catch (e) {
      console.error(`fuzz failed with seed ${seed} (rerun with SMA_FUZZ_SEED=${seed})`);
      throw e;
    }
  });
});
