/**
 * Runs a real Node-RED process (its own userDir, settings.js, loopback port) and talks to it through the
 * admin HTTP API and the editor's /comms websocket, as the editor does.
 */
import { spawn, execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "./fixtures";
import { cleanEnv, freePort, openFdCount, udpSocketCount } from "./runtimes";

export { cleanEnv, freePort, until } from "./runtimes";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace";

export interface StartOptions {
  /** Node binary running Node-RED (default: the one running the tests). */
  nodeBinary?: string;
  /** Node-RED install (the folder with red.js; default: <repo>/node_modules/node-red). */
  nodeRedDir?: string;
  logLevel?: LogLevel;
  /** Also append all output to this file. */
  logFile?: string;
  /** npm-installs this into the userDir before start, as a user would: a tarball, or any npm spec (git+file://…). */
  installPackageTgz?: string;
  /** Flows written to flows.json before start. */
  flows?: unknown[];
  /** Extra settings (JSON-serialisable) merged over the generated ones. */
  settings?: Record<string, unknown>;
  /** functionGlobalContext entries as name -> module to require, e.g. { dgram: "node:dgram" }. */
  globalModules?: Record<string, string>;
  env?: Record<string, string>;
  /** Keep the userDir after stop() (for debugging). */
  keep?: boolean;
  startTimeoutMs?: number;
}

export interface DebugMessage {
  id: string;
  name?: string;
  topic?: string;
  property?: string;
  format: string;
  /** The encoded value as the editor receives it. */
  msg: string;
  /** msg decoded according to format (numbers, booleans, JSON objects/arrays; strings as-is). */
  value: unknown;
}

export interface NodeStatus {
  text?: string;
  fill?: string;
  shape?: string;
}

export interface NodeRedHandle {
  url: string;
  port: number;
  userDir: string;
  pid: number;
  log(): string;
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  deploy(flows: unknown[], type?: "full" | "nodes" | "flows" | "reload"): Promise<{ rev: string }>;
  getFlows(): Promise<{ flows: unknown[]; rev: string }>;
  inject(nodeId: string): Promise<void>;
  /** GET /nodes: the node sets; err is a string or an error object when a set failed to load. */
  nodeTypes(): Promise<
    { id: string; module: string; version?: string; types: string[]; enabled: boolean; err?: unknown }[]
  >;
  readonly debugMessages: DebugMessage[];
  clearDebug(): void;
  waitForDebug(pred: (m: DebugMessage) => boolean, timeoutMs?: number): Promise<DebugMessage>;
  readonly statuses: Map<string, NodeStatus>;
  waitForStatus(nodeId: string, pred: (s: NodeStatus) => boolean, timeoutMs?: number): Promise<NodeStatus>;
  openFds(): number;
  udpSockets(): number;
  /** SIGINT, SIGKILL after timeoutMs; removes the userDir unless keep. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

// The `ws` package (a dependency of node-red; no @types/ws): the few members used here.
interface WsLike {
  on(event: string, cb: (arg: unknown) => void): void;
  send(data: string): void;
  close(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const WebSocketImpl = require("ws") as new (url: string) => WsLike;

function decode(format: string, msg: string): unknown {
  if (format === "number") return Number(msg);
  if (format === "boolean") return msg === "true";
  if (format === "null") return null;
  if (format === "undefined") return undefined;
  if (format.startsWith("string")) return msg;
  try {
    return JSON.parse(msg) as unknown;
  } catch {
    return msg;
  }
}

function settingsJs(
  port: number,
  userDir: string,
  level: LogLevel,
  extra: Record<string, unknown>,
  globalModules: Record<string, string>,
): string {
  const settings: Record<string, unknown> = {
    uiHost: "127.0.0.1",
    uiPort: port,
    userDir,
    flowFile: "flows.json",
    credentialSecret: "sma-speedwire-e2e-secret",
    logging: { console: { level, metrics: false, audit: false } },
    editorTheme: {
      tours: false,
      projects: { enabled: false },
      multiplayer: { enabled: false },
      palette: { catalogues: [] },
    },
    externalModules: { autoInstall: false, palette: { allowInstall: false, allowUpload: false } },
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    ...extra,
  };
  const globals = Object.entries(globalModules).map(
    ([k, m]) => `  ${JSON.stringify(k)}: require(${JSON.stringify(m)}),`,
  );
  return (
    "module.exports = " +
    JSON.stringify(settings, null, 2) +
    ";\n" +
    (globals.length ? `module.exports.functionGlobalContext = {\n${globals.join("\n")}\n};\n` : "")
  );
}

function npmInstall(cwd: string, tgz: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", tgz],
      { cwd, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`npm install ${tgz} failed: ${err.message}\n${stdout}${stderr}`)) : resolve(),
    );
  });
}

export async function startNodeRed(opts: StartOptions = {}): Promise<NodeRedHandle> {
  const nodeRedDir = opts.nodeRedDir ?? path.join(repoRoot(), "node_modules", "node-red");
  const redJs = path.join(nodeRedDir, "red.js");
  if (!fs.existsSync(redJs)) throw new Error("Node-RED not found: " + redJs);
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "sma-nr-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  fs.writeFileSync(
    path.join(userDir, "settings.js"),
    settingsJs(port, userDir, opts.logLevel ?? "info", opts.settings ?? {}, opts.globalModules ?? {}),
  );
  fs.writeFileSync(
    path.join(userDir, "package.json"),
    JSON.stringify({ name: "node-red-project", version: "0.0.1", private: true, dependencies: {} }, null, 2),
  );
  if (opts.flows) fs.writeFileSync(path.join(userDir, "flows.json"), JSON.stringify(opts.flows, null, 2));
  const discard = (): void => void (opts.keep || fs.rmSync(userDir, { recursive: true, force: true }));
  if (opts.installPackageTgz)
    await npmInstall(userDir, opts.installPackageTgz).catch((e: unknown) => {
      discard();
      throw e;
    });

  const child = spawn(
    opts.nodeBinary ?? process.execPath,
    [redJs, "--userDir", userDir, "--settings", path.join(userDir, "settings.js")],
    { cwd: userDir, env: cleanEnv(opts.env), stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const logStream = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: "a" }) : undefined;
  const logWaiters = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    output += chunk.toString("utf8");
    logStream?.write(chunk);
    for (const w of [...logWaiters]) w();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const ended = (info: { code: number | null; signal: NodeJS.Signals | null }): void => {
      exitInfo ??= info;
      for (const w of [...logWaiters]) w();
      resolve(exitInfo);
    };
    child.on("exit", (code, signal) => ended({ code, signal }));
    child.on("error", (err) => {
      output += `spawn error: ${err.message}\n`;
      ended({ code: -1, signal: null });
    });
  });
  const pid = child.pid ?? -1;
  // Never leave an orphan behind if the test process ends without stop().
  const killOnExit = (): void => void (exitInfo ?? child.kill("SIGKILL"));
  process.once("exit", killOnExit);

  const waitForLog = (re: RegExp, timeoutMs = 10_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(output);
        if (m) return done(() => resolve(m[0]));
        if (exitInfo)
          done(() => reject(new Error(`Node-RED exited (${JSON.stringify(exitInfo)}) before ${re}:\n${output}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no log ${re} within ${timeoutMs} ms:\n${output}`))),
        timeoutMs,
      );
      const done = (f: () => void): void => {
        clearTimeout(timer);
        logWaiters.delete(check);
        f();
      };
      logWaiters.add(check);
      check();
    });

  const api = async (
    method: string,
    p: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<unknown> => {
    const res = await fetch(url + p.replace(/^\//, ""), {
      method,
      headers: {
        Accept: "application/json",
        ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...headers,
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${text}`);
    return text && /json/.test(res.headers.get("content-type") ?? "") ? (JSON.parse(text) as unknown) : text;
  };

  // Ready = the admin API answers (independent of the log level; /auth/login is open even with adminAuth).
  const startEnd = Date.now() + (opts.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exitInfo) {
      discard();
      throw new Error(`Node-RED exited during start (${JSON.stringify(exitInfo)}):\n${output}`);
    }
    try {
      await api("GET", "auth/login");
      break;
    } catch {
      if (Date.now() > startEnd) {
        child.kill("SIGKILL");
        await exited;
        discard();
        throw new Error(`Node-RED did not answer on ${url} within ${opts.startTimeoutMs ?? 30_000} ms:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // The editor's comms channel: debug messages and node status.
  const debugMessages: DebugMessage[] = [];
  const statuses = new Map<string, NodeStatus>();
  const deployedRevisions: string[] = []; // runtime-deploy notifications: sent once the flows have started
  const commsWaiters = new Set<() => void>();
  const ws = new WebSocketImpl(`ws://127.0.0.1:${port}/comms`);
  await new Promise<void>((resolve, reject) => {
    ws.on("open", () => resolve());
    ws.on("error", (e) => reject(e instanceof Error ? e : new Error(String(e))));
  });
  ws.on("error", () => undefined);
  ws.on("message", (data) => {
    let batch: unknown;
    try {
      batch = JSON.parse(String(data));
    } catch {
      return;
    }
    for (const item of Array.isArray(batch) ? batch : [batch]) {
      if (typeof item !== "object" || item === null) continue;
      const { topic, data: d } = item as { topic?: unknown; data?: unknown };
      if (typeof topic !== "string" || typeof d !== "object" || d === null) continue;
      const rec = d as Record<string, unknown>;
      if (topic === "debug") {
        const format = typeof rec.format === "string" ? rec.format : "";
        const msg = typeof rec.msg === "string" ? rec.msg : String(rec.msg);
        debugMessages.push({
          id: String(rec.id),
          format,
          msg,
          value: decode(format, msg),
          name: typeof rec.name === "string" ? rec.name : undefined,
          topic: typeof rec.topic === "string" ? rec.topic : undefined,
          property: typeof rec.property === "string" ? rec.property : undefined,
        });
      } else if (topic === "notification/runtime-deploy") {
        deployedRevisions.push(String(rec.revision));
      } else if (topic.startsWith("status/")) {
        statuses.set(topic.slice("status/".length), rec as NodeStatus);
      }
    }
    for (const w of [...commsWaiters]) w();
  });
  ws.send(JSON.stringify({ subscribe: "debug" }));
  ws.send(JSON.stringify({ subscribe: "status/#" }));
  ws.send(JSON.stringify({ subscribe: "notification/runtime-deploy" }));

  const waitComms = <T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const tick = (): void => {
        const v = check();
        if (v !== undefined) finish(() => resolve(v));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))),
        timeoutMs,
      );
      const finish = (f: () => void): void => {
        clearTimeout(timer);
        commsWaiters.delete(tick);
        f();
      };
      commsWaiters.add(tick);
      tick();
    });

  return {
    url,
    port,
    userDir,
    pid,
    log: () => output,
    waitForLog,
    // POST /flows answers before the new flows have started; wait for the runtime-deploy notification.
    deploy: async (flows, type = "full") => {
      const seen = deployedRevisions.length;
      const res = (await api(
        "POST",
        "flows",
        { flows },
        { "Node-RED-API-Version": "v2", "Node-RED-Deployment-Type": type },
      )) as { rev: string };
      await waitComms(
        `flows ${res.rev} started`,
        () => (deployedRevisions.indexOf(res.rev, seen) >= 0 ? true : undefined),
        30_000,
      );
      return res;
    },
    getFlows: async () =>
      (await api("GET", "flows", undefined, { "Node-RED-API-Version": "v2" })) as { flows: unknown[]; rev: string },
    inject: async (nodeId) => {
      await api("POST", `inject/${encodeURIComponent(nodeId)}`, {});
    },
    nodeTypes: async () => (await api("GET", "nodes")) as Awaited<ReturnType<NodeRedHandle["nodeTypes"]>>,
    debugMessages,
    clearDebug: () => void debugMessages.splice(0),
    waitForDebug: (pred, timeoutMs = 10_000) =>
      waitComms(
        "a debug message" + "; got: " + JSON.stringify(debugMessages.slice(-5)),
        () => debugMessages.find(pred),
        timeoutMs,
      ),
    statuses,
    waitForStatus: (nodeId, pred, timeoutMs = 10_000) =>
      waitComms(
        `status of ${nodeId} (last: ${JSON.stringify(statuses.get(nodeId))})`,
        () => {
          const s = statuses.get(nodeId);
          return s && pred(s) ? s : undefined;
        },
        timeoutMs,
      ),
    openFds: () => openFdCount(pid),
    udpSockets: () => udpSocketCount(pid),
    stop: async (timeoutMs = 10_000) => {
      ws.close();
      if (!exitInfo) child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const info = await exited;
      clearTimeout(timer);
      process.removeListener("exit", killOnExit);
      await new Promise<void>((r) => (logStream ? logStream.end(() => r()) : r()));
      discard();
      return info;
    },
  };
}
