/**
 * `npm start` (scripts/start.js with its own user dir and port) as a newcomer meets it: the printed dashboard URL
 * shows readings within 5 s of opening it, and every demo tab shows a reading within 5 s of opening the editor
 * however long after the start the browser comes (the Debug sidebar shows only what arrives while it is open).
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Page } from "playwright-core";
import { chromiumMissing, collectConsoleErrors, launchBrowser, screenshot } from "../harness/browser";
import { startDemo } from "../harness/demo";
import { freePort, skipLocally } from "../harness/runtimes";
import type { FlowNode } from "../harness/examples";

/** What the brief promises a newcomer: a reading on every tab and on the dashboard this soon after opening. */
const SOON_MS = 5000;
// Dashboard 1.31's gauge redraws once hidden (display: none, size 0), and its d3 code logs negative <rect> sizes.
const HIDDEN_GAUGE_NOISE = /<rect> attribute (width|height): A negative value is not valid/;

/**
 * Records, per flow (tab) id, when the editor's comms socket first brought a reading from it: a debug message, or
 * the status of a debug node or an energy meter node (their statuses show values; a query node's shows a time).
 */
function firstReadings(page: Page, nodes: FlowNode[]): Map<string, number> {
  const tabOf = new Map(
    nodes.filter((n) => n.type === "debug" || n.type === "sma-energy-meter").map((n) => [n.id, String(n.z)]),
  );
  const first = new Map<string, number>();
  page.on("websocket", (ws) =>
    ws.on("framereceived", ({ payload }) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(payload));
      } catch {
        return;
      }
      for (const m of (Array.isArray(parsed) ? parsed : [parsed]) as {
        topic?: string;
        data?: Record<string, unknown>;
      }[]) {
        const topic = String(m?.topic ?? "");
        // A debug message (data.z: its tab) or a status that shows a value (a number in its text).
        const tab =
          topic === "debug"
            ? String(m.data?.z)
            : topic.startsWith("status/") && /\d/.test(String(m.data?.text ?? ""))
              ? tabOf.get(topic.slice(7))
              : undefined;
        if (tab && !first.has(tab)) first.set(tab, Date.now());
      }
    }),
  );
  return first;
}

test(
  "npm start: the solar dashboard and every demo tab show readings within 5 s of opening them",
  { skip: skipLocally(chromiumMissing()), timeout: 240_000 },
  async (t) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sma-demo-dash-"));
    t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const demo = await startDemo(path.join(tmp, "user"), await freePort());
    t.after(async () => void (await demo.stop()));
    const browser = await launchBrowser();
    t.after(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
    const errors = collectConsoleErrors(page);
    try {
      const dashboard = new RegExp(
        `Solar dashboard: (${demo.url.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}dashboard)`,
      ).exec(demo.output());
      assert.ok(dashboard, `the dashboard URL is printed with the editor's:\n${demo.output()}`);
      // The browser comes late, when every one-off read of the start is long over.
      await new Promise((r) => setTimeout(r, 8000));

      const flows = (await (await fetch(demo.url + "flows")).json()) as FlowNode[];
      const tabs = flows.filter((n) => n.type === "tab");
      assert.ok(
        tabs.some((n) => n.label === "Solar dashboard"),
        "the solar dashboard's tab is deployed",
      );

      // --- the dashboard ---
      let opened = Date.now();
      await page.goto(dashboard[1], { waitUntil: "domcontentloaded", timeout: 30_000 });
      const values = async (): Promise<string[]> =>
        Promise.all(
          ["pv", "house", "grid", "battery"].map(
            async (k) =>
              (await page
                .locator(`#sma-flow-${k}`)
                .textContent()
                .catch(() => "")) ?? "",
          ),
        );
      for (;;) {
        if ((await values()).every((s) => /^\d+ W$/.test(s))) break;
        assert.ok(Date.now() - opened < SOON_MS + 25_000, `the dashboard shows ${JSON.stringify(await values())}`);
        await page.waitForTimeout(100);
      }
      const dashMs = Date.now() - opened;
      t.diagnostic(`dashboard readings ${dashMs} ms after opening ${dashboard[1]}: ${(await values()).join(", ")}`);
      assert.ok(dashMs <= SOON_MS, `the dashboard took ${dashMs} ms`);
      for (const id of ["solar-text-house", "solar-text-grid", "solar-text-yield"]) {
        assert.match(await page.locator(`#nrdb-ui-widget-${id}`).innerText(), /\d/, `${id} shows a number`);
      }
      t.diagnostic("screenshot: " + (await screenshot(page, "demo-solar-dashboard")));

      // --- the editor: a reading from every tab ---
      const first = firstReadings(page, flows);
      opened = Date.now();
      await page.goto(demo.url, { waitUntil: "domcontentloaded", timeout: 30_000 });
      const end = opened + SOON_MS + 25_000;
      while (tabs.some((tab) => !first.has(tab.id)) && Date.now() < end) await page.waitForTimeout(100);
      const late = tabs.map(
        (tab) => [String(tab.label), first.has(tab.id) ? (first.get(tab.id) as number) - opened : Infinity] as const,
      );
      t.diagnostic(
        `first reading per tab after opening the editor: ${late.map(([l, ms]) => `${l} ${ms} ms`).join(", ")}`,
      );
      for (const [label, ms] of late) assert.ok(ms <= SOON_MS, `tab "${label}": first reading after ${ms} ms`);
    } catch (err) {
      await screenshot(page, "demo-dashboard-failure").catch(() => undefined);
      t.diagnostic("demo output:\n" + demo.output());
      throw err;
    }
    assert.deepEqual(
      errors.filter(
        (e) => !HIDDEN_GAUGE_NOISE.test(e) && !/catalogue\.nodered\.org|ERR_NAME_NOT_RESOLVED|ERR_INTERNET/.test(e),
      ),
      [],
      "no console errors",
    );
    assert.equal(await demo.stop(), 0);
  },
);
