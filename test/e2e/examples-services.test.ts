/**
 * The example flows "Publish readings to MQTT" and "Write readings to InfluxDB" as a user runs them: imported
 * from examples/, only the inverter, broker and InfluxDB addresses (and the password) edited, deployed through
 * the admin API into real Node-RED processes with the packed package installed, against a real Mosquitto and a
 * real InfluxDB 1.x on 127.0.0.1. What arrives at the broker and in the database is compared with the
 * simulators' values. Two Node-RED instances (Node-RED 4.1 / Node 20 and Node-RED 5 / Node 22), each reading its
 * own simulated inverter, publish to the one broker and write to the one database: the way users scale out.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { connect, type MqttClient } from "mqtt";
import { startNodeRed, type NodeRedHandle } from "../harness/nodered";
import { assertAvailable, isCI, runtimes, skipLocally, until, type Runtime } from "../harness/runtimes";
import { influxdMissing, mosquittoMissing, startInfluxDb, startMosquitto, type Service } from "../harness/services";
import { packPackage } from "../harness/pack";
import { repoRoot } from "../harness/fixtures";
import { edit, importExamples, loadExample, type FlowNode } from "../harness/examples";
import { SimulatedInverter } from "../../src/simulator";
import type { ReadingValue } from "../../src/protocol";

type Values = Record<string, ReadingValue>;

const MQTT_EXAMPLE = "Publish readings to MQTT.json";
const INFLUX_EXAMPLE = "Write readings to InfluxDB.json";
/** The database the InfluxDB example writes to; a user creates it before deploying (the example's comment). */
const DATABASE = "sma";

// node-red-contrib-influxdb is a devDependency of this repo: Node-RED loads it from there through `nodesDir`,
// as if the user had installed it from the palette (no network needed).
const INFLUX_NODES_DIR = path.join(repoRoot(), "node_modules", "node-red-contrib-influxdb");

/** Import > Examples: each example comes with its own tab and its own config nodes. */
function only(flows: FlowNode[], type: string, file?: string): FlowNode {
  const ids = file ? new Set(loadExample(file).map((n) => n.id)) : undefined;
  const matching = flows.filter((n) => n.type === type && (!ids || ids.has(n.id)));
  assert.equal(matching.length, 1, `one ${type} node${file ? " in " + file : ""}`);
  return matching[0];
}

/** The sma-spot-ac payload for the simulator's values (3 phases), null where the inverter has no value. */
function acPayload(v: Values): Record<string, ReadingValue> {
  return {
    power: v.acPower,
    powerL1: v.acPowerL1,
    powerL2: v.acPowerL2,
    powerL3: v.acPowerL3,
    voltageL1: v.acVoltageL1,
    voltageL2: v.acVoltageL2,
    voltageL3: v.acVoltageL3,
    currentL1: v.acCurrentL1,
    currentL2: v.acCurrentL2,
    currentL3: v.acCurrentL3,
    frequency: v.gridFrequency,
  };
}

function energyPayload(v: Values): Record<string, ReadingValue> {
  return { totalYield: v.totalYield, dayYield: v.dayYield, operatingTime: v.operatingTime, feedInTime: v.feedInTime };
}

const withValue = (o: Record<string, ReadingValue>): Record<string, ReadingValue> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));

interface Received {
  topic: string;
  payload: string;
}

async function subscribe(broker: Service, topic: string): Promise<{ client: MqttClient; messages: Received[] }> {
  const client = connect(broker.url, {
    clientId: `sma-examples-${process.pid}`,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  const messages: Received[] = [];
  client.on("message", (t, payload) => messages.push({ topic: t, payload: payload.toString("utf8") }));
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return { client, messages };
}

async function influxQuery(
  influx: Service,
  q: string,
  db?: string,
): Promise<{ series?: { columns: string[]; values: unknown[][] }[]; error?: string }> {
  const res = await fetch(`${influx.url}/query`, {
    method: "POST",
    body: new URLSearchParams({ q, ...(db ? { db } : {}) }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const result = (
    JSON.parse(text) as { results: { series?: { columns: string[]; values: unknown[][] }[]; error?: string }[] }
  ).results[0];
  assert.equal(result.error, undefined, q);
  return result;
}

/** Every point of measurement `sma` tagged with this serial, as { column: value } without the time. */
async function points(influx: Service, serial: number): Promise<Record<string, unknown>[]> {
  const r = await influxQuery(influx, `SELECT * FROM "sma" WHERE "serial" = '${serial}'`, DATABASE);
  const s = r.series?.[0];
  if (!s) return [];
  return s.values.map((row) => Object.fromEntries(s.columns.map((c, i) => [c, row[i]]).filter(([c]) => c !== "time")));
}

/** A point as written: its non-null columns. */
const written = (p: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(p).filter(([, v]) => v !== null));
const isAc = (p: Record<string, unknown>): boolean => p.frequency !== null && p.frequency !== undefined;
const isEnergy = (p: Record<string, unknown>): boolean => p.totalYield !== null && p.totalYield !== undefined;

/** Polls an async check every 200 ms until it gives a value. */
async function poll<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Node-RED 4.1 / Node 20 and Node-RED 5 / Node 22; locally without the latter, two Node-RED 4.1 instances. */
function instanceRuntimes(): Runtime[] {
  const [nr41, nr5] = runtimes();
  assertAvailable(nr41.missing);
  if (nr5.missing && !isCI()) return [nr41, { ...nr41, name: `${nr41.name} (second instance: ${nr5.missing})` }];
  assertAvailable(nr5.missing);
  return [nr41, nr5];
}

interface Instance {
  rt: Runtime;
  sim: SimulatedInverter;
  nr: NodeRedHandle;
  flows: FlowNode[];
}

test(
  "examples: two Node-RED instances publish their inverters' readings to one MQTT broker and write them to one InfluxDB",
  { skip: skipLocally(mosquittoMissing() ?? influxdMissing()), timeout: 240_000 },
  async (t) => {
    assertAvailable(mosquittoMissing() ?? influxdMissing());
    const rts = instanceRuntimes();
    const [broker, influx] = await Promise.all([startMosquitto(), startInfluxDb()]);
    t.after(() => Promise.all([broker.stop(), influx.stop()]));
    await influxQuery(influx, `CREATE DATABASE ${DATABASE}`);

    // Inverter A has no value for the L3 current (a field the InfluxDB example must drop, the MQTT one send as null).
    const sims = [
      new SimulatedInverter({
        address: "127.0.0.1",
        port: 0,
        serial: 1900000001,
        userPassword: "Pv-Secret1",
        values: { acCurrentL3: null },
      }),
      new SimulatedInverter({ address: "127.0.0.1", port: 0, serial: 1900000002, userPassword: "Pv-Secret2" }),
    ];
    await Promise.all(sims.map((s) => s.start()));
    t.after(() => Promise.all(sims.map((s) => s.stop())));
    const sub = await subscribe(broker, "sma/#");
    t.after(() => sub.client.endAsync(true));

    const tgz = await packPackage();
    const nrs = await Promise.all(
      rts.map((rt) =>
        startNodeRed({
          nodeBinary: rt.node,
          nodeRedDir: rt.nodeRedDir,
          installPackageTgz: tgz,
          settings: { nodesDir: [INFLUX_NODES_DIR] },
        }),
      ),
    );
    t.after(() => Promise.all(nrs.map((nr) => nr.stop().catch(() => undefined))));
    const instances: Instance[] = [];
    try {
      for (const [i, nr] of nrs.entries()) {
        const sets = await nr.nodeTypes();
        for (const module of ["@speedwire/node-red-sma", "node-red-contrib-influxdb"]) {
          assert.ok(
            sets.some((s) => s.module === module && !s.err),
            `${rts[i].name}: ${module} loaded: ${JSON.stringify(sets.filter((s) => s.err))}`,
          );
        }
        // Import both examples, then what the user edits: inverter host, port and password, broker, InfluxDB server.
        const flows = importExamples([MQTT_EXAMPLE, INFLUX_EXAMPLE]);
        const sim = sims[i];
        edit(
          flows,
          "sma-inverter",
          { host: "127.0.0.1", port: sim.port },
          { password: sim.options.userPassword ?? "" },
        );
        edit(flows, "mqtt-broker", { broker: "127.0.0.1", port: String(broker.port) });
        edit(flows, "influxdb", { hostname: "127.0.0.1", port: String(influx.port), database: DATABASE });
        await nr.deploy(flows);
        instances.push({ rt: rts[i], sim, nr, flows });
      }

      // --- day: every value there, except inverter A's L3 current ---
      const latest = (topic: string, from = 0): Received | undefined =>
        sub.messages
          .slice(from)
          .reverse()
          .find((m) => m.topic === topic);
      const topicsOf = (serial: number): string[] => [
        `sma/${serial}/ac`,
        `sma/${serial}/ac/power`,
        `sma/${serial}/energy`,
      ];
      const counts = async (serial: number): Promise<{ ac: number; energy: number }> => {
        const r = await points(influx, serial);
        return { ac: r.filter(isAc).length, energy: r.filter(isEnergy).length };
      };
      // The examples read by themselves 2 s after the deploy (inject "once"), then every 30 s / every minute.
      for (const { rt, nr, flows, sim } of instances) {
        await nr.waitForStatus(only(flows, "mqtt out").id, (s) => s.fill === "green", 15_000);
        for (const topic of topicsOf(sim.serial))
          await until(`${rt.name}: ${topic} after the deploy`, () => latest(topic), 20_000);
        await poll(
          `${rt.name}: first points of ${sim.serial} in InfluxDB`,
          async () => {
            const c = await counts(sim.serial);
            return c.ac > 0 && c.energy > 0 ? c : undefined;
          },
          20_000,
        );
      }
      // Then the user clicks the injects.
      const mark = sub.messages.length;
      const before = await Promise.all(instances.map(({ sim }) => counts(sim.serial)));
      for (const { nr, flows } of instances) {
        for (const file of [MQTT_EXAMPLE, INFLUX_EXAMPLE]) await nr.inject(only(flows, "inject", file).id);
      }
      for (const [i, { rt, sim }] of instances.entries()) {
        const want = sim.currentValues();
        const [acTopic, powerTopic, energyTopic] = topicsOf(sim.serial);
        const ac = await until(`${acTopic} after the inject`, () => latest(acTopic, mark), 20_000);
        assert.deepEqual(JSON.parse(ac.payload), acPayload(want), `${rt.name}: ${acTopic}`);
        const power = await until(`${powerTopic} after the inject`, () => latest(powerTopic, mark), 20_000);
        assert.equal(JSON.parse(power.payload), want.acPower, `${rt.name}: ${powerTopic}`);
        const energy = await until(`${energyTopic} after the inject`, () => latest(energyTopic, mark), 20_000);
        assert.deepEqual(JSON.parse(energy.payload), energyPayload(want), `${rt.name}: ${energyTopic}`);

        await poll(
          `${rt.name}: the inject's points of ${sim.serial} in InfluxDB`,
          async () => {
            const c = await counts(sim.serial);
            return c.ac > before[i].ac && c.energy > before[i].energy ? c : undefined;
          },
          20_000,
        );
        for (const p of await points(influx, sim.serial)) {
          assert.ok(isAc(p) !== isEnergy(p), `a point is either AC or energy: ${JSON.stringify(p)}`);
          const fields = isAc(p) ? withValue(acPayload(want)) : withValue(energyPayload(want));
          assert.deepEqual(
            written(p),
            { ...fields, serial: String(sim.serial) },
            `${rt.name}: InfluxDB point ${JSON.stringify(p)}`,
          );
        }
      }
      assert.equal(
        JSON.parse(latest(`sma/${sims[0].serial}/ac`)?.payload ?? "{}").currentL3,
        null,
        "a missing value is JSON null on MQTT",
      );
      assert.deepEqual(
        [...new Set(sub.messages.map((m) => m.topic))].sort(),
        instances.flatMap(({ sim }) => topicsOf(sim.serial)).sort(),
        "topics: one set per inverter serial, nothing else",
      );
      const [a] = instances;
      assert.ok(
        (await points(influx, a.sim.serial)).filter(isAc).every((p) => p.currentL3 === null),
        "the missing L3 current is not written (not 0)",
      );

      // --- night at inverter A: the spot values have no value, the counters have ---
      const from = sub.messages.length;
      const pointsBefore = await points(influx, a.sim.serial);
      const acReadsBefore = a.sim.stats.queries.acPowerTotal ?? 0;
      a.sim.setNight(true);
      const night = a.sim.currentValues();
      assert.equal(night.acPower, null);
      for (const file of [MQTT_EXAMPLE, INFLUX_EXAMPLE]) await a.nr.inject(only(a.flows, "inject", file).id);
      const base = `sma/${a.sim.serial}`;
      const ac = await until(`${base}/ac at night`, () => latest(`${base}/ac`, from), 20_000);
      assert.deepEqual(JSON.parse(ac.payload), acPayload(night), "at night the AC fields are JSON null");
      assert.ok(Object.values(acPayload(night)).every((v) => v === null));
      const power = await until(`${base}/ac/power at night`, () => latest(`${base}/ac/power`, from), 20_000);
      assert.equal(power.payload, "null", "at night the power topic carries JSON null, not 0 and not an empty message");
      const energy = await until(`${base}/energy at night`, () => latest(`${base}/energy`, from), 20_000);
      assert.deepEqual(JSON.parse(energy.payload), energyPayload(night));

      // Both examples' AC reads have been answered; the InfluxDB example writes the energy point and no AC point.
      await until(
        "the AC reads at night",
        () => ((a.sim.stats.queries.acPowerTotal ?? 0) > acReadsBefore ? true : undefined),
        20_000,
      );
      await poll(
        "the night's energy point in InfluxDB",
        async () => {
          const r = await points(influx, a.sim.serial);
          return r.filter(isEnergy).length > pointsBefore.filter(isEnergy).length ? r : undefined;
        },
        20_000,
      );
      await new Promise((r) => setTimeout(r, 1000)); // an AC write, were there one, lands meanwhile
      const after = await points(influx, a.sim.serial);
      assert.ok(
        after.filter(isEnergy).length > pointsBefore.filter(isEnergy).length,
        "the night's energy point is written",
      );
      assert.equal(
        after.filter(isAc).length,
        pointsBefore.filter(isAc).length,
        "no AC point of null values (and none of zeros)",
      );
      for (const p of after.filter(isEnergy))
        assert.deepEqual(written(p), { ...energyPayload(night), serial: String(a.sim.serial) });
      for (const { rt, nr } of instances) {
        assert.doesNotMatch(
          nr.log(),
          /\[(error|warn)\] \[(influxdb out|mqtt out|mqtt-broker|function|sma-[a-z-]+):/,
          `${rt.name}: no node errors`,
        );
      }
    } catch (err) {
      for (const { rt, nr } of instances) t.diagnostic(`${rt.name} log:\n${nr.log()}`);
      t.diagnostic(`broker log:\n${broker.log()}\nmessages: ${JSON.stringify(sub.messages)}`);
      throw err;
    }
  },
);

const FILL_EXAMPLE = "Fill gaps in InfluxDB after downtime.json";

/** The 5-minute points in `sma` of this serial newer than `after` (ms), with their time in ms. */
async function archivePoints(influx: Service, serial: number, after: number): Promise<Record<string, number>[]> {
  const q = `SELECT "totalYield", "yield", "power" FROM "sma" WHERE "serial" = '${serial}' AND time > ${after}ms`;
  const res = await fetch(`${influx.url}/query`, {
    method: "POST",
    body: new URLSearchParams({ q, db: DATABASE, epoch: "ms" }),
  });
  assert.equal(res.status, 200);
  const s = ((await res.json()) as { results: { series?: { columns: string[]; values: number[][] }[] }[] }).results[0]
    .series?.[0];
  return s ? s.values.map((row) => Object.fromEntries(s.columns.map((c, i) => [c, row[i]]))) : [];
}

test(
  "example 'Fill gaps in InfluxDB after downtime': after three hours without Node-RED, the deploy writes the missing 5-minute points",
  { skip: skipLocally(influxdMissing()), timeout: 180_000 },
  async (t) => {
    assertAvailable(influxdMissing());
    const [rt] = runtimes();
    assertAvailable(rt.missing);
    const influx = await startInfluxDb();
    t.after(() => influx.stop());
    await influxQuery(influx, `CREATE DATABASE ${DATABASE}`);
    const serial = 1900000003;
    const sim = new SimulatedInverter({
      address: "127.0.0.1",
      port: 0,
      serial,
      userPassword: "Pv-Secret3",
      timeVarying: true,
    });
    await sim.start();
    t.after(() => sim.stop());
    // The counter the inverter's energy query reported at time t (an independent oracle: the live value path).
    const counterAt = (ms: number): number =>
      new SimulatedInverter({ serial, timeVarying: true, clock: () => new Date(ms) }).currentValues()
        .totalYield as number;

    // The flow ran until three hours ago: its last 5-minute point is there, then the outage.
    const lastBefore = Math.floor(Date.now() / 300_000) * 300_000 - 3 * 3600_000;
    const seed = `sma,serial=${serial} totalYield=${counterAt(lastBefore)},yield=1,power=12 ${lastBefore}`;
    const w = await fetch(`${influx.url}/write?db=${DATABASE}&precision=ms`, { method: "POST", body: seed });
    assert.equal(w.status, 204, await w.text());

    const nr = await startNodeRed({
      nodeBinary: rt.node,
      nodeRedDir: rt.nodeRedDir,
      installPackageTgz: await packPackage(),
      settings: { nodesDir: [INFLUX_NODES_DIR] },
    });
    t.after(() => nr.stop().catch(() => undefined));
    try {
      const flows = loadExample(FILL_EXAMPLE);
      assert.equal(flows.filter((n) => n.type === "tab").length, 1, "the example brings its own tab");
      edit(flows, "sma-inverter", { host: "127.0.0.1", port: sim.port }, { password: "Pv-Secret3" });
      edit(flows, "influxdb", { hostname: "127.0.0.1", port: String(influx.port), database: DATABASE });
      await nr.deploy(flows);
      // The inject fires 5 s after the deploy: every slot after the last point up to now, 36 or 37 of them.
      const got = await poll(
        "the missing 5-minute points in InfluxDB",
        async () => {
          const p = await archivePoints(influx, serial, lastBefore);
          return p.length >= 36 ? p : undefined;
        },
        60_000,
      );
      assert.ok(got.length <= 37, `${got.length} points`);
      got.forEach((p, i) => {
        assert.equal(p.time, lastBefore + (i + 1) * 300_000, "one point per 5-minute slot, none missing");
        const wh = counterAt(p.time) - counterAt(p.time - 300_000);
        assert.deepEqual(
          [p.totalYield, p.yield, p.power],
          [counterAt(p.time), wh, Math.round(wh * 12)],
          `point at ${new Date(p.time).toISOString()}`,
        );
      });
      // Run again (the hourly inject): nothing is missing, nothing is written twice.
      await nr.inject(only(flows, "inject").id);
      await new Promise((r) => setTimeout(r, 3000));
      const again = await archivePoints(influx, serial, lastBefore);
      assert.ok(again.length - got.length <= 1, "at most the slot that ended meanwhile");
      assert.equal(new Set(again.map((p) => p.time)).size, again.length);
      assert.doesNotMatch(
        nr.log(),
        /\[(error|warn)\] \[(influxdb in|influxdb out|function|sma-[a-z-]+):/,
        "no node errors",
      );
    } catch (err) {
      t.diagnostic(`Node-RED log:\n${nr.log()}`);
      throw err;
    }
  },
);
