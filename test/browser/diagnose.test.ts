/**
 * The Diagnose button of the sma-inverter dialog in a real Chromium against a real Node-RED: it checks the host the
 * dialog holds (not yet deployed, password as typed) against the simulator and lists each step with the verdict.
 */
import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import { withEditor } from "../harness/editor";
import { chromiumMissing, screenshot } from "../harness/browser";
import { skipLocally } from "../harness/runtimes";
import { packPackage } from "../harness/pack";
import { SimulatedInverter } from "../../src/simulator";

const sims: SimulatedInverter[] = [];
after(() => Promise.all(sims.map((s) => s.stop())));

test(
  "editor: Diagnose lists each step and the verdict for the settings in the dialog",
  { skip: skipLocally(chromiumMissing()), timeout: 240_000 },
  async (t) => {
    const sim = new SimulatedInverter({
      address: "127.0.0.1",
      port: 0,
      timeVarying: false,
      serial: 3000000666,
      userPassword: "Br0wser",
    });
    sims.push(sim);
    await sim.start();
    const tgz = await packPackage();
    const flows = [
      { id: "tab1", type: "tab", label: "sma" },
      {
        id: "inv1",
        type: "sma-inverter",
        name: "roof",
        host: "127.0.0.2",
        port: "9522",
        serial: "",
        group: "user",
        timeout: "2000",
        retries: "1",
      },
    ];
    await withEditor(t, { name: "diagnose", installPackageTgz: tgz, flows }, async ({ page }) => {
      await page.evaluate(`RED.editor.editConfig("", "sma-inverter", "inv1")`);
      await page.locator("#sma-inverter-diagnose").waitFor({ timeout: 10_000 });
      // The dialog's values, not the deployed ones: another host and port, a serial and a typed (wrong) password.
      await page.locator("#node-config-input-host").fill("127.0.0.1");
      await page.locator("#node-config-input-port").fill(String(sim.port));
      await page.locator("#node-config-input-serial").fill("3000000666");
      await page.locator("#node-config-input-password").fill("wrong");
      await page.locator("#sma-inverter-diagnose").click();
      const verdict = page.locator("#sma-inverter-diagnose-steps li.sma-verdict");
      await verdict.waitFor({ timeout: 30_000 });
      assert.equal(await verdict.getAttribute("data-verdict"), "wrong-password");
      assert.equal(await verdict.innerText(), "Verdict: Wrong password.");
      const login = page.locator("#sma-inverter-diagnose-steps li[data-code='login.wrong-password']");
      assert.match(await login.innerText(), /Login as user refused: wrong password \(0x0100\).*RID/);
      assert.ok(((await login.getAttribute("class")) ?? "").includes("sma-fail"));
      assert.match(
        await page.locator("#sma-inverter-diagnose-steps li[data-code='identify.ok']").innerText(),
        /serial 3000000666/,
      );
      t.diagnostic("screenshot: " + (await screenshot(page, "diagnose-wrong-password")));

      await page.locator("#node-config-input-password").fill("Br0wser");
      await page.locator("#sma-inverter-diagnose").click();
      await page.waitForFunction(
        `document.querySelector("#sma-inverter-diagnose-steps li.sma-verdict")?.dataset.verdict === "ok"`,
        undefined,
        { timeout: 30_000 },
      );
      assert.equal(await verdict.innerText(), "Verdict: Everything needed works: this device can be read.");
      const texts = await page.locator("#sma-inverter-diagnose-steps li").allInnerTexts();
      assert.ok(
        texts.some((x) => /Login as user accepted/.test(x)),
        texts.join("\n"),
      );
      assert.ok(
        texts.some((x) => /Round trip \d+ ms/.test(x)),
        texts.join("\n"),
      );
      assert.ok(
        texts.some((x) => /No time record yet/.test(x)),
        texts.join("\n"),
      );
      assert.ok(!texts.some((x) => /__[a-zA-Z]+__/.test(x)), "every placeholder filled");
      await verdict.scrollIntoViewIfNeeded();
      t.diagnostic("screenshot: " + (await screenshot(page, "diagnose-ok")));
      await page.locator("#node-config-dialog-cancel").click();
    });
  },
);
