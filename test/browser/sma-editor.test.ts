/** The package's editor in a real Chromium: palette, dialogs, validation, help, examples, clean console. */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOF_INVERTER, withEditor } from "../harness/editor";
import { artifactsDir, chromiumMissing, screenshot } from "../harness/browser";
import { skipLocally } from "../harness/runtimes";
import { packPackage } from "../harness/pack";
import { repoRoot } from "../harness/fixtures";
import type { Locator } from "playwright-core";

/** PNG of one element into test-artifacts/<name>.png; returns its path. */
async function screenshotOf(element: Locator, name: string): Promise<string> {
  const file = path.join(artifactsDir(), name + ".png");
  await element.screenshot({ path: file });
  return file;
}

const TYPES = [
  "sma-energy",
  "sma-spot-ac",
  "sma-spot-dc",
  "sma-status",
  "sma-device-info",
  "sma-battery",
  "sma-grid",
  "sma-read",
  "sma-energy-meter",
];

test(
  "editor: SMA palette, inverter dialog with masked password, help, examples import",
  { skip: skipLocally(chromiumMissing()), timeout: 180_000 },
  async (t) => {
    const tgz = await packPackage();
    const flows = [
      { id: "tab1", type: "tab", label: "sma" },
      ROOF_INVERTER,
      { id: "q1", z: "tab1", type: "sma-energy", inverter: "inv1", topic: "", x: 200, y: 100, wires: [[]] },
    ];
    await withEditor(t, { name: "sma-editor", installPackageTgz: tgz, flows }, async ({ page }) => {
      for (const type of TYPES) {
        assert.equal(
          await page.locator(`.red-ui-palette-node[data-palette-type='${type}']`).count(),
          1,
          `palette has ${type}`,
        );
      }
      const categories = await page.evaluate(`[...document.querySelectorAll(".red-ui-palette-category")]
      .filter((c) => c.querySelector(".red-ui-palette-node[data-palette-type='sma-energy']"))
      .map((c) => c.querySelector(".red-ui-palette-header").innerText.trim())`);
      assert.deepEqual(categories, ["SMA"]);

      // The query node's dialog offers the inverter picker.
      await page.evaluate(`RED.editor.edit(RED.nodes.node("q1"))`);
      await page.locator("#node-input-inverter").waitFor({ timeout: 10_000 });
      t.diagnostic("screenshot: " + (await screenshot(page, "sma-energy-dialog")));
      await page.locator("#node-dialog-cancel").click();
      await page.waitForTimeout(500);

      // The config dialog: host, port, serial, group and a masked password, validated.
      await page.evaluate(`RED.editor.editConfig("", "sma-inverter", "inv1")`);
      for (const f of ["host", "port", "serial", "group", "password"])
        await page.locator(`#node-config-input-${f}`).waitFor({ timeout: 10_000 });
      assert.equal(await page.locator("#node-config-input-password").getAttribute("type"), "password");
      await page.locator("#node-config-input-port").fill("70000");
      await page.locator("#node-config-input-serial").fill("12ab");
      await page.locator("#node-config-input-host").click();
      await page.waitForTimeout(300);
      assert.ok(
        ((await page.locator("#node-config-input-port").getAttribute("class")) ?? "").includes("input-error"),
        "port 70000 marked invalid",
      );
      assert.ok(
        ((await page.locator("#node-config-input-serial").getAttribute("class")) ?? "").includes("input-error"),
        "serial 12ab marked invalid",
      );
      t.diagnostic("screenshot: " + (await screenshot(page, "sma-inverter-dialog")));
      await page.locator("#node-config-dialog-cancel").click();
      await page.waitForTimeout(500);

      // Help in the sidebar names the payload fields with units.
      const help = String(
        await page.evaluate(`document.querySelector("script[data-help-name='sma-energy']")?.textContent ?? ""`),
      );
      assert.match(help, /totalYield/);
      assert.match(help, /Wh/);

      // Selecting the node on the canvas with the Help tab open shows its help there.
      await page.evaluate(`RED.sidebar.show("help")`);
      await page.locator("g.red-ui-flow-node-group[id='q1'] rect.red-ui-flow-node").click();
      const helpTitle = page.locator("#red-ui-sidebar .red-ui-sidebar-help-stack h1.red-ui-help-title");
      await page.waitForFunction(
        `document.querySelector("#red-ui-sidebar .red-ui-help-title")?.textContent === "SMA energy"`,
        undefined,
        { timeout: 10_000 },
      );
      assert.equal(await helpTitle.innerText(), "SMA energy", "the help title is the node's palette label");
      const helpBody = page.locator("#red-ui-sidebar .red-ui-sidebar-help-stack div.red-ui-help").first();
      assert.ok(await helpBody.isVisible(), "the help text is visible");
      assert.match(await helpBody.innerText(), /Reads the energy counters of an SMA inverter/);
      const headings = [...help.matchAll(/<h3>([^<]*)<\/h3>/g)].map((m) => m[1]);
      assert.ok(headings.includes("Outputs"), "the help has an Outputs section");
      assert.deepEqual(await helpBody.locator("h3").allInnerTexts(), headings, "the sidebar shows the help's sections");
      assert.match(await helpBody.innerText(), /totalYield\s+number \| null\s+Total yield since commissioning, in Wh/);
      t.diagnostic("screenshot: " + (await screenshotOf(page.locator("#red-ui-sidebar"), "sma-energy-help-sidebar")));

      // The config node's dialog: its help button shows the sma-inverter help in the same sidebar.
      await page.evaluate(`RED.editor.editConfig("", "sma-inverter", "inv1")`);
      await page.locator("#node-config-input-host").waitFor({ timeout: 10_000 });
      await page.locator(".red-ui-tray:visible .red-ui-tray-footer-left button:has(i.fa-book)").last().click();
      await page.waitForFunction(
        `document.querySelector("#red-ui-sidebar .red-ui-help-title")?.textContent === "SMA inverter"`,
        undefined,
        { timeout: 10_000 },
      );
      assert.match(await helpBody.innerText(), /The connection to one SMA inverter over Speedwire \(UDP port 9522\)/);
      assert.match(await helpBody.innerText(), /Port\s+number\s+UDP port of the inverter, 9522/);
      t.diagnostic("screenshot: " + (await screenshotOf(page.locator("#red-ui-sidebar"), "sma-inverter-help-sidebar")));
      await page.locator("#node-config-dialog-cancel").click();
      await page.waitForTimeout(500);

      // Every example imports with no unknown node types (influxdb nodes come from another package).
      for (const file of fs.readdirSync(path.join(repoRoot(), "examples")).filter((f) => f.endsWith(".json"))) {
        const nodes = JSON.parse(fs.readFileSync(path.join(repoRoot(), "examples", file), "utf8")) as {
          type: string;
        }[];
        const types = JSON.stringify([...new Set(nodes.map((n) => n.type))]);
        const unknown = (await page.evaluate(
          `${types}.filter((ty) => ty !== "tab" && !RED.nodes.getType(ty))`,
        )) as string[];
        // Types of other packages the examples name (InfluxDB, Dashboard 2.0 "ui-*"): their own test loads them.
        assert.deepEqual(
          unknown.filter((ty) => !ty.startsWith("influxdb") && !ty.startsWith("ui-")),
          [],
          file,
        );
      }
      await page.waitForTimeout(500);
    });
  },
);
