/** The device-time record (command 0xF000020A) decodes to what the real plant capture holds; nothing else passes for one. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bytes, loadCaptures } from "../harness/fixtures";
import {
  DEVICE_TIME_COMMAND,
  DecodeError,
  buildLogin,
  buildQuery,
  decodeDeviceTime,
  decodeInverterDatagram,
  isDeviceTimeHeader,
  QUERIES,
} from "../../src/protocol";

interface TimeRecord {
  device_time_utc: string;
  last_set_utc: string;
  tz_offset_s: number;
  dst: boolean;
  set_counter: number;
}
const withTime = loadCaptures().filter((c) => (c.derived as { time_record?: unknown } | null | undefined)?.time_record);

describe("device-time record", () => {
  it("the real captures decode to their time, last setting, zone offset, DST flag and counter", () => {
    assert.ok(withTime.length > 0, "a device-time capture is in test/fixtures/captures.json");
    for (const c of withTime) {
      const want = c.derived as { time_record: TimeRecord; src: { susy_id: number; serial: number } };
      const t = decodeDeviceTime(bytes(c));
      assert.equal(
        t.time !== null ? new Date(t.time * 1000).toISOString() : null,
        want.time_record.device_time_utc,
        c.id,
      );
      assert.equal(
        t.lastSet !== null ? new Date(t.lastSet * 1000).toISOString() : null,
        want.time_record.last_set_utc,
        c.id,
      );
      assert.equal(t.tzOffsetS, want.time_record.tz_offset_s, c.id);
      assert.equal(t.dst, want.time_record.dst, c.id);
      assert.equal(t.setCounter, want.time_record.set_counter, c.id);
      assert.deepEqual(t.source, { susyId: want.src.susy_id, serial: want.src.serial }, c.id);
      assert.ok(isDeviceTimeHeader(decodeInverterDatagram(bytes(c)).header));
    }
  });

  it("other datagrams and cut records are refused with DecodeError", () => {
    const source = { susyId: 1, serial: 2 };
    const query = buildQuery({ source, packetId: 1, query: QUERIES.energy });
    const login = buildLogin({ source, packetId: 1, group: "user", password: "0000", time: 1 });
    for (const d of [query, login]) {
      assert.equal(isDeviceTimeHeader(decodeInverterDatagram(d).header), false);
      assert.throws(() => decodeDeviceTime(d), DecodeError);
    }
    const real = bytes(withTime[0]);
    // The same header with the record cut after 3 of its 6 words (length fields kept consistent).
    const cut = Buffer.from(real.subarray(0, 54 + 16));
    const short = Buffer.concat([cut, Buffer.alloc(4)]);
    short.writeUInt16BE(short.length - 20, 12);
    short.writeUInt8((short.length - 20 - 2) / 4, 18);
    assert.equal(short.readUInt32LE(42), DEVICE_TIME_COMMAND);
    assert.throws(() => decodeDeviceTime(short), DecodeError);
  });

  it("a zone west of UTC decodes as a negative offset; zero times are null, not 1970", () => {
    const d = Buffer.from(bytes(withTime[0]));
    d.writeInt32LE(-5 * 3600 + 1, 54 + 16);
    d.writeUInt32LE(0, 54 + 4);
    d.writeUInt32LE(0xffffffff, 54 + 8);
    const t = decodeDeviceTime(d);
    assert.equal(t.tzOffsetS, -18000);
    assert.equal(t.dst, true);
    assert.equal(t.time, null);
    assert.equal(t.lastSet, null);
  });
});
