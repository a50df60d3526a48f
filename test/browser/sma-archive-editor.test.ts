/** The sma-archive dialog in a real Chromium: in the palette, rows per archive, span units, validation, help. */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { ROOF_INVERTER, withEditor } from "../harness/editor";
import { chromiumMissing, screenshot } from "../harness/browser";
import { skipLocally } from "../harness/runtimes";
import { packPackage } from "../harness/pack";

test(
  "editor: sma-archive dialog shows the rows of the chosen archive and checks the span",
  { skip: skipLocally(chromiumMissing()), timeout: 180_000 },
  async (t) => {
    const tgz = await packPackage();
    const flows = [
      { id: "tab1", type: "tab", label: "sma" },
      ROOF_INVERTER,
      {
        id: "a1",
        z: "tab1",
        type: "sma-archive",
        inverter: "inv1",
        archive: "day",
        group: "user",
        span: "24",
        nextMidnight: false,
        output: "array",
        topic: "",
        x: 200,
        y: 100,
        wires: [[]],
      },
    ];
    await withEditor(t, { name: "sma-archive-editor", installPackageTgz: tgz, flows }, async ({ page }) => {
      assert.equal(
        await page.locator(".red-ui-palette-node[data-palette-type='sma-archive']").count(),
        1,
        "palette has sma-archive",
      );
      await page.evaluate(`RED.editor.edit(RED.nodes.node("a1"))`);
      await page.locator("#node-input-archive").waitFor({ timeout: 10_000 });
      const visible = (sel: string): Promise<boolean> => page.locator(sel).isVisible();
      assert.deepEqual([await visible("#node-input-group"), await visible("#node-input-nextMidnight")], [false, false]);
      assert.match(await page.locator("#sma-archive-span-unit").innerText(), /hours \(at most 2208\)/);

      await page.locator("#node-input-archive").selectOption("month");
      assert.deepEqual([await visible("#node-input-group"), await visible("#node-input-nextMidnight")], [false, true]);
      assert.match(await page.locator("#sma-archive-span-unit").innerText(), /days \(at most 3660\)/);
      assert.equal(await page.locator("#node-input-span").inputValue(), "31", "the default span follows the archive");

      await page.locator("#node-input-archive").selectOption("events");
      assert.deepEqual([await visible("#node-input-group"), await visible("#node-input-nextMidnight")], [true, false]);
      await page.locator("#node-input-span").fill("400");
      await page.locator("#node-input-topic").click();
      await page.waitForTimeout(300);
      assert.ok(
        ((await page.locator("#node-input-span").getAttribute("class")) ?? "").includes("input-error"),
        "400 days of events marked invalid",
      );
      t.diagnostic("screenshot: " + (await screenshot(page, "sma-archive-dialog")));
      await page.locator("#node-dialog-cancel").click();
      await page.waitForTimeout(300);

      const help = String(
        await page.evaluate(`document.querySelector("script[data-help-name='sma-archive']")?.textContent ?? ""`),
      );
      for (const word of [
        "totalYield",
        "Wh",
        "msg.sma.held",
        "see the help of the <i>SMA inverter</i> configuration node",
      ])
        assert.ok(help.includes(word), word);
    });
  },
);
