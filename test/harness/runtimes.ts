/**
 * The machine the e2e and browser tests run on: the Node-RED / Node pairs, the CI-vs-local rule for anything
 * missing (in CI, env CI=true, a missing tool fails the test; locally it is skipped), and process helpers
 * (free ports, clean child env, fd and UDP socket counts from /proc).
 */
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { repoRoot } from "./fixtures";

export interface Runtime {
  name: string;
  /** Node binary running Node-RED. */
  node: string;
  /** Node-RED install folder (holds red.js). */
  nodeRedDir: string;
  /** Why it cannot run here (undefined when available). */
  missing?: string;
}

export const INSTALL_RUNTIMES_HINT =
  "run `node scripts/install-runtimes.js` (installs Node 22 + Node-RED 5 into .cache/nr5)";

/** True when running in CI (env CI set to anything but "", "0" or "false"). */
export function isCI(): boolean {
  const v = (process.env.CI ?? "").toLowerCase();
  return v !== "" && v !== "0" && v !== "false";
}

/**
 * For node:test's `skip` option: locally the reason (the test is skipped with it), in CI false (the test
 * runs and fails with the same reason, thrown by whatever needs the missing tool). undefined -> false.
 */
export function skipLocally(missing: string | undefined): string | false {
  return missing !== undefined && !isCI() ? missing : false;
}

/** Throws the missing-reason (CI, or a test that did not use skipLocally). */
export function assertAvailable(missing: string | undefined): void {
  if (missing !== undefined) throw new Error(missing);
}

function nr5(): Runtime {
  const name = "Node-RED 5 / Node 22";
  const dir = path.join(repoRoot(), ".cache", "nr5");
  const info = path.join(dir, "runtime.json");
  const fallback = { name, node: "", nodeRedDir: "" };
  if (!fs.existsSync(info)) return { ...fallback, missing: `${name} not installed: ${INSTALL_RUNTIMES_HINT}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(info, "utf8"));
  } catch {
    return { ...fallback, missing: `${info} unreadable: ${INSTALL_RUNTIMES_HINT}` };
  }
  const rec = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const node = typeof rec.node === "string" ? rec.node : "";
  const nodeRedDir = typeof rec.nodeRedDir === "string" ? rec.nodeRedDir : "";
  if (!node || !fs.existsSync(node) || !nodeRedDir || !fs.existsSync(path.join(nodeRedDir, "red.js"))) {
    return { ...fallback, missing: `${name} incomplete in ${dir}: ${INSTALL_RUNTIMES_HINT}` };
  }
  return { name, node, nodeRedDir };
}

/** All runtime pairs, available or not (check `missing`). */
export function runtimes(): Runtime[] {
  return [
    {
      name: "Node-RED 4.1 / Node 20",
      node: process.execPath,
      nodeRedDir: path.join(repoRoot(), "node_modules", "node-red"),
    },
    nr5(),
  ];
}

/** The version of the Node-RED install in dir. */
export function nodeRedVersion(dir: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version?: unknown };
  return String(pkg.version);
}

// --- processes on this machine ---------------------------------------------------------------------

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A free UDP port on 127.0.0.1 (bind port 0, read it, close). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

/** process.env without npm's script variables and the node:test marker, for child processes. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && k !== "NODE_TEST_CONTEXT" && k !== "NODE_OPTIONS") env[k] = v;
  }
  return { ...env, ...extra };
}

/** Polls until check() returns a value (not undefined) or the time is up. */
export async function until<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Number of open file descriptors of a process (Linux /proc). */
export function openFdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** Number of UDP sockets (v4 + v6) a process holds: its fd links matched against /proc/<pid>/net/udp{,6}. */
export function udpSocketCount(pid: number): number {
  const inodes = new Set<string>();
  for (const f of ["udp", "udp6"]) {
    const p = `/proc/${pid}/net/${f}`;
    if (!fs.existsSync(p)) continue;
    for (const line of fs.readFileSync(p, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9) inodes.add(cols[9]);
    }
  }
  const dir = `/proc/${pid}/fd`;
  let n = 0;
  for (const fd of fs.readdirSync(dir)) {
    let link = "";
    try {
      link = fs.readlinkSync(path.join(dir, fd));
    } catch {
      continue; // closed meanwhile
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m && inodes.has(m[1])) n++;
  }
  return n;
}
