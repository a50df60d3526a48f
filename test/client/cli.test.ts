/**
 * The sma-speedwire command (compiled bin, spawned with node): `trace` against a simulated inverter writes a file
 * without the password that `sma-speedwire-sim --replay` then serves with the same values.
 */
import { after, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SpeedwireClient, parseTrace } from "../../src/client";
import { SimulatedInverter } from "../../src/simulator";
import { QUERY_NAMES } from "../../src/protocol";

const TOOL = path.join(__dirname, "..", "..", "src", "cli", "sma-speedwire.js");
const SIM = path.join(__dirname, "..", "..", "src", "simulator", "cli.js");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sma-trace-"));
const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [TOOL, ...args], {
    env: { ...process.env, SMA_PASSWORD: undefined, ...opts.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += String(d)));
  child.stderr.on("data", (d: Buffer) => (err += String(d)));
  child.stdin.end(opts.input ?? "");
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, out, err })));
}

async function startReplay(file: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [SIM, "--replay", file, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  cleanup.push(() => void child.kill("SIGKILL"));
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += String(d)));
  child.stderr.on("data", (d: Buffer) => (out += String(d)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no start line: " + out)), 10_000);
    child.stdout.on("data", () => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return { child, port };
}

it("trace HOST writes a trace without the password; sma-speedwire-sim --replay serves the same values", async () => {
  const password = "Tr4ce-" + String(Date.now() % 100000);
  const sim = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: false, userPassword: password });
  cleanup.push(() => sim.stop());
  await sim.start();
  const file = path.join(dir, "trace.json");
  const r = await run(
    ["trace", "127.0.0.1", "--port", String(sim.port), "--serial", String(sim.serial), "--out", file],
    { env: { SMA_PASSWORD: password } },
  );
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /wrote \d+ datagrams/);
  const text = fs.readFileSync(file, "utf8");
  assert.ok(!text.includes(password), "no password in the file");
  const trace = parseTrace(text);
  assert.equal(trace.device.serial, sim.serial);

  const client = new SpeedwireClient();
  cleanup.push(() => client.close());
  const want = await client.inverter({ host: "127.0.0.1", port: sim.port, password }).read(QUERY_NAMES);
  const { child, port } = await startReplay(file);
  const got = await client.inverter({ host: "127.0.0.1", port, password: "nope" }).read(QUERY_NAMES);
  assert.deepEqual(got.values, want.values);
  assert.deepEqual(got.unsupported, want.unsupported);
  const exit = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  child.kill("SIGTERM");
  assert.equal(await exit, 0);
});

it("the password is read from stdin when SMA_PASSWORD is not set; never taken from the command line", async () => {
  const sim = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: false, userPassword: "piped1" });
  cleanup.push(() => sim.stop());
  await sim.start();
  const file = path.join(dir, "piped.json");
  const ok = await run(["trace", "127.0.0.1", "--port", String(sim.port), "--out", file, "--timeout", "300"], {
    input: "piped1\n",
  });
  assert.equal(ok.code, 0, ok.err);
  assert.equal(sim.stats.loginFailures, 0);
  const refused = await run(["trace", "127.0.0.1", "--password", "x", "--out", path.join(dir, "no.json")]);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /Usage: sma-speedwire trace/);
  assert.ok(!fs.existsSync(path.join(dir, "no.json")));
  const unknown = await run(["nonsense"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /trace HOST/);
});

it("a read that fails still writes its trace (exit 1): a wrong password's refusal is in it", async () => {
  const sim = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: false });
  cleanup.push(() => sim.stop());
  await sim.start();
  const file = path.join(dir, "refused.json");
  const r = await run(["trace", "127.0.0.1", "--port", String(sim.port), "--out", file], {
    env: { SMA_PASSWORD: "wrong1" },
  });
  assert.equal(r.code, 1);
  assert.match(r.err, /EAUTH/);
  const trace = parseTrace(fs.readFileSync(file, "utf8"));
  assert.ok(trace.entries.some((e) => e.dir === "in" && e.command === "0xfffd040d"));
});
