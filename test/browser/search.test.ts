/**
 * The sma-inverter dialog's Search button in a real editor: a real Node-RED (package installed from npm pack)
 * whose search is pointed at simulated inverters on loopback through settings.js, then nothing answering.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { withEditor } from "../harness/editor";
import { chromiumMissing, screenshot } from "../harness/browser";
import { skipLocally } from "../harness/runtimes";
import { packPackage } from "../harness/pack";
import { SimulatedInverter } from "../../src/simulator";

test(
  "editor: Search lists the simulated inverters and fills host, port and serial; nothing found says why",
  { skip: skipLocally(chromiumMissing()), timeout: 180_000 },
  async (t) => {
    const a = new SimulatedInverter({ address: "127.0.0.111", port: 0, serial: 3000001111, susyId: 128 });
    await a.start();
    const b = new SimulatedInverter({ address: "127.0.0.112", port: a.port, serial: 3000001112, susyId: 131 });
    await b.start();
    t.after(() => Promise.all([a.stop(), b.stop()]));
    const tgz = await packPackage();
    const settings = {
      smaSpeedwire: { discoveryTargets: [`127.0.0.111:${a.port}`, `127.0.0.112:${a.port}`], discoveryTimeout: 1000 },
    };
    const flows = [
      { id: "tab1", type: "tab", label: "sma" },
      {
        id: "inv1",
        type: "sma-inverter",
        name: "roof",
        host: "",
        port: "9522",
        serial: "",
        group: "user",
        timeout: "1500",
        retries: "2",
      },
      { id: "q1", z: "tab1", type: "sma-spot-ac", inverter: "inv1", topic: "", x: 200, y: 100, wires: [[]] },
    ];
    await withEditor(t, { name: "sma-inverter-search", installPackageTgz: tgz, settings, flows }, async ({ page }) => {
      await page.evaluate(`RED.editor.editConfig("", "sma-inverter", "inv1")`);
      await page.locator("#sma-inverter-search").waitFor({ timeout: 10_000 });
      await page.locator("#sma-inverter-search").click();
      const items = page.locator("#sma-inverter-discover ul.sma-inverter-results li");
      await items.nth(1).waitFor({ timeout: 10_000 });
      assert.equal(await items.count(), 2);
      const texts = (await items.allInnerTexts()).map((s) => s.replace(/\s+/g, " ")).sort();
      assert.match(texts[0], /127\.0\.0\.111.*3000001111.*128/);
      assert.match(texts[1], /127\.0\.0\.112.*3000001112.*131/);
      t.diagnostic("screenshot: " + (await screenshot(page, "sma-inverter-search")));

      await items.filter({ hasText: "127.0.0.112" }).click();
      assert.equal(await page.locator("#node-config-input-host").inputValue(), "127.0.0.112");
      assert.equal(await page.locator("#node-config-input-serial").inputValue(), "3000001112");
      assert.equal(await page.locator("#node-config-input-port").inputValue(), String(a.port));

      // Nothing answers: a clear "nothing found" with the usual causes, and the button is usable again.
      await Promise.all([a.stop(), b.stop()]);
      await page.locator("#sma-inverter-search").click();
      const none = page.locator("#sma-inverter-discover .sma-error");
      await none.first().waitFor({ timeout: 10_000 });
      assert.match(await none.first().innerText(), /No SMA device answered/);
      assert.equal(await page.locator("#sma-inverter-discover ul.sma-inverter-causes li").count(), 4);
      assert.equal(await page.locator("#sma-inverter-search").isDisabled(), false);
      await page.locator("#node-config-dialog-cancel").click();

      // The package's shared editor resource is served and loaded: it turns a failed admin call into one line.
      const line =
        await page.evaluate(`window.SmaSpeedwireEditor.ajaxError({ status: 500, responseJSON: { error: "boom" } }, "error", "",
      (k, o) => k + " " + JSON.stringify(o), { noConnection: "a", notAvailable: "b", failed: "c" })`);
      assert.equal(line, 'c {"status":500,"message":"boom"}');
    });
  },
);
