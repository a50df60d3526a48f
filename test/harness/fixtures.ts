/** Loads the real captured packets from ../shared/fixtures/captures.json (read-only, shared with the project). */
import * as fs from "node:fs";
import * as path from "node:path";

export type CaptureKind =
  | "inverter-request"
  | "inverter-response"
  | "energy-meter"
  | "discovery-request"
  | "discovery-response";

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
  const candidates = [
    process.env.SMA_FIXTURES,
    path.join(repoRoot(), "..", "shared", "fixtures", "captures.json"),
  ].filter((p): p is string => !!p);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error("captures.json not found; looked in " + candidates.join(", "));
  return found;
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
