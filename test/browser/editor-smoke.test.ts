/** A real Chromium opens the Node-RED 4 editor started by the harness: palette loads, no console errors. */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { withEditor } from "../harness/editor";
import { chromiumMissing, screenshot } from "../harness/browser";
import { skipLocally } from "../harness/runtimes";

test(
  "editor smoke: palette shows core nodes, console is clean",
  { skip: skipLocally(chromiumMissing()), timeout: 120_000 },
  async (t) => {
    await withEditor(t, { name: "editor-smoke-nr4", logLevel: "warn" }, async ({ page }) => {
      for (const type of ["inject", "debug", "function"]) {
        const node = page.locator(`.red-ui-palette-node[data-palette-type='${type}']`);
        assert.equal(await node.count(), 1, `palette has ${type}`);
      }
      assert.equal(
        await page.locator(".red-ui-palette-node[data-palette-type='inject'] .red-ui-palette-label").innerText(),
        "inject",
      );
      // Give late async errors (websocket, lazy resources) a moment to surface.
      await page.waitForTimeout(1000);
      t.diagnostic("screenshot: " + (await screenshot(page, "editor-smoke-nr4")));
    });
  },
);
