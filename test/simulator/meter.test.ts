/**
 * SimulatedMeter: frames with the real layout, a plausible default profile, timing, duplicates and garbage,
 * received with a plain UDP socket on 127.0.0.1 (no listener code involved).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { Protocol } from "../../src/protocol/constants";
import { DecodeError } from "../../src/protocol/errors";
import { decodeMeterDatagram, METER_VARIANTS, type MeterVariant } from "../../src/protocol/meter";
import { houseProfile, SimulatedMeter, type SimulatedMeterOptions } from "../../src/simulator/meter";

const LOCAL = "127.0.0.1";
const VARIANTS: MeterVariant[] = ["emeter10", "emeter20", "shm20"];
const meters: SimulatedMeter[] = [];
const sockets: dgram.Socket[] = [];

after(async () => {
  await Promise.all(meters.map((m) => m.stop()));
  await Promise.all(sockets.map((s) => new Promise<void>((res) => s.close(() => res()))));
});

function sim(opts: SimulatedMeterOptions = {}): SimulatedMeter {
  const m = new SimulatedMeter({ address: LOCAL, port: 9, bindAddress: LOCAL, ...opts });
  meters.push(m);
  return m;
}

/** A plain receiver on 127.0.0.1:<ephemeral> that keeps every datagram. */
async function receiver(): Promise<{ port: number; got: Buffer[] }> {
  const s = dgram.createSocket("udp4");
  sockets.push(s);
  const got: Buffer[] = [];
  s.on("message", (m) => got.push(m));
  await new Promise<void>((res) => s.bind(0, LOCAL, () => res()));
  return { port: s.address().port, got };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`condition not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const isMeterFrame = (b: Buffer): boolean => {
  try {
    decodeMeterDatagram(b);
    return true;
  } catch (e) {
    assert.ok(e instanceof DecodeError, String(e));
    return false;
  }
};

describe("SimulatedMeter frames", () => {
  it("have the length, SUSyID and firmware of each variant, and of 0x6081", () => {
    for (const variant of VARIANTS) {
      const f = sim({ variant, serial: 123 }).buildFrame();
      assert.equal(f.bytes.length, METER_VARIANTS[variant].length, variant);
      assert.equal(f.datagram.susyId, METER_VARIANTS[variant].susyId);
      assert.equal(f.datagram.firmware, METER_VARIANTS[variant].firmware);
      assert.equal(f.datagram.serial, 123);
      assert.equal(f.datagram.values.frequency !== undefined, METER_VARIANTS[variant].frequency);
    }
    const ext = sim({ variant: "shm20", protocol: Protocol.METER_EXTENDED }).buildFrame();
    assert.equal(ext.bytes.length, 610);
    assert.equal(ext.datagram.protocol, Protocol.METER_EXTENDED);
  });

  it("advance the ticker with the clock and integrate energy counters from power", () => {
    let t = 1_000_000;
    const m = sim({
      clock: () => t,
      startTickerMs: 500,
      values: { powerImport: 3600, powerExportL2: 360, voltageL1: 230 },
    });
    const first = m.buildFrame().datagram;
    t += 3_600_000; // one hour
    const second = m.buildFrame().datagram;
    assert.equal(first.tickerMs, 500);
    assert.equal(second.tickerMs, 500 + 3_600_000);
    assert.equal(first.values.energyImport, 0);
    assert.equal(second.values.energyImport, 3600);
    assert.equal(second.values.energyExportL2, 360);
    assert.equal(second.values.voltageL1, 230);
    assert.equal(second.power, 3600);
    const third = m.buildFrame().datagram; // same millisecond: a new ticker all the same
    assert.equal(third.tickerMs, second.tickerMs + 1);
  });

  it("the default profile imports at night, exports around noon, and always encodes", () => {
    const day = new Date(2024, 5, 21); // local midnight, the profile uses local time
    for (const variant of VARIANTS) {
      for (let min = 0; min < 24 * 60; min += 10) {
        const at = new Date(day.getTime() + min * 60_000);
        const d = sim({ variant, clock: () => at.getTime() }).buildFrame().datagram;
        assert.equal(d.unknownChannels, 0);
        assert.ok((d.values.voltageL1 ?? 0) > 220 && (d.values.voltageL1 ?? 0) < 245, `voltage at ${at.toString()}`);
      }
    }
    const night = houseProfile(new Date(2024, 5, 21, 2, 0));
    const noon = houseProfile(new Date(2024, 5, 21, 13, 0));
    assert.ok(night.powerImport > 100 && night.powerExport === 0, JSON.stringify(night));
    assert.ok(noon.powerExport > 1000 && noon.powerImport === 0, JSON.stringify(noon));
  });
});

describe("SimulatedMeter on the wire", () => {
  it("sends at the configured interval until stopped", async () => {
    const { port, got } = await receiver();
    const m = sim({ port, intervalMs: 40, variant: "emeter20", serial: 77 });
    await m.start();
    await until(() => got.length >= 3);
    await m.stop();
    const count = got.length;
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(got.length, count, "nothing after stop()");
    const tickers = got.map((b) => decodeMeterDatagram(b).tickerMs);
    assert.ok(
      tickers.every((tk, i) => i === 0 || tk > tickers[i - 1]),
      `tickers increase: ${tickers.join()}`,
    );
    assert.ok(got.every((b) => decodeMeterDatagram(b).serial === 77));
  });

  it("sendNow returns exactly what went on the wire", async () => {
    const { port, got } = await receiver();
    const m = sim({ port });
    const frame = await m.sendNow();
    await until(() => got.length === 1);
    assert.ok(got[0].equals(frame.bytes));
    assert.deepEqual(decodeMeterDatagram(got[0]), frame.datagram);
    assert.equal(m.sent, 1);
  });

  it("sends every frame twice with duplicate: true", async () => {
    const { port, got } = await receiver();
    const m = sim({ port, duplicate: true });
    await m.sendNow();
    await m.sendNow();
    await until(() => got.length === 4);
    assert.ok(got[0].equals(got[1]) && got[2].equals(got[3]));
    assert.ok(!got[0].equals(got[2]));
  });

  it("sends a non-meter datagram after each frame with garbage: true", async () => {
    const { port, got } = await receiver();
    const m = sim({ port, garbage: true });
    for (let i = 0; i < 4; i++) await m.sendNow();
    await until(() => got.length === 8);
    const kinds = got.map(isMeterFrame);
    assert.deepEqual(kinds, [true, false, true, false, true, false, true, false]);
  });

  it("reports a bad profile as an error event while running, without throwing", async () => {
    const { port } = await receiver();
    const m = sim({ port, intervalMs: 20, values: { notAField: 1 } });
    const err = new Promise<Error>((res) => m.once("error", res));
    await m.start();
    const e = await err;
    assert.ok(e instanceof DecodeError && e.code === "EENCODE");
    await m.stop();
  });
});
