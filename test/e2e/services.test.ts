/** The private Mosquitto and InfluxDB instances the e2e tests use: start, round trip, stop. */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { influxdMissing, mosquittoMissing, startInfluxDb, startMosquitto } from "../harness/services";
import { skipLocally } from "../harness/runtimes";

// The `mqtt` package ships in node-red's dependency tree; the few members used here.
interface MqttClient {
  on(event: string, cb: (...args: unknown[]) => void): void;
  subscribe(topic: string, opts: { qos: 0 | 1 | 2 }, cb: (err: Error | null) => void): void;
  publish(topic: string, payload: string, opts: { qos: 0 | 1 | 2 }, cb: (err?: Error) => void): void;
  end(force: boolean, opts: object, cb: () => void): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mqtt = require("mqtt") as { connect(url: string, opts: object): MqttClient };

test(
  "mosquitto: publish/subscribe round trip on loopback",
  { skip: skipLocally(mosquittoMissing()), timeout: 30_000 },
  async (t) => {
    const broker = await startMosquitto();
    t.after(() => broker.stop());
    assert.ok(broker.port > 0);
    const client = mqtt.connect(broker.url, {
      clientId: "sma-e2e-" + process.pid,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    t.after(() => new Promise<void>((r) => client.end(true, {}, r)));
    await new Promise<void>((resolve, reject) => {
      client.on("connect", () => resolve());
      client.on("error", (e) => reject(e instanceof Error ? e : new Error(String(e))));
    });
    const received = new Promise<{ topic: string; payload: string }>((resolve) => {
      client.on("message", (topic, payload) => resolve({ topic: String(topic), payload: String(payload) }));
    });
    await new Promise<void>((resolve, reject) =>
      client.subscribe("sma/test/#", { qos: 1 }, (e) => (e ? reject(e) : resolve())),
    );
    await new Promise<void>((resolve, reject) =>
      client.publish("sma/test/power", JSON.stringify({ w: 1234 }), { qos: 1 }, (e) => (e ? reject(e) : resolve())),
    );
    const msg = await received;
    assert.equal(msg.topic, "sma/test/power");
    assert.deepEqual(JSON.parse(msg.payload), { w: 1234 });
  },
);

test(
  "influxdb: create db, write a line, query it back",
  { skip: skipLocally(influxdMissing()), timeout: 60_000 },
  async (t) => {
    const influx = await startInfluxDb();
    t.after(() => influx.stop());
    const q = async (query: string, db?: string): Promise<unknown> => {
      const params = new URLSearchParams({ q: query, ...(db ? { db } : {}) });
      const res = await fetch(`${influx.url}/query`, { method: "POST", body: params });
      assert.equal(res.status, 200, await res.clone().text());
      return res.json();
    };
    await q("CREATE DATABASE sma_e2e");
    const write = await fetch(`${influx.url}/write?db=sma_e2e&precision=s`, {
      method: "POST",
      body: "power,device=sim1 ac_w=1234i,dc_w=1300.5 1700000000\n",
    });
    assert.equal(write.status, 204, await write.text());
    const result = await q("SELECT ac_w, dc_w, device FROM power", "sma_e2e");
    const series = (result as { results: { series?: { columns: string[]; values: unknown[][] }[] }[] }).results[0]
      .series;
    assert.ok(series && series.length === 1, JSON.stringify(result));
    assert.deepEqual(series[0].columns, ["time", "ac_w", "dc_w", "device"]);
    assert.deepEqual(series[0].values, [["2023-11-14T22:13:20Z", 1234, 1300.5, "sim1"]]);
  },
);
