/** The package's editor in a real Chromium: palette, dialogs, validation, help, examples, clean console. */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startNodeRed } from "../harness/nodered";
import { chromiumMissing, collectConsoleErrors, launchBrowser, openEditor, screenshot } from "../harness/browser";
import { skipLocally } from "../harness/runtimes";
import { packPackage } from "../harness/pack";
import { repoRoot } from "../harness/fixtures";

const TYPES = ["sma-energy", "sma-spot-ac", "sma-spot-dc", "sma-status", "sma-device-info", "sma-battery", "sma-grid", "sma-read", "sma-energy-meter"];

test("editor: SMA palette, inverter dialog with masked password, help, examples import", { skip: skipLocally(chromiumMissing()), timeout: 180_000 }, async (t) => {
  const tgz = await packPackage();
  const nr = await startNodeRed({ logLevel: "info", installPackageTgz: tgz });
  t.after(async () => void (await nr.stop()));
  await nr.waitForLog(/Server now running at/, 30_000);
  await nr.deploy([
    { id: "tab1", type: "tab", label: "sma" },
    { id: "inv1", type: "sma-inverter", name: "roof", host: "127.0.0.1", port: "9522", serial: "", group: "user", timeout: "1500", retries: "2" },
    { id: "q1", z: "tab1", type: "sma-energy", inverter: "inv1", topic: "", x: 200, y: 100, wires: [[]] },
  ]);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = collectConsoleErrors(page);
  try {
    await openEditor(page, nr.url);
    for (const type of TYPES) {
      assert.equal(await page.locator(`.red-ui-palette-node[data-palette-type='${type}']`).count(), 1, `palette has ${type}`);
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
    for (const f of ["host", "port", "serial", "group", "password"]) await page.locator(`#node-config-input-${f}`).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator("#node-config-input-password").getAttribute("type"), "password");
    await page.locator("#node-config-input-port").fill("70000");
    await page.locator("#node-config-input-serial").fill("12ab");
    await page.locator("#node-config-input-host").click();
    await page.waitForTimeout(300);
    assert.ok((await page.locator("#node-config-input-port").getAttribute("class") ?? "").includes("input-error"), "port 70000 marked invalid");
    assert.ok((await page.locator("#node-config-input-serial").getAttribute("class") ?? "").includes("input-error"), "serial 12ab marked invalid");
    t.diagnostic("screenshot: " + (await screenshot(page, "sma-inverter-dialog")));
    await page.locator("#node-config-dialog-cancel").click();
    await page.waitForTimeout(500);

    // Help in the sidebar names the payload fields with units.
    const help = String(await page.evaluate(`document.querySelector("script[data-help-name='sma-energy']")?.textContent ?? ""`));
    assert.match(help, /totalYield/);
    assert.match(help, /Wh/);

    // Every example imports with no unknown node types (influxdb nodes come from another package).
    for (const file of fs.readdirSync(path.join(repoRoot(), "examples")).filter((f) => f.endsWith(".json"))) {
      const nodes = JSON.parse(fs.readFileSync(path.join(repoRoot(), "examples", file), "utf8")) as { type: string }[];
      const types = JSON.stringify([...new Set(nodes.map((n) => n.type))]);
      const unknown = (await page.evaluate(`${types}.filter((ty) => ty !== "tab" && !RED.nodes.getType(ty))`)) as string[];
      assert.deepEqual(unknown.filter((ty) => !ty.startsWith("influxdb")), [], file);
    }
    await page.waitForTimeout(500);
  } catch (err) {
    await screenshot(page, "sma-editor-failure").catch(() => undefined);
    t.diagnostic("Node-RED log:\n" + nr.log());
    throw err;
  }
  assert.deepEqual(errors, [], "no console errors");
});
