/**
 * One browser test's frame: a real Node-RED (optionally with flows deployed), a headless Chromium page with
 * its editor open, a screenshot and the Node-RED log on failure, and no console errors at the end.
 */
import * as assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { Page } from "playwright-core";
import { startNodeRed, type NodeRedHandle, type StartOptions } from "./nodered";
import { collectConsoleErrors, launchBrowser, openEditor, screenshot } from "./browser";

export interface EditorOptions extends StartOptions {
  /** Deployed (full) before the editor opens. */
  flows?: unknown[];
  /** Name of the failure screenshot in test-artifacts/. */
  name: string;
  /** The browser's language (navigator.language, Accept-Language), e.g. "de": the editor follows it. */
  locale?: string;
}

export async function withEditor(
  t: TestContext,
  opts: EditorOptions,
  body: (e: { nr: NodeRedHandle; page: Page }) => Promise<void>,
): Promise<void> {
  const { flows, name, locale, ...start } = opts;
  const nr = await startNodeRed({ logLevel: "info", ...start });
  t.after(async () => void (await nr.stop()));
  if (flows) await nr.deploy(flows);
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, locale });
  const errors = collectConsoleErrors(page);
  try {
    await openEditor(page, nr.url);
    await body({ nr, page });
  } catch (err) {
    await screenshot(page, name + "-failure").catch(() => undefined);
    t.diagnostic("Node-RED log:\n" + nr.log());
    throw err;
  }
  assert.deepEqual(errors, [], "no console errors");
}

/** The inverter config node the editor tests open ("roof", 127.0.0.1:9522, id inv1; no password: a credential). */
export const ROOF_INVERTER = {
  id: "inv1",
  type: "sma-inverter",
  name: "roof",
  host: "127.0.0.1",
  port: "9522",
  serial: "",
  group: "user",
  timeout: "1500",
  retries: "2",
};
