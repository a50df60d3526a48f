/**
 * Private Mosquitto and InfluxDB 1.x instances on free loopback ports, all state in a temp dir.
 * Missing binary: the start functions throw the apt-get command; tests use
 * `skip: skipLocally(mosquittoMissing())` (./runtimes) so that it is a skip locally and a failure in CI.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { cleanEnv, freePort } from "./runtimes";

export interface Service {
  port: number;
  /** http://127.0.0.1:<port> (InfluxDB) or mqtt://127.0.0.1:<port> (Mosquitto). */
  url: string;
  log(): string;
  stop(): Promise<void>;
}

function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"];
  for (const d of dirs) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

export function mosquittoMissing(): string | undefined {
  return findBinary("mosquitto") ? undefined : "mosquitto not found: apt-get install -y mosquitto";
}

export function influxdMissing(): string | undefined {
  return findBinary("influxd") ? undefined : "influxd not found: apt-get install -y influxdb";
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function launch(
  name: string,
  bin: string,
  args: string[],
  dir: string,
  port: number,
  url: string,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<Service> {
  const child: ChildProcess = spawn(bin, args, { cwd: dir, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let exited = false;
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  const exit = new Promise<void>((resolve) => {
    child.on("exit", () => {
      exited = true;
      resolve();
    });
    child.on("error", (e) => {
      output += `spawn error: ${e.message}\n`;
      exited = true;
      resolve();
    });
  });
  const killOnExit = (): void => void (exited || child.kill("SIGKILL"));
  process.once("exit", killOnExit);
  const stop = async (): Promise<void> => {
    if (!exited) child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exit;
    clearTimeout(t);
    process.removeListener("exit", killOnExit);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const end = Date.now() + timeoutMs;
  while (!(await ready().catch(() => false))) {
    if (exited || Date.now() > end) {
      await stop();
      throw new Error(`${name} did not become ready on port ${port}${exited ? " (exited)" : ""}:\n${output}`);
    }
    await sleep(100);
  }
  return { port, url, log: () => output, stop };
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export async function startMosquitto(timeoutMs = 10_000): Promise<Service> {
  const bin = findBinary("mosquitto");
  if (!bin) throw new Error(mosquittoMissing());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sma-mosquitto-"));
  fs.chmodSync(dir, 0o755); // mosquitto drops root privileges to user "mosquitto" after reading the config
  const port = await freePort();
  const conf = path.join(dir, "mosquitto.conf");
  fs.writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence false",
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      "log_type notice",
      "",
    ].join("\n"),
  );
  return launch("mosquitto", bin, ["-c", conf], dir, port, `mqtt://127.0.0.1:${port}`, () => tcpOpen(port), timeoutMs);
}

export async function startInfluxDb(timeoutMs = 30_000): Promise<Service> {
  const bin = findBinary("influxd");
  if (!bin) throw new Error(influxdMissing());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sma-influx-"));
  const port = await freePort();
  const rpcPort = await freePort();
  const conf = path.join(dir, "influxdb.conf");
  const q = (p: string): string => JSON.stringify(path.join(dir, p));
  fs.writeFileSync(
    conf,
    [
      "reporting-disabled = true",
      `bind-address = "127.0.0.1:${rpcPort}"`,
      "[meta]",
      `  dir = ${q("meta")}`,
      "[data]",
      `  dir = ${q("data")}`,
      `  wal-dir = ${q("wal")}`,
      "  query-log-enabled = false",
      "[http]",
      "  enabled = true",
      `  bind-address = "127.0.0.1:${port}"`,
      "  log-enabled = false",
      "  auth-enabled = false",
      "  flux-enabled = false",
      "[monitor]",
      "  store-enabled = false",
      "[subscriber]",
      "  enabled = false",
      "[continuous_queries]",
      "  enabled = false",
      "",
    ].join("\n"),
  );
  const url = `http://127.0.0.1:${port}`;
  const ready = async (): Promise<boolean> => (await fetch(url + "/ping")).status === 204;
  return launch("influxd", bin, ["-config", conf], dir, port, url, ready, timeoutMs);
}
