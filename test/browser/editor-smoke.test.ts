/** A real Chromium opens the Node-RED 4 editor started by the harness: palette loads, no console errors. */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { startNodeRed } from "../harness/nodered";
import { chromiumMissing, collectConsoleErrors, launchBrowser, openEditor, screenshot } from "../harness/browser";
import { skipLocally } from "../harness/runtimes";

test("editor smoke: palette shows core nodes, console is clean", { skip: skipLocally(chromiumMissing()), timeout: 120_000 }, async (t) => {
  const nr = await startNodeRed({ logLevel: "warn" });
  t.after(async () => void (await nr.stop()));
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = collectConsoleErrors(page);
  try {
    await openEditor(page, nr.url);
    for (const type of ["inject", "debug", "function"]) {
      const node = page.locator(`.red-ui-palette-node[data-palette-type='${type}']`);
      assert.equal(await node.count(), 1, `palette has ${type}`);
    }
    assert.equal(await page.locator(".red-ui-palette-node[data-palette-type='inject'] .red-ui-palette-label").innerText(), "inject");
    // Give late async errors (websocket, lazy resources) a moment to surface.
    await page.waitForTimeout(1000);
    t.diagnostic("screenshot: " + (await screenshot(page, "editor-smoke-nr4")));
  } catch (err) {
    await screenshot(page, "editor-smoke-nr4-failure").catch(() => undefined);
    t.diagnostic("Node-RED log:\n" + nr.log());
    throw err;
  }
  assert.deepEqual(errors, [], "no console errors");
});
