/**
 * Every example imported into one plain Node-RED editor, one after the other, the way Import > Examples does it
 * (the import dialog's importNodes, which a library example goes through too). The examples share one sma-inverter
 * config node (SHARED_INVERTER): from the second import on the editor says "some nodes already exist", the user
 * answers "Import copy", and the editor keeps the config node it has (with the host the user set) instead of adding
 * another "Inverter". In the end: one sma-inverter, plus the further ones of the several-inverters example.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { withEditor } from "../harness/editor";
import { chromiumMissing, screenshot } from "../harness/browser";
import { runtimes, skipLocally } from "../harness/runtimes";
import { packPackage } from "../harness/pack";
import { SHARED_INVERTER, exampleFiles, loadExample } from "../harness/examples";
import type { Page } from "playwright-core";

/** What the user set in the shared config node after the first import. */
const USER_HOST = "10.11.12.13";

/** Pastes an example into the import dialog and imports it on a new tab; answers "Import copy" when asked. Resolves with whether it was asked. */
async function importExample(page: Page, json: string): Promise<boolean> {
  await page.evaluate(`RED.actions.invoke("core:show-import-dialog")`);
  const text = page.locator("#red-ui-clipboard-dialog-import-text");
  await text.waitFor({ timeout: 10_000 });
  await text.fill(json);
  // The dialog checks the text on keyup (as when typed or pasted) before it enables Import.
  await text.press("End");
  const ok = page.locator("#red-ui-clipboard-dialog-ok");
  await page.waitForFunction(`!document.querySelector("#red-ui-clipboard-dialog-ok").disabled`, undefined, {
    timeout: 10_000,
  });
  await ok.click();
  const copy = page.locator(".red-ui-notification button", { hasText: "Import copy" });
  const asked = await copy.waitFor({ timeout: 3_000 }).then(
    () => true,
    () => false,
  );
  if (asked) await copy.click();
  await page.waitForTimeout(300);
  return asked;
}

interface Seen {
  inverters: { id: string; name: string; host: string }[];
  dangling: string[];
}

async function seen(page: Page): Promise<Seen> {
  return (await page.evaluate(`(() => {
    const inverters = [];
    RED.nodes.eachConfig((n) => { if (n.type === "sma-inverter") inverters.push({ id: n.id, name: n.name, host: n.host }); });
    const dangling = [];
    RED.nodes.eachNode((n) => { if (n.type.startsWith("sma-") && "inverter" in n && !RED.nodes.node(n.inverter)) dangling.push(n.type + " " + n.id); });
    return { inverters, dangling };
  })()`)) as Seen;
}

for (const rt of runtimes()) {
  test(
    `editor (${rt.name}): importing every example leaves one shared sma-inverter, with what the user set`,
    { skip: skipLocally(chromiumMissing() ?? rt.missing), timeout: 300_000 },
    async (t) => {
      const tgz = await packPackage();
      const files = exampleFiles();
      await withEditor(
        t,
        { name: "examples-import", nodeBinary: rt.node, nodeRedDir: rt.nodeRedDir, installPackageTgz: tgz },
        async ({ page }) => {
          let withShared = 0;
          let asked = 0;
          const others = new Map<string, string>();
          for (const file of files) {
            const nodes = loadExample(file);
            const shares = nodes.some((n) => n.id === SHARED_INVERTER);
            for (const n of nodes)
              if (n.type === "sma-inverter" && n.id !== SHARED_INVERTER) others.set(n.id, String(n.name));
            if (await importExample(page, JSON.stringify(nodes))) asked++;
            if (!shares) continue;
            if (withShared++ === 0) {
              // The user sets the host once (as in the config node's dialog).
              await page.evaluate(
                `RED.nodes.node(${JSON.stringify(SHARED_INVERTER)}).host = ${JSON.stringify(USER_HOST)}`,
              );
            }
          }
          t.diagnostic("screenshot: " + (await screenshot(page, "examples-import")));
          const s = await seen(page);
          assert.ok(withShared >= 8, `${withShared} examples share the inverter`);
          assert.equal(asked, withShared - 1, "every import after the first that brings the shared config asks once");
          const shared = s.inverters.filter((n) => n.id === SHARED_INVERTER);
          assert.deepEqual(
            shared,
            [{ id: SHARED_INVERTER, name: "Inverter", host: USER_HOST }],
            "the shared config node, with the user's host",
          );
          // "Import copy" gives every imported node not there yet a new id, the further inverters too: they are told by name.
          assert.deepEqual(
            s.inverters
              .filter((n) => n.id !== SHARED_INVERTER)
              .map((n) => n.name)
              .sort(),
            [...others.values()].sort(),
            "besides it only the further inverters of the several-inverters example",
          );
          assert.equal(
            s.inverters.filter((n) => n.name === "Inverter").length,
            1,
            "one entry named Inverter in the dropdown",
          );
          assert.deepEqual(s.dangling, [], "every reading node points at an sma-inverter");
          const tabs = (await page.evaluate(
            `(() => { const l = []; RED.nodes.eachWorkspace((w) => l.push(w.label)); return l; })()`,
          )) as string[];
          for (const file of files) assert.ok(tabs.includes(file.replace(/\.json$/, "")), `tab of ${file}`);
        },
      );
    },
  );
}
