/**
 * The dialogs' scripts (nodes/<set>/editor.ts, built into resources/) in a real Chromium, for what the other browser
 * tests leave out: sma-read's value picker, the meter's interface picker and a plain query node's dialog.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { ROOF_INVERTER, withEditor } from "../harness/editor";
import { chromiumMissing } from "../harness/browser";
import { skipLocally } from "../harness/runtimes";
import { packPackage } from "../harness/pack";

test(
  "editor: sma-read's value picker, the meter's interface picker and a query node's dialog",
  { skip: skipLocally(chromiumMissing()), timeout: 180_000 },
  async (t) => {
    const tgz = await packPackage();
    const flows = [
      { id: "tab1", type: "tab", label: "sma" },
      ROOF_INVERTER,
      {
        id: "r1",
        z: "tab1",
        type: "sma-read",
        inverter: "inv1",
        topic: "",
        outage: "status",
        values: ["dcPower2", "totalYield", "madeUp"],
        x: 200,
        y: 100,
        wires: [[]],
      },
      {
        id: "m1",
        z: "tab1",
        type: "sma-energy-meter",
        group: "239.12.255.254",
        port: "9522",
        iface: "",
        serial: "",
        throttle: "5",
        onlyChanges: false,
        watchdog: "10",
        x: 200,
        y: 200,
        wires: [[]],
      },
      // Saved before the outage setting: the dialog shows the default.
      { id: "q1", z: "tab1", type: "sma-energy", inverter: "inv1", topic: "", x: 200, y: 300, wires: [[]] },
    ];
    await withEditor(t, { name: "dialog-scripts", installPackageTgz: tgz, flows }, async ({ page }) => {
      // sma-read: the table's rows arrive, a numbered name sits with its indexed row, an unknown name stays visible.
      await page.evaluate(`RED.editor.edit(RED.nodes.node("r1"))`);
      await page.locator("#sma-read-list .sma-read-item[data-name='totalYield']").waitFor({ timeout: 10_000 });
      assert.equal(await page.locator("#sma-read-summary").innerText(), "Selected: 3");
      assert.equal(await page.locator("#sma-read-list .sma-read-item[data-name='dcPower2'] input").isChecked(), true);
      assert.equal(
        await page.locator(".sma-read-group[data-group='unknown'] .sma-read-item[data-name='madeUp']").count(),
        1,
      );
      await page.locator("#sma-read-filter").fill("total yield");
      assert.equal(await page.locator("#sma-read-list .sma-read-item[data-name='totalYield']").isVisible(), true);
      assert.equal(
        await page.locator("#sma-read-list .sma-read-item[data-name='dcPower2']").isVisible(),
        false,
        "filtered out",
      );
      await page.locator("#sma-read-filter").fill("");
      await page.locator("#sma-read-list .sma-read-item[data-name='madeUp'] input").uncheck();
      assert.equal(await page.locator("#sma-read-summary").innerText(), "Selected: 2");
      await page.locator("#node-dialog-ok").click();
      await page.waitForTimeout(300);
      // Saved in table order, then the names the table does not know (dcPower2 is a numbered one), as they were.
      assert.deepEqual(await page.evaluate(`RED.nodes.node("r1").values`), ["totalYield", "dcPower2"]);

      // sma-energy-meter: the interfaces arrive in the select (loopback at least), "other" opens the free-text row.
      await page.evaluate(`RED.editor.edit(RED.nodes.node("m1"))`);
      await page
        .locator("#sma-energy-meter-iface-select option[value='127.0.0.1']")
        .waitFor({ state: "attached", timeout: 10_000 });
      assert.equal(await page.locator("#sma-energy-meter-iface-row").isVisible(), false);
      await page.locator("#sma-energy-meter-iface-select").selectOption("127.0.0.1");
      assert.equal(await page.locator("#node-input-iface").inputValue(), "127.0.0.1");
      await page.locator("#sma-energy-meter-iface-select").selectOption("__custom__");
      assert.equal(await page.locator("#sma-energy-meter-iface-row").isVisible(), true);
      await page.locator("#node-input-iface").fill("300.1.1.1");
      await page.locator("#node-input-serial").click();
      await page.waitForTimeout(300);
      assert.ok(
        ((await page.locator("#node-input-iface").getAttribute("class")) ?? "").includes("input-error"),
        "300.1.1.1 marked invalid",
      );
      await page.locator("#node-dialog-cancel").click();
      await page.waitForTimeout(300);

      // A plain query node: its type's tip and topic placeholder, and the outage default for an older node.
      await page.evaluate(`RED.editor.edit(RED.nodes.node("q1"))`);
      await page.locator("#sma-query-tip").waitFor({ timeout: 10_000 });
      assert.match(await page.locator("#sma-query-tip").innerText(), /\S/);
      assert.match((await page.locator("#node-input-topic").getAttribute("placeholder")) ?? "", /\S/);
      assert.equal(await page.locator("#node-input-outage").inputValue(), "status");
      await page.locator("#node-dialog-cancel").click();
      await page.waitForTimeout(300);
    });
  },
);
