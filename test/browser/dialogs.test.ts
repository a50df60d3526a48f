/** What the user sees in the dialogs: a new node's inverter, the inverter dialog's hints, German labels on one line. */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { withEditor } from "../harness/editor";
import { chromiumMissing, screenshot } from "../harness/browser";
import { skipLocally } from "../harness/runtimes";
import { packPackage } from "../harness/pack";
import type { Page } from "playwright-core";

const INVERTER = {
  type: "sma-inverter",
  host: "127.0.0.1",
  port: "9522",
  serial: "",
  group: "user",
  timeout: "1500",
  retries: "2",
};
const READING_TYPES = ["sma-energy", "sma-read", "sma-archive"];

/** Drags a node from the palette onto the canvas as a user does; resolves with the new node's id. */
async function addFromPalette(page: Page, type: string, at: { x: number; y: number }): Promise<string> {
  const before = (await page.evaluate(
    `RED.nodes.filterNodes({ type: ${JSON.stringify(type)} }).map((n) => n.id)`,
  )) as string[];
  const src = page.locator(`.red-ui-palette-node[data-palette-type='${type}']`);
  await src.scrollIntoViewIfNeeded();
  const box = await src.boundingBox();
  const chart = await page.locator("#red-ui-workspace-chart").boundingBox();
  assert.ok(box && chart);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(chart.x + at.x, chart.y + at.y, { steps: 12 });
  await page.mouse.up();
  await page.waitForTimeout(300);
  const after = (await page.evaluate(
    `RED.nodes.filterNodes({ type: ${JSON.stringify(type)} }).map((n) => n.id)`,
  )) as string[];
  const added = after.filter((id) => !before.includes(id));
  assert.equal(added.length, 1, `one ${type} added`);
  return added[0];
}

const inverterOf = (page: Page, id: string): Promise<unknown> =>
  page.evaluate(`RED.nodes.node(${JSON.stringify(id)}).inverter`);

test(
  "editor: a new reading node gets the only inverter; with two the user picks",
  { skip: skipLocally(chromiumMissing()), timeout: 180_000 },
  async (t) => {
    const tgz = await packPackage();
    const flows = [
      { id: "tab1", type: "tab", label: "sma" },
      { id: "inv1", name: "roof", ...INVERTER },
    ];
    await withEditor(t, { name: "dialogs-pick", installPackageTgz: tgz, flows }, async ({ page }) => {
      let y = 80;
      for (const type of READING_TYPES) {
        const id = await addFromPalette(page, type, { x: 300, y: (y += 60) });
        assert.equal(await inverterOf(page, id), "inv1", `${type} picks the one inverter`);
      }
      const id = await addFromPalette(page, "sma-energy", { x: 300, y: (y += 60) });
      assert.equal(
        await page.evaluate(`RED.nodes.node("inv1").users.some((n) => n.id === ${JSON.stringify(id)})`),
        true,
        "the config node counts the new node as a user",
      );
      await page.evaluate(`RED.editor.edit(RED.nodes.node(${JSON.stringify(id)}))`);
      await page.locator("#node-input-inverter").waitFor({ timeout: 10_000 });
      assert.equal(await page.locator("#node-input-inverter").inputValue(), "inv1");
      assert.equal(await page.locator("#node-input-inverter option:checked").innerText(), "roof");
      t.diagnostic("screenshot: " + (await screenshot(page, "dialogs-new-node-inverter")));
      await page.locator("#node-dialog-cancel").click();
      await page.waitForTimeout(300);

      // A second inverter: which one is meant is the user's choice.
      await page.evaluate(
        `RED.nodes.import([{ id: "inv2", name: "garage", ...${JSON.stringify(INVERTER)}, host: "127.0.0.2" }])`,
      );
      for (const type of READING_TYPES) {
        const id2 = await addFromPalette(page, type, { x: 600, y: (y += 60) });
        assert.equal(await inverterOf(page, id2), "", `${type} with two inverters: none picked`);
      }
    });
  },
);

test(
  "editor: the inverter dialog's hints say what applies, once",
  { skip: skipLocally(chromiumMissing()), timeout: 180_000 },
  async (t) => {
    const tgz = await packPackage();
    const flows = [
      { id: "tab1", type: "tab", label: "sma" },
      { id: "inv1", name: "roof", ...INVERTER },
    ];
    await withEditor(t, { name: "dialogs-hints", installPackageTgz: tgz, flows }, async ({ page }) => {
      await page.evaluate(`RED.editor.editConfig("", "sma-inverter", "inv1")`);
      await page.locator("#node-config-input-password").waitFor({ timeout: 10_000 });
      const serialHint = page.locator("#sma-inverter-serial-hint");
      const passwordHint = page.locator("#sma-inverter-password-hint");
      assert.equal(await serialHint.isVisible(), false, "host set: no find-by-serial hint");
      // No credentials in the flow: no password.
      assert.match(await passwordHint.innerText(), /^No password set: the inverter refuses every read without one/);
      assert.ok(((await passwordHint.getAttribute("class")) ?? "").includes("sma-error"));
      t.diagnostic("screenshot: " + (await screenshot(page, "dialogs-inverter-no-password")));

      await page.locator("#node-config-input-serial").fill("3000000911");
      assert.equal(await serialHint.isVisible(), false, "host and serial set: the host is used");
      await page.locator("#node-config-input-host").fill("");
      assert.equal(await serialHint.isVisible(), true, "host empty and a serial set: found by its serial");
      assert.match(await serialHint.innerText(), /found by its serial number/);
      await page.locator("#node-config-input-serial").fill("");
      assert.equal(
        await serialHint.isVisible(),
        false,
        "neither: the hint does not apply (the host is marked invalid)",
      );
      await page.locator("#node-config-input-serial").fill("3000000911");
      await page.waitForTimeout(300);
      assert.ok(
        !((await page.locator("#node-config-input-host").getAttribute("class")) ?? "").includes("input-error"),
        "an empty host with a serial is valid again once the serial is back",
      );

      await page.locator("#node-config-input-password").fill("1234567890123");
      assert.equal(await passwordHint.innerText(), "Password too long: at most 12 characters, this one has 13");
      await page.locator("#node-config-input-password").fill("0000");
      assert.equal(await passwordHint.innerText(), "4 of at most 12 characters");
      assert.ok(!((await passwordHint.getAttribute("class")) ?? "").includes("sma-error"));
      await page.locator("#node-config-input-password").fill("1234567890123");
      t.diagnostic("screenshot: " + (await screenshot(page, "dialogs-inverter-hints")));
      await page.locator("#node-config-dialog-cancel").click();
    });
  },
);

/** The label column of the open dialog (a checkbox's text may wrap): labels that wrap onto a second line or are cut off: "text (height x width)". */
async function overflowingLabels(page: Page): Promise<string[]> {
  return (await page.evaluate(`[...document.querySelectorAll(".red-ui-tray .form-row > label:first-child")]
    .filter((l) => l.offsetParent !== null && l.innerText.trim() !== "")
    .filter((l) => l.scrollWidth > l.clientWidth + 1 || l.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(l).lineHeight || "20"))
    .map((l) => l.innerText.trim() + " (" + Math.round(l.getBoundingClientRect().height) + " x " + l.scrollWidth + ")")`)) as string[];
}

test(
  "editor in German: every dialog's labels fit on one line",
  { skip: skipLocally(chromiumMissing()), timeout: 240_000 },
  async (t) => {
    const tgz = await packPackage();
    const flows = [
      { id: "tab1", type: "tab", label: "sma" },
      { id: "inv1", name: "Dach", ...INVERTER },
      { id: "n1", z: "tab1", type: "sma-energy", inverter: "inv1", topic: "", x: 200, y: 100, wires: [[]] },
      {
        id: "n2",
        z: "tab1",
        type: "sma-read",
        inverter: "inv1",
        values: ["acPower"],
        topic: "",
        x: 200,
        y: 160,
        wires: [[]],
      },
      {
        id: "n3",
        z: "tab1",
        type: "sma-archive",
        inverter: "inv1",
        archive: "month",
        group: "user",
        span: "31",
        nextMidnight: false,
        output: "array",
        topic: "",
        x: 200,
        y: 220,
        wires: [[]],
      },
      { id: "n4", z: "tab1", type: "sma-energy-meter", d: true, x: 200, y: 280, wires: [[]] },
    ];
    await withEditor(t, { name: "dialogs-de", installPackageTgz: tgz, flows, locale: "de" }, async ({ page }) => {
      const wrapped: string[] = [];
      /** The outage setting each reading dialog shows (the flow has none: saved before the setting). */
      const outage: Record<string, string> = {};
      const open = async (js: string, cancel: string, name: string): Promise<void> => {
        await page.evaluate(js);
        await page.locator(".red-ui-tray .form-row > label").first().waitFor({ timeout: 10_000 });
        await page.waitForTimeout(500);
        t.diagnostic("screenshot: " + (await screenshot(page, "dialogs-de-" + name)));
        wrapped.push(...(await overflowingLabels(page)).map((l) => `${name}: ${l}`));
        if (await page.locator("#node-input-outage").count()) {
          outage[name] =
            `${await page.locator("#node-input-outage").inputValue()}: ${await page.locator("#node-input-outage option:checked").innerText()}`;
        }
        await page.locator(cancel).click();
        await page.waitForTimeout(400);
      };
      assert.equal(
        await page.evaluate(`RED._("@speedwire/node-red-sma/sma-inverter:paletteLabel")`),
        "SMA-Wechselrichter",
        "the editor speaks German",
      );
      await open(`RED.editor.editConfig("", "sma-inverter", "inv1")`, "#node-config-dialog-cancel", "sma-inverter");
      for (const id of ["n1", "n2", "n3", "n4"]) {
        const type = String(await page.evaluate(`RED.nodes.node("${id}").type`));
        await open(`RED.editor.edit(RED.nodes.node("${id}"))`, "#node-dialog-cancel", type);
      }
      assert.deepEqual(wrapped, [], "labels on one line");
      const saidBefore = "status: nur Status (Catch einmal)";
      assert.deepEqual(
        outage,
        { "sma-energy": saidBefore, "sma-read": saidBefore, "sma-archive": saidBefore },
        "a flow saved without the setting shows the default",
      );
    });
  },
);
