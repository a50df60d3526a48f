/** Archive and event-log codec: the request's time range, both record layouts, yields and command families. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ARCHIVE_COMMANDS,
  ArchiveCommand,
  Command,
  DecodeError,
  EVENT_COMMANDS,
  QUERIES,
  QUERY_NAMES,
  answerCode,
  archiveRequestRange,
  buildArchiveRequest,
  decodeAnswer,
  decodeEventRecords,
  decodeInverterDatagram,
  decodeYieldRecords,
  encodeInverterDatagram,
  findQuery,
  isArchiveCommand,
  sameFamily,
  yieldPoints,
} from "../../src/protocol";

const me = { susyId: 0x7d, serial: 0x3a28be42 };
const inverter = { susyId: 0x17a, serial: 0xb371c3f6 };

function yieldRecord(time: number, total: bigint): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(time, 0);
  b.writeBigUInt64LE(total, 4);
  return b;
}

function eventRecord(f: {
  time: number;
  entryId: number;
  code: number;
  tag: number;
  group: number;
  args?: number[];
}): Buffer {
  const b = Buffer.alloc(48);
  b.writeInt32LE(f.time, 0);
  b.writeUInt16LE(f.entryId, 4);
  b.writeUInt16LE(inverter.susyId, 6);
  b.writeUInt32LE(inverter.serial, 8);
  b.writeUInt16LE(f.code, 12);
  b.writeUInt16LE(0x0002, 14);
  b.writeUInt32LE(f.group, 16);
  b.writeUInt32LE(f.tag, 24);
  b.writeUInt32LE(7, 28);
  (f.args ?? []).forEach((a, i) => b.writeUInt32LE(a, 32 + 4 * i));
  return b;
}

function answer(command: number, records: Buffer[]): Buffer {
  return encodeInverterDatagram({
    control: 0xa0,
    destination: me,
    destinationControl: 0xa100,
    source: inverter,
    sourceControl: 0x0100,
    packetId: 0x1234,
    command: answerCode(command),
    first: 0,
    last: records.length - 1,
    payload: Buffer.concat(records),
  });
}

describe("archive requests", () => {
  it("carry the command and the time range in Unix seconds at 46 and 50", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(ArchiveCommand)),
        fc.integer({ min: 0, max: 0xfffffff0 }),
        fc.integer({ min: 0, max: 15 }),
        (command, from, span) => {
          const buf = buildArchiveRequest({
            source: me,
            destination: inverter,
            packetId: 0x321,
            command,
            range: { from, to: from + span },
          });
          const { header } = decodeInverterDatagram(buf);
          assert.deepEqual(
            [header.command, header.first, header.last, header.packetId, header.packetIdFlag],
            [command, from, from + span, 0x321, true],
          );
          assert.equal(buf.length, 58);
        },
      ),
    );
  });

  it("refuse ranges that are no range (reversed, fractional, negative, past 2106)", () => {
    for (const range of [
      { from: 10, to: 9 },
      { from: 1.5, to: 9 },
      { from: -1, to: 9 },
      { from: 0, to: 2 ** 32 },
    ]) {
      assert.throws(
        () => buildArchiveRequest({ source: me, packetId: 1, command: ArchiveCommand.DAY, range }),
        (e: unknown) => e instanceof DecodeError && e.code === "EENCODE",
      );
    }
  });

  it("ask one slot before the first one wanted, on slot boundaries (day data); daily data padded by days on both sides", () => {
    const midnight = Date.UTC(2026, 5, 1) / 1000;
    assert.deepEqual(archiveRequestRange("day", { from: midnight, to: midnight + 86_399 }), {
      from: midnight - 300,
      to: midnight + 86_100,
    });
    assert.deepEqual(archiveRequestRange("day", { from: midnight + 301, to: midnight + 899 }), {
      from: midnight,
      to: midnight + 600,
    });
    assert.deepEqual(archiveRequestRange("month", { from: midnight + 5000, to: midnight + 3 * 86_400 }), {
      from: midnight + 5000 - 3 * 86_400,
      to: midnight + 5 * 86_400,
    });
    assert.deepEqual(archiveRequestRange("day", { from: 100, to: 200 }), { from: 0, to: 0 });
  });
});

describe("command families", () => {
  it("archive commands are not identify, nor any value query, and their answers are archive answers", () => {
    for (const c of Object.values(ArchiveCommand)) {
      assert.equal(sameFamily(c, Command.IDENTIFY), false, c.toString(16));
      assert.equal(findQuery(c, 0, 0), undefined);
      for (const n of QUERY_NAMES) assert.equal(sameFamily(c, QUERIES[n].command), false, `${c.toString(16)} ~ ${n}`);
      assert.ok(isArchiveCommand(c) && isArchiveCommand(answerCode(c)));
    }
    for (const n of QUERY_NAMES) assert.equal(isArchiveCommand(QUERIES[n].command), false, n);
    assert.equal(isArchiveCommand(Command.IDENTIFY), false);
    assert.equal(sameFamily(ArchiveCommand.DAY, ArchiveCommand.MONTH), false);
  });

  it("top nibbles 5 and 6 still name one query family, 0 and 7 do not mix with them or each other", () => {
    assert.ok(sameFamily(0x53800200, 0x63800200));
    assert.equal(findQuery(0x63800200, QUERIES.dcPower.first, QUERIES.dcPower.last), "dcPower");
    assert.equal(sameFamily(0x73800200, 0x53800200), false);
    assert.equal(sameFamily(0x00000200, 0x60000200), false);
    assert.ok(sameFamily(Command.IDENTIFY, Command.IDENTIFY));
  });
});

describe("day and month records (12 bytes)", () => {
  it("decode time and counter; all-ones and 0x8000.. are no value", () => {
    const t = 1_780_000_200;
    const a = decodeAnswer(
      answer(ArchiveCommand.DAY, [
        yieldRecord(t, 1_234_567n),
        yieldRecord(t + 300, 0xffffffffffffffffn),
        yieldRecord(t + 600, 0x8000000000000000n),
      ]),
    );
    assert.equal(a.records.length, 0, "not cut as value records");
    assert.deepEqual(decodeYieldRecords(a.payload), [
      { time: t, totalWh: 1_234_567 },
      { time: t + 300, totalWh: null },
      { time: t + 600, totalWh: null },
    ]);
  });

  it("a payload of no whole number of records is ERECORD, and decodeAnswer keeps archive answers it cannot cut as values", () => {
    assert.throws(
      () => decodeYieldRecords(Buffer.alloc(13)),
      (e: unknown) => e instanceof DecodeError && e.code === "ERECORD",
    );
    // Cut as value records, 7 records of 12 bytes are ERECORD: the transport would drop every archive answer.
    const recs = Array.from({ length: 7 }, (_, i) => yieldRecord(1_780_000_200 + 300 * i, BigInt(1000 + i)));
    const a = decodeAnswer(answer(ArchiveCommand.MONTH, recs));
    assert.equal(a.records.length, 0);
    assert.equal(decodeYieldRecords(a.payload).length, 7);
  });

  it("yields: differences of consecutive counters, power over the slot, baseline first, no falling counter, no gap value", () => {
    const t = 1_780_000_200;
    const points = yieldPoints(
      [
        { time: t + 600, totalWh: 1_000_250 }, // out of order
        { time: t, totalWh: 1_000_000 },
        { time: t + 300, totalWh: 1_000_100 },
        { time: t + 300, totalWh: 1_000_100 }, // repeated (fragment resent)
        { time: t + 900, totalWh: null },
        { time: t + 1200, totalWh: 999_000 }, // falls: left out
        { time: t + 1500, totalWh: 1_000_350 },
      ],
      "day",
    );
    assert.deepEqual(points, [
      { time: (t + 300) * 1000, totalYield: 1_000_100, yield: 100, power: 1200 },
      { time: (t + 600) * 1000, totalYield: 1_000_250, yield: 150, power: 1800 },
      { time: (t + 1500) * 1000, totalYield: 1_000_350, yield: 100, power: 400 },
    ]);
    assert.deepEqual(
      yieldPoints(
        [
          { time: t, totalWh: 5 },
          { time: t + 86_400, totalWh: 12_005 },
        ],
        "month",
      ),
      [{ time: (t + 86_400) * 1000, totalYield: 12_005, yield: 12_000, power: null }],
    );
    assert.deepEqual(yieldPoints([{ time: t, totalWh: 5 }], "day"), []);
  });

  it("never gives NaN, a negative yield or a sentinel for any counters", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            time: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
            totalWh: fc.option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
          }),
          { maxLength: 60 },
        ),
        (records) => {
          const points = yieldPoints(records, "day");
          let last = -Infinity;
          for (const p of points) {
            assert.ok(p.time > last && p.yield >= 0 && Number.isFinite(p.power as number));
            last = p.time;
          }
        },
      ),
    );
  });
});

describe("event records (48 bytes)", () => {
  it("decode every field; empty slots (time 0) are left out", () => {
    const t = 1_780_000_000;
    const a = decodeAnswer(
      answer(EVENT_COMMANDS.installer, [
        eventRecord({ time: t, entryId: 1, code: 10_001, tag: 1_234, group: 0x05, args: [1, 2, 3, 4] }),
        eventRecord({ time: 0, entryId: 0, code: 0, tag: 0, group: 0 }),
        eventRecord({ time: t + 60, entryId: 2, code: 10_250, tag: 0xffffffff, group: 0x0a }),
      ]),
    );
    assert.equal(a.records.length, 0);
    const events = decodeEventRecords(a.payload);
    assert.deepEqual(events[0], {
      time: t,
      entryId: 1,
      susyId: inverter.susyId,
      serial: inverter.serial,
      code: 10_001,
      flags: 2,
      group: 5,
      tag: 1_234,
      counter: 7,
      args: [1, 2, 3, 4],
    });
    assert.deepEqual(
      events.map((e) => e.entryId),
      [1, 2],
    );
  });

  it("a payload of no whole number of events is ERECORD; random payloads throw nothing else", () => {
    assert.throws(
      () => decodeEventRecords(Buffer.alloc(47)),
      (e: unknown) => e instanceof DecodeError && e.code === "ERECORD",
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 480 }), (a) => {
        for (const decode of [decodeEventRecords, decodeYieldRecords]) {
          try {
            decode(Buffer.from(a));
          } catch (e) {
            if (!(e instanceof DecodeError)) throw e;
          }
        }
      }),
    );
  });

  it("the two kinds of archive commands are all the archive commands", () => {
    assert.deepEqual(
      new Set([...Object.values(ARCHIVE_COMMANDS), ...Object.values(EVENT_COMMANDS)]),
      new Set(Object.values(ArchiveCommand)),
    );
  });
});
