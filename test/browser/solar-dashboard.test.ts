/**
 * The example "Solar dashboard" as a user runs it: imported from examples/, only the inverter's host, port and
 * password and the meter's address edited, deployed into a real Node-RED with the packed package and FlowFuse
 * Dashboard 2.0, /dashboard opened in headless Chromium. The simulated hybrid inverter and meter measure one plant
 * (PlantModel) at a fixed time: the energy flow, gauges and texts must show the plant's figures, today's yield the
 * inverter's day counter, the other figures of today the counters' growth since Node-RED started, labelled "since
 * HH:MM", the charts exactly the archive's records (also after a reload); at night the PV reads "no value", never 0.
 */
import { test, type TestContext } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import type { Page } from "playwright-core";
import { chromiumMissing, collectConsoleErrors, launchBrowser, screenshot } from "../harness/browser";
import { startNodeRed } from "../harness/nodered";
import { freeUdpPort, runtimes, skipLocally, type Runtime } from "../harness/runtimes";
import { packPackage } from "../harness/pack";
import { repoRoot } from "../harness/fixtures";
import { edit, loadExample } from "../harness/examples";
import { PlantModel, SimulatedInverter, SimulatedMeter, localMidnight, plantMeterValues } from "../../src/simulator";

const EXAMPLE = "Solar dashboard.json";
const DASHBOARD_DIR = path.join(repoRoot(), "node_modules", "@flowfuse", "node-red-dashboard");
// Dashboard 1.31's gauge redraws once hidden (display: none, size 0), and its d3 code logs negative <rect> sizes.
const HIDDEN_GAUGE_NOISE = /<rect> attribute (width|height): A negative value is not valid/;

/** The visible text of a widget (empty when hidden), whitespace collapsed. */
async function widgetText(page: Page, id: string): Promise<string> {
  const w = page.locator(`#nrdb-ui-widget-${id}`);
  return (await w.isVisible()) ? (await w.innerText()).replace(/\s+/g, " ").trim() : "";
}

async function waitFor<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const numberIn = (text: string): number => {
  const m = /(-?\d+(?:\.\d+)?)/.exec(text.replace(/,/g, ""));
  return m ? Number(m[1]) : NaN;
};

/**
 * Points ({time, ...}) the browser received for a chart over the dashboard's socket.io connection, per event, in
 * order. socket.io starts on HTTP long-polling and upgrades to a websocket: an event sent before the upgrade (a
 * reload's widget-load reply, sent at once from the dashboard's store) arrives in a polling response, so both are read.
 */
function chartFrames(page: Page, widgetId: string): Record<string, number>[][] {
  const frames: Record<string, number>[][] = [];
  const points = (v: unknown, out: Record<string, number>[]): void => {
    if (Array.isArray(v)) v.forEach((x) => points(x, out));
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (typeof o.time === "number" && ("yield" in o || "power" in o)) out.push(o as Record<string, number>);
      else Object.values(o).forEach((x) => points(x, out));
    }
  };
  // One engine.io packet: "42[event, ...data]" is a socket.io event.
  const packet = (text: string): void => {
    if (!text.includes(widgetId)) return;
    const at = text.indexOf("[");
    if (at < 0) return;
    try {
      const [event, ...data] = JSON.parse(text.slice(at)) as [string, ...unknown[]];
      if (!String(event).includes(widgetId)) return;
      const out: Record<string, number>[] = [];
      points(data, out);
      if (out.length > 0) frames.push(out);
    } catch {
      // not a socket.io event packet
    }
  };
  page.on("websocket", (ws) => ws.on("framereceived", ({ payload }) => packet(String(payload))));
  // A polling response holds packets separated by the record separator (0x1e).
  page.on("response", (res) => {
    if (res.request().method() !== "GET" || !/\/socket\.io\/\?.*transport=polling/.test(res.url())) return;
    res.text().then(
      (body) => body.split("\x1e").forEach(packet),
      () => undefined,
    );
  });
  return frames;
}

/** Pixels of a colour (#rrggbb, ±40 per channel) on a widget's canvases. */
async function pixels(page: Page, id: string, colour: string): Promise<number> {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
  return (await page.evaluate(`(() => {
    let n = 0;
    for (const canvas of document.querySelectorAll(${JSON.stringify(`#nrdb-ui-widget-${id} canvas`)})) {
      const ctx = canvas.getContext("2d");
      if (!ctx || canvas.width === 0 || canvas.height === 0) continue;
      const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - ${r}) <= 40 && Math.abs(d[i + 1] - ${g}) <= 40 && Math.abs(d[i + 2] - ${b}) <= 40) n++;
    }
    return n;
  })()`)) as number;
}

/** Relative luminance (0 dark .. 1 light) of the energy flow's PV value and of the first opaque background behind it. */
async function flowColours(page: Page): Promise<{ text: number; background: number }> {
  return (await page.evaluate(`(() => {
    const lum = (css) => {
      const [r, g, b] = (css.match(/[\\d.]+/g) || ["0", "0", "0"]).slice(0, 3).map((v) => Number(v) / 255)
        .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const el = document.querySelector("#sma-flow-pv");
    let bg = el;
    while (bg && (getComputedStyle(bg).backgroundColor === "rgba(0, 0, 0, 0)" || getComputedStyle(bg).backgroundColor === "transparent")) bg = bg.parentElement;
    return { text: lum(getComputedStyle(el).fill), background: lum(bg ? getComputedStyle(bg).backgroundColor : "rgb(255, 255, 255)") };
  })()`)) as { text: number; background: number };
}

async function runSolar(t: TestContext, rt: Runtime): Promise<void> {
  const plant = new PlantModel({ pvPeakW: 5000, batteryWh: 5000, maxChargeW: 2500, maxDischargeW: 2500 });
  // Today 09:30: PV, the battery charging, a house; later 10:30 for today's figures.
  const today = new Date();
  let now = new Date(today.getFullYear(), today.getMonth(), today.getDate(), 9, 30, 10);
  const sim = new SimulatedInverter({
    address: "127.0.0.1",
    port: 0,
    profile: "hybrid",
    phases: 3,
    strings: 2,
    batteries: 1,
    timeVarying: true,
    plant,
    clock: () => now,
    userPassword: "Solar-Pw1",
  });
  await sim.start();
  t.after(() => sim.stop());
  const meterPort = await freeUdpPort();
  const meter = new SimulatedMeter({
    address: "127.0.0.1",
    port: meterPort,
    bindAddress: "127.0.0.1",
    intervalMs: 500,
    values: () => plantMeterValues(plant, now),
  });
  t.after(() => meter.stop());

  const nr = await startNodeRed({
    nodeBinary: rt.node,
    nodeRedDir: rt.nodeRedDir,
    installPackageTgz: await packPackage(),
    settings: { nodesDir: [DASHBOARD_DIR] },
  });
  t.after(() => nr.stop());
  const flows = loadExample(EXAMPLE);
  edit(flows, "sma-inverter", { host: "127.0.0.1", port: sim.port }, { password: "Solar-Pw1" });
  edit(flows, "sma-energy-meter", { group: "127.0.0.1", port: meterPort });
  await meter.start();

  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
  const errors = collectConsoleErrors(page);
  const month = chartFrames(page, "solar-chart-month");
  const day = chartFrames(page, "solar-chart-day");
  const tag = rt.name.replace(/[^\w]+/g, "-").toLowerCase();
  try {
    const deployed = Date.now();
    await nr.deploy(flows);
    await page.goto(nr.url + "dashboard", { waitUntil: "domcontentloaded", timeout: 30_000 });
    const st = plant.at(now);
    assert.ok(
      st.pvW > 1000 && st.chargeW > 0 && st.houseW > 0,
      `a sunny morning, charging: ${JSON.stringify({ ...st, counters: undefined })}`,
    );
    const v = sim.currentValues() as Record<string, number>;

    // --- now: the energy flow, gauges and texts show the plant ---
    const flowText = async (): Promise<Record<string, string>> =>
      Object.fromEntries(
        await Promise.all(
          ["pv", "house", "grid", "battery"].map(async (k) => [
            k,
            (await page.locator(`#sma-flow-${k}`).textContent({ timeout: 30_000 })) ?? "",
          ]),
        ),
      );
    const shown = await waitFor("the energy flow", flowText, (x) => Object.values(x).every((s) => /^\d+ W$/.test(s)));
    assert.deepEqual(
      Object.fromEntries(Object.entries(shown).map(([k, s]) => [k, numberIn(s)])),
      { pv: st.pvW, house: st.houseW, grid: Math.abs(st.gridW), battery: st.chargeW },
      "PV, house, grid and battery as the plant has them",
    );
    assert.equal(
      v.acPower + v.batteryChargePower - v.batteryDischargePower,
      st.pvW,
      "PV = the inverter's AC power + charge - discharge",
    );
    const gauge = page.locator("#nrdb-ui-widget-solar-gauge-pv");
    await waitFor(
      "the PV gauge's scale",
      async () => (await gauge.innerText()).replace(/\s+/g, " "),
      (s) => /\b5000\b/.test(s),
    );
    // The gauge counts up to its value: wait for it.
    await waitFor(
      "the PV gauge",
      async () => numberIn(await gauge.locator(".nrdb-ui-gauge-value span").innerText()),
      (x) => x === st.pvW,
    );
    assert.match(
      await widgetText(page, "solar-gauge-soc"),
      new RegExp(`\\b${Math.round(st.soc ?? -1)}\\s*%`),
      "the battery gauge",
    );
    assert.equal(await widgetText(page, "solar-text-battery"), `Battery power charging ${st.chargeW} W`);
    assert.equal(await widgetText(page, "solar-text-house"), `House ${st.houseW} W`);
    assert.equal(
      await widgetText(page, "solar-text-grid"),
      st.gridW >= 0 ? `Grid import ${Math.round(st.gridW)} W` : `Grid export ${Math.round(-st.gridW)} W`,
    );

    // --- the charts: exactly the archive's records ---
    const wantPv = (ms: number): number => Math.round(plant.at(new Date(ms)).counters.pv);
    const bars = (
      await waitFor(
        "the month chart's data",
        async () => month.at(-1) ?? [],
        (x) => x.length >= 29,
      )
    ).map((p) => [p.time, p.yield]);
    const lastDay = localMidnight(now.getTime() / 1000) * 1000 - 86_400_000;
    assert.equal(bars.at(-1)?.[0], lastDay, "the last bar is yesterday");
    for (const [time, wh] of bars) {
      const next = new Date(time);
      next.setDate(next.getDate() + 1);
      assert.equal(wh, wantPv(next.getTime()) - wantPv(time), `the bar of ${new Date(time).toDateString()}`);
    }
    const curve = (
      await waitFor(
        "the day chart's data",
        async () => day.at(-1) ?? [],
        (x) => x.length > 0,
      )
    ).map((p) => [p.time, p.power]);
    const midnight = localMidnight(now.getTime() / 1000) * 1000;
    assert.equal(curve[0][0], midnight, "today's curve starts at midnight (the slot 23:55-00:00)");
    for (const [time, w] of curve)
      assert.equal(
        w,
        Math.round(((wantPv(time) - wantPv(time - 300_000)) * 3600) / 300),
        `the 5-minute mean at ${new Date(time).toTimeString()}`,
      );
    await waitFor(
      "bars drawn",
      () => pixels(page, "solar-chart-month", "#f8b334"),
      (n) => n > 2000,
    );
    await waitFor(
      "the curve drawn",
      () => pixels(page, "solar-chart-day", "#f8b334"),
      (n) => n > 100,
    );
    t.diagnostic(
      `${bars.length} daily bars, ${curve.length} 5-minute points; screenshot: ${await screenshot(page, `solar-dashboard-${tag}`)}`,
    );

    // A reload: the same history at once, from the dashboard's store (the archive is not read again).
    const asked = sim.stats.queries.monthData ?? 0;
    month.length = 0;
    await page.reload({ waitUntil: "domcontentloaded" });
    const again = await waitFor(
      "the month chart after a reload",
      async () => month.at(-1) ?? [],
      (x) => x.length > 0,
    );
    assert.deepEqual(
      again.map((p) => [p.time, p.yield]),
      bars,
    );
    assert.equal(sim.stats.queries.monthData ?? 0, asked);

    // --- an hour later: today's figures are the counters' growth ---
    const before = { inv: sim.currentValues() as Record<string, number>, met: plantMeterValues(plant, now) };
    now = new Date(now.getTime() + 3_600_000);
    const after = { inv: sim.currentValues() as Record<string, number>, met: plantMeterValues(plant, now) };
    const grew = (k: string): number => after.inv[k] - before.inv[k];
    const imp = after.met.energyImport - before.met.energyImport;
    const exp = after.met.energyExport - before.met.energyExport;
    const yld = grew("totalYield");
    const house = yld + imp - exp + grew("batteryDischargeTotal") - grew("batteryChargeTotal");
    const houseWh = plant.at(now).counters.house - plant.at(new Date(now.getTime() - 3_600_000)).counters.house;
    assert.ok(
      Math.abs(house - houseWh) < 3,
      `the counters add up to the house's consumption: ${house} / ${houseWh} Wh`,
    );
    // The meter node passes a frame every 5 s: once it shows the new grid power, read the inverter.
    const st2 = plant.at(now);
    await waitFor(
      "the new grid power",
      () => widgetText(page, "solar-text-grid"),
      (s) => numberIn(s) === Math.round(Math.abs(st2.gridW)),
    );
    await nr.inject("solar-every-5s");
    const kwh = (wh: number): string => (wh / 1000).toFixed(2) + " kWh";
    const texts = async (): Promise<string[]> =>
      Promise.all(["yield", "consumption", "self", "autarky"].map((k) => widgetText(page, `solar-text-${k}`)));
    // The yield is the inverter's own day counter (since the simulated midnight); the others count from the first
    // reads after Node-RED started (its memory context has no midnight values) and say so: "since HH:MM", the
    // time of those reads on this machine's clock.
    const since = / since (\d\d:\d\d)$/;
    const want = [
      `Yield today ${kwh(after.inv.dayYield)}`,
      `House consumption today ${kwh(house)}`,
      `Self-consumption ${Math.round((100 * (yld - exp)) / yld)} %`,
      `Autarky ${Math.round((100 * (house - imp)) / house)} %`,
    ];
    const shownToday = await waitFor(`today's figures (want ${JSON.stringify(want)})`, texts, (x) =>
      x.every((s, i) => (i === 0 ? s === want[0] : since.test(s) && s.replace(since, "") === want[i])),
    );
    const minutes = new Set<string>();
    for (let ms = deployed - 60_000; ms <= Date.now() + 60_000; ms += 30_000)
      minutes.add(new Date(ms).toTimeString().slice(0, 5));
    for (const s of shownToday.slice(1))
      assert.ok(minutes.has(since.exec(s)?.[1] ?? ""), `"${s}": since the first reads after the deploy`);

    // --- no answer at all (switched off, network down): the page must not keep the last reading as if it were now ---
    const pvText = async (): Promise<string> => (await page.locator("#sma-flow-pv").textContent()) ?? "";
    sim.setSleeping(true);
    await nr.inject("solar-every-5s");
    await waitFor("PV while the inverter does not answer", pvText, (s) => s === "no value", 60_000);
    assert.equal(await page.locator("#sma-flow-house").textContent(), "no value");
    await waitFor(
      "battery while the inverter does not answer",
      () => widgetText(page, "solar-text-battery"),
      (s) => s === "Battery power no value",
      30_000,
    );
    sim.setSleeping(false);
    await nr.inject("solar-every-5s");
    await waitFor("PV once the inverter answers again", pvText, (s) => s !== "no value", 60_000);
    await waitFor(
      "battery once the inverter answers again",
      () => widgetText(page, "solar-text-battery"),
      (s) => s !== "Battery power no value",
      30_000,
    );

    // --- night: the inverter has no AC value; the page says so instead of 0 ---
    sim.setNight(true);
    await nr.inject("solar-every-5s");
    await waitFor(
      "PV at night",
      async () => (await page.locator("#sma-flow-pv").textContent()) ?? "",
      (s) => s === "no value",
    );
    assert.equal(await page.locator("#sma-flow-house").textContent(), "no value");
    await gauge.waitFor({ state: "hidden", timeout: 10_000 });
    assert.equal(await widgetText(page, "solar-text-house"), "House no value");
    assert.match(
      await widgetText(page, "solar-text-battery"),
      /^Battery power (charging \d+ W|discharging \d+ W|idle)$/,
      "the battery keeps its value",
    );
    t.diagnostic("screenshot: " + (await screenshot(page, `solar-dashboard-night-${tag}`)));
    const light = await flowColours(page);
    assert.ok(light.text < 0.2 && light.background > 0.8, `dark text on the light theme: ${JSON.stringify(light)}`);

    // --- a dark dashboard theme: the diagram's text follows it (light on dark), no colour of its own ---
    const dark = flows.map((n) =>
      n.type === "ui-theme"
        ? {
            ...n,
            colors: {
              ...(n.colors as Record<string, string>),
              surface: "#1e1e1e",
              bgPage: "#121212",
              groupBg: "#1e1e1e",
              groupOutline: "#444444",
            },
          }
        : n,
    );
    await nr.deploy(dark);
    await page.reload({ waitUntil: "domcontentloaded" });
    await page.locator("#sma-flow-pv").waitFor({ timeout: 30_000 });
    const colours = await waitFor(
      "light text on the dark theme",
      () => flowColours(page),
      (c) => c.text > 0.6 && c.background < 0.1,
    );
    t.diagnostic(
      `luminance of the diagram's text / background: light theme ${light.text.toFixed(2)} / ${light.background.toFixed(2)}, ` +
        `dark ${colours.text.toFixed(2)} / ${colours.background.toFixed(2)}; screenshot: ${await screenshot(page, `solar-dashboard-dark-${tag}`)}`,
    );
  } catch (err) {
    await screenshot(page, `solar-dashboard-failure-${tag}`).catch(() => undefined);
    t.diagnostic("Node-RED log:\n" + nr.log());
    throw err;
  }
  // The one warning the outage above gives (the inverter did not answer) is expected; nothing else may warn.
  const outage = /\[warn\] \[sma-[a-z-]+:[^\]]*\] no answer from 127\.0\.0\.1:\d+ after \d+ attempt/;
  const logged = nr
    .log()
    .split("\n")
    .filter((line) => !outage.test(line))
    .join("\n");
  assert.doesNotMatch(logged, /\[(error|warn)\] \[(ui-[a-z-]+|function|change|switch|sma-[a-z-]+):/, "no node errors");
  assert.deepEqual(
    errors.filter((e) => !HIDDEN_GAUGE_NOISE.test(e)),
    [],
    "no console errors on the dashboard page",
  );
}

test(
  "Solar dashboard example: energy flow, gauges and today's figures are the plant's; the charts are the archive's",
  { skip: skipLocally(chromiumMissing()), timeout: 300_000 },
  async (t) => {
    for (const rt of runtimes()) {
      await t.test(rt.name, { skip: skipLocally(rt.missing) }, async (st) => {
        if (rt.missing) throw new Error(rt.missing);
        await runSolar(st, rt);
      });
    }
  },
);
