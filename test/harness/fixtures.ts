/** Loads the real captured packets from test/fixtures/captures.json (sources in test/fixtures/README.md). */
import * as fs from "node:fs";
import * as path from "node:path";

export type CaptureKind =
  "inverter-request" | "inverter-response" | "energy-meter" | "discovery-request" | "discovery-response";

export interface Capture {
  id: string;
  kind: CaptureKind;
  device: string;
  hex: string;
  length?: number;
  pairs_with: string | null;
  reported: Record<string, unknown> | null;
  derived?: Record<string, unknown> | null;
  source: string;
  notes?: string;
}

/** The repository root (the folder holding package.json), from build/test/harness or test/harness. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error("package.json not found above " + __dirname);
    dir = up;
  }
  return dir;
}

export function capturesPath(): string {
  return path.join(repoRoot(), "test", "fixtures", "captures.json");
}

let cache: Capture[] | undefined;
export function loadCaptures(): Capture[] {
  cache ??= JSON.parse(fs.readFileSync(capturesPath(), "utf8")) as Capture[];
  return cache;
}

export function capturesOfKind(kind: CaptureKind): Capture[] {
  return loadCaptures().filter((c) => c.kind === kind);
}

export function bytes(c: Capture): Buffer {
  return Buffer.from(c.hex, "hex");
}
