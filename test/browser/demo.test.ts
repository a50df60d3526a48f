/**
 * `npm start` as a newcomer meets it: scripts/start.js itself (its own user dir and editor port, so a developer's
 * .node-red-demo is not touched) opened in headless Chromium. Readings in the Debug sidebar within 30 s, one tab
 * per example, no node over another, Search finds the simulator, a node installed the palette's way keeps the
 * package's file: link; a restart keeps the user's flows and credentials (and follows a simulator that had to move),
 * --reset starts over.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Browser, Page } from "playwright-core";
import { chromiumMissing, collectConsoleErrors, launchBrowser, openEditor, screenshot } from "../harness/browser";
import { startDemo, type Demo } from "../harness/demo";
import { exampleFiles, injectInterval, intervalInName, loadExample, type FlowNode } from "../harness/examples";
import { repoRoot } from "../harness/fixtures";
import { freePort, skipLocally } from "../harness/runtimes";

const PKG = "@speedwire/node-red-sma";
const SPOT = "Spot AC and DC every 30 seconds";

async function api(demo: Demo, method: string, p: string, body?: unknown): Promise<unknown> {
  const res = await fetch(demo.url + p, {
    method,
    headers: { Accept: "application/json", "Content-Type": "application/json", "Node-RED-API-Version": "v2" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${p}: ${res.status} ${text}`);
  return /json/.test(res.headers.get("content-type") ?? "") ? (JSON.parse(text) as unknown) : text;
}

const flowsOf = async (demo: Demo): Promise<{ flows: FlowNode[]; rev: string }> =>
  (await api(demo, "GET", "flows")) as { flows: FlowNode[]; rev: string };
const serialOf = (demo: Demo): string => /Simulated SMA inverter (\d+) on/.exec(demo.output())?.[1] ?? "?";

/** A page on the demo's editor whose requests stay on loopback: the palette catalogue is answered with an empty one. */
async function openDemo(browser: Browser, demo: Demo, external: string[]): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (/^(http|ws):\/\/127\.0\.0\.1[:/]/.test(url) || url.startsWith("data:")) return route.continue();
    external.push(url);
    return url.startsWith("https://catalogue.nodered.org/")
      ? route.fulfill({ json: { name: "stand-in", updated_at: new Date().toISOString(), modules: [] } })
      : route.abort();
  });
  const errors = collectConsoleErrors(page);
  await openEditor(page, demo.url);
  return { page, errors };
}

/** Debug sidebar entries of a topic, as the user sees them ("<topic> : msg.payload : Object"). */
function debugEntries(page: Page, topic: string): ReturnType<Page["locator"]> {
  const re = new RegExp(`^${topic.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} : `);
  return page
    .locator("#red-ui-sidebar .red-ui-debug-msg")
    .filter({ has: page.locator(".red-ui-debug-msg-topic", { hasText: re }) });
}

/** Boxes (node, ports, label, status) of the nodes drawn on each tab that overlap another's. */
async function overlapsOnTabs(page: Page, tabs: FlowNode[]): Promise<string[]> {
  const found: string[] = [];
  for (const tab of tabs) {
    await page.evaluate(`RED.workspaces.show(${JSON.stringify(tab.id)})`);
    await page.waitForTimeout(300);
    const boxes =
      (await page.evaluate(`[...document.querySelectorAll("#red-ui-workspace-chart .red-ui-flow-node-group")].map((g) => {
      const r = g.getBoundingClientRect();
      return { id: g.id, l: r.left, r: r.right, t: r.top, b: r.bottom };
    })`)) as { id: string; l: number; r: number; t: number; b: number }[];
    assert.ok(boxes.length > 1, `${String(tab.label)}: nodes drawn`);
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        if (a.l < b.r - 1 && b.l < a.r - 1 && a.t < b.b - 1 && b.t < a.b - 1)
          found.push(`${String(tab.label)}: ${a.id} / ${b.id}`);
      }
    }
  }
  return found;
}

/** A node package as a user might install from the palette: one trivial node type, installed from its folder. */
function fixturePackage(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({
      name: "node-red-contrib-sma-demo-fixture",
      version: "1.0.0",
      keywords: ["node-red"],
      "node-red": { nodes: { "sma-demo-fixture": "fixture.js" } },
    }),
  );
  fs.writeFileSync(
    path.join(dir, "fixture.js"),
    'module.exports = (RED) => RED.nodes.registerType("sma-demo-fixture", function (c) { RED.nodes.createNode(this, c); });\n',
  );
  fs.writeFileSync(
    path.join(dir, "fixture.html"),
    '<script type="text/javascript">RED.nodes.registerType("sma-demo-fixture", ' +
      '{ category: "function", color: "#ddd", defaults: {}, inputs: 1, outputs: 0, label: function () { return "fixture"; } });</script>\n',
  );
  return dir;
}

async function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });
}

test(
  "npm start: live readings in the Debug sidebar of a real browser; flows kept across restarts, --reset starts over",
  { skip: skipLocally(chromiumMissing()), timeout: 360_000 },
  async (t) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sma-demo-test-"));
    const userDir = path.join(tmp, "user");
    t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const browser = await launchBrowser();
    t.after(() => browser.close());
    const external: string[] = [];

    // --- first start: the editor port is taken, so the next free one above it is used ---
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
    t.after(() => taken.close());
    const takenPort = (taken.address() as net.AddressInfo).port;
    const demo = await startDemo(userDir, takenPort);
    t.after(async () => void (await demo.stop()));
    let page: Page | undefined;
    try {
      assert.ok(
        demo.port > takenPort && demo.port <= takenPort + 20,
        `editor on ${demo.port}, the next free port above ${takenPort}`,
      );
      assert.match(demo.output(), /Demo flows deployed, one tab per example/);

      // One tab per example, named after it; every node on an existing tab; inject names say their interval.
      const { flows } = await flowsOf(demo);
      const tabs = flows.filter((n) => n.type === "tab");
      const names = exampleFiles().map((f) => f.replace(/\.json$/, ""));
      assert.ok(tabs.length >= 5, `${tabs.length} tabs`);
      for (const tab of tabs)
        assert.ok(names.includes(String(tab.label)), `tab "${String(tab.label)}" is an example's name`);
      assert.equal(new Set(tabs.map((n) => n.label)).size, tabs.length, "each example once");
      const tabIds = new Set(tabs.map((n) => n.id));
      for (const n of flows)
        if ("x" in n) assert.ok(tabIds.has(String(n.z)), `${n.type} ${n.id} on an existing tab (z ${String(n.z)})`);
      for (const n of flows.filter((m) => m.type === "inject")) {
        const said = intervalInName(String(n.name));
        assert.equal(
          said === "once" ? undefined : said,
          injectInterval(n),
          `inject "${String(n.name)}" fires as its name says`,
        );
      }
      assert.equal(
        flows.filter((n) => n.type === "sma-inverter").length,
        1,
        "one inverter configuration, shared by every tab",
      );

      // The editor asks nothing (no telemetry or update prompt); Search finds the simulator.
      assert.equal(((await api(demo, "GET", "settings")) as { telemetryEnabled?: unknown }).telemetryEnabled, false);
      const found = (await api(demo, "GET", "sma-speedwire/discover")) as { serial: number }[];
      assert.deepEqual(
        found.map((d) => String(d.serial)),
        [serialOf(demo)],
        "Search lists the simulated inverter",
      );

      // The browser: the Debug sidebar is in front and shows readings within 30 s.
      const opened = await openDemo(browser, demo, external);
      page = opened.page;
      const started = Date.now();
      await page.locator("#red-ui-sidebar .red-ui-debug-msg").first().waitFor({ state: "visible", timeout: 30_000 });
      t.diagnostic(`first reading in the Debug sidebar ${Date.now() - started} ms after the editor opened`);
      await debugEntries(page, "sma/3000000001/meter").first().waitFor({ timeout: 30_000 });
      const spot = flows.find((n) => n.type === "inject" && n.z === tabs.find((tab) => tab.label === SPOT)?.id);
      assert.ok(spot, "the spot example's inject");
      await api(demo, "POST", `inject/${spot.id}`);
      await debugEntries(page, `sma/${serialOf(demo)}/ac`)
        .first()
        .waitFor({ timeout: 15_000 });
      const text = await page.locator("#red-ui-sidebar .red-ui-debug-msg").allInnerTexts();
      assert.ok(
        text.some((s) => /power: -?\d+/.test(s)),
        `readings with numbers: ${text.slice(0, 3).join(" | ")}`,
      );
      t.diagnostic("screenshot: " + (await screenshot(page, "demo-debug-sidebar")));
      assert.deepEqual(await overlapsOnTabs(page, tabs), [], "no node hides another in the editor");
      // The examples the demo does not deploy, imported as from the library (each brings its tab). Their shared config
      // node is there already: the editor reports the conflict and the user keeps the one there (View nodes..., the
      // config node unticked, Import selected: it is left out and the new nodes use it; ids stay).
      const others = exampleFiles()
        .filter((f) => !tabs.some((tab) => `${String(tab.label)}.json` === f))
        .map(loadExample);
      for (const nodes of others) {
        await page.evaluate(
          `RED.view.importNodes(${JSON.stringify(nodes)}.filter((n) => !RED.nodes.node(n.id)), { generateIds: false, addFlow: false })`,
        );
      }
      assert.equal(
        await page.evaluate(
          `(() => { let c = 0; RED.nodes.eachConfig((n) => { if (n.id === "sma-inverter-shared") c++; }); return c; })()`,
        ),
        1,
        "one shared inverter configuration after importing the other examples",
      );
      assert.deepEqual(
        await overlapsOnTabs(
          page,
          others.map((nodes) => nodes.find((n) => n.type === "tab") as FlowNode),
        ),
        [],
        "no node hides another in the other examples",
      );

      // A node installed the palette's way (Node-RED runs npm in the user dir) keeps this package's file: link.
      await api(demo, "POST", "nodes", { module: fixturePackage(path.join(tmp, "fixture")) });
      const link = path.join(userDir, "node_modules", ...PKG.split("/"));
      assert.ok(fs.lstatSync(link).isSymbolicLink(), "still a link");
      assert.equal(fs.realpathSync(link), fs.realpathSync(repoRoot()));
      const deps = (
        JSON.parse(fs.readFileSync(path.join(userDir, "package.json"), "utf8")) as {
          dependencies: Record<string, string>;
        }
      ).dependencies;
      assert.match(deps[PKG], /^file:/);
      assert.ok("node-red-contrib-sma-demo-fixture" in deps, JSON.stringify(deps));
      const sets = (await api(demo, "GET", "nodes")) as { module: string; err?: unknown }[];
      assert.ok(
        sets.some((s) => s.module === PKG) && sets.filter((s) => s.module === PKG).every((s) => !s.err),
        "the package's nodes still loaded",
      );
      assert.ok(
        sets.some((s) => s.module === "node-red-contrib-sma-demo-fixture"),
        "the installed node loaded",
      );
      assert.deepEqual(opened.errors, [], "no console errors");

      // The user changes the flows: the next start keeps that.
      const current = await flowsOf(demo);
      const mine = current.flows.map((n) => (n.type === "tab" && n.label === SPOT ? { ...n, label: "my flow" } : n));
      await api(demo, "POST", "flows", { flows: mine, rev: current.rev });
    } catch (err) {
      if (page) await screenshot(page, "demo-failure").catch(() => undefined);
      t.diagnostic("demo output:\n" + demo.output());
      throw err;
    }
    assert.equal(await demo.stop(), 0, "Ctrl-C ends the demo cleanly");
    assert.ok(await portClosed(demo.port), "Node-RED stopped with it");

    // --- second start: flows and credentials kept; the inverter's port taken meanwhile, the flows follow the simulator ---
    const state = JSON.parse(fs.readFileSync(path.join(userDir, "demo-state.json"), "utf8")) as {
      inverterPort: number;
    };
    const blocker = dgram.createSocket("udp4");
    await new Promise<void>((r) => blocker.bind(state.inverterPort, "127.0.0.1", () => r()));
    t.after(() => blocker.close());
    const again = await startDemo(userDir, await freePort());
    t.after(async () => void (await again.stop()));
    try {
      assert.match(again.output(), /Your flows from .* \(npm start -- --reset deploys the demo flows again\)/);
      const { flows } = await flowsOf(again);
      assert.ok(
        flows.some((n) => n.type === "tab" && n.label === "my flow"),
        "the user's change is kept",
      );
      const config = flows.find((n) => n.type === "sma-inverter");
      const moved = JSON.parse(fs.readFileSync(path.join(userDir, "demo-state.json"), "utf8")) as {
        inverterPort: number;
      };
      assert.notEqual(moved.inverterPort, state.inverterPort, "the simulator had to take another port");
      assert.equal(Number(config?.port), moved.inverterPort, "the kept flows point at it");
      const opened = await openDemo(browser, again, external);
      const spot = flows.find((n) => n.type === "inject" && n.z === flows.find((m) => m.label === "my flow")?.id);
      await api(again, "POST", `inject/${String(spot?.id)}`);
      await debugEntries(opened.page, `sma/${serialOf(again)}/ac`)
        .first()
        .waitFor({ timeout: 15_000 });
      assert.deepEqual(opened.errors, [], "no console errors");
    } catch (err) {
      t.diagnostic("demo output:\n" + again.output());
      throw err;
    }
    assert.equal(await again.stop(), 0);

    // --- --reset: the demo flows again ---
    const reset = await startDemo(userDir, await freePort(), ["--reset"]);
    t.after(async () => void (await reset.stop()));
    assert.match(reset.output(), /Demo flows deployed/);
    const { flows } = await flowsOf(reset);
    assert.ok(
      flows.some((n) => n.type === "tab" && n.label === SPOT),
      "the example's tab is back",
    );
    assert.ok(!flows.some((n) => n.label === "my flow"), "the user's change is gone");
    assert.equal(await reset.stop(), 0);
    assert.deepEqual(
      external.filter((u) => !u.startsWith("https://catalogue.nodered.org/")),
      [],
      "the editor fetched nothing else from outside",
    );
  },
);
