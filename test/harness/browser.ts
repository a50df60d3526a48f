/**
 * Headless Chromium (Debian's /usr/bin/chromium) through playwright-core, and helpers for the Node-RED editor.
 * Playwright gives every launch() a fresh temporary --user-data-dir and removes it on close.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { repoRoot } from "./fixtures";

export const CHROMIUM = process.env.SMA_CHROMIUM ?? "/usr/bin/chromium";

/** Flags without which Chromium hangs or phones home on a closed network. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Why the browser cannot run here, or undefined. Use with skipLocally() from ./runtimes. */
export function chromiumMissing(): string | undefined {
  return fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found: apt-get install -y chromium`;
}

export async function launchBrowser(): Promise<Browser> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** Opens the editor at url and waits until the palette is populated and the loading bar is gone. */
export async function openEditor(page: Page, url: string, timeoutMs = 30_000): Promise<void> {
  await page.goto(url, { waitUntil: "domcontentloaded", timeout: timeoutMs });
  await page.waitForSelector(".red-ui-palette-node[data-palette-type='inject']", {
    state: "visible",
    timeout: timeoutMs,
  });
  await page.waitForSelector("#red-ui-loading-progress", { state: "hidden", timeout: timeoutMs });
  await page.waitForSelector("#red-ui-workspace-chart svg", { state: "attached", timeout: timeoutMs });
}

/** Starts collecting console errors and uncaught page errors; the returned array fills as they happen. */
export function collectConsoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

/** Directory for screenshots and logs kept after a run (gitignored). */
export function artifactsDir(): string {
  const dir = path.join(repoRoot(), "test-artifacts");
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Full-page PNG into <repo>/test-artifacts/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(artifactsDir(), name.replace(/[^\w.-]+/g, "_") + ".png");
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
