/** The sma-speedwire-sim command: an inverter that answers, a meter that sends, a clean stop on SIGTERM. */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as dgram from "node:dgram";
import * as path from "node:path";
import { decodeMeterDatagram } from "../../src/protocol";
import { SpeedwireClient } from "../../src/client";

const CLI = path.join(__dirname, "..", "..", "src", "simulator", "cli.js");

it("--meter sends meter datagrams where --meter-to says; the inverter answers reads; SIGTERM stops both", async (t) => {
  const sink = dgram.createSocket("udp4");
  t.after(() => sink.close());
  const frames: Buffer[] = [];
  sink.on("message", (m) => frames.push(m));
  await new Promise<void>((r) => sink.bind(0, "127.0.0.1", r));
  const child = spawn(
    process.execPath,
    [
      CLI,
      "--port",
      "0",
      "--static",
      "--meter",
      "--meter-to",
      `127.0.0.1:${sink.address().port}`,
      "--meter-interval",
      "100",
      "--meter-variant",
      "emeter20",
      "--meter-serial",
      "1900000042",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  t.after(() => child.kill("SIGKILL"));
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += String(d)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no start line: " + out)), 10_000);
    child.stdout.on("data", () => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m && /energy meter simulator 1900000042 \(emeter20\)/.test(out)) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  const client = new SpeedwireClient();
  t.after(() => client.close());
  const r = await client.inverter({ host: "127.0.0.1", port, password: "0000", timeoutMs: 500 }).read(["acPowerTotal"]);
  assert.equal(r.device.serial, 3010538116, "the pv profile's serial");
  assert.ok(typeof r.values.acPower === "number" && r.values.acPower > 0, `acPower ${String(r.values.acPower)}`);
  for (const end = Date.now() + 10_000; frames.length < 2 && Date.now() < end;)
    await new Promise((res) => setTimeout(res, 20));
  assert.ok(frames.length >= 2, `meter frames: ${frames.length}`);
  const d = decodeMeterDatagram(frames[frames.length - 1]);
  assert.equal(d.serial, 1900000042);
  const exit = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  child.kill("SIGTERM");
  assert.equal(await exit, 0);
});

it("a bad --meter-to is refused with exit code 2 and the usage", async () => {
  const child = spawn(process.execPath, [CLI, "--port", "0", "--meter", "--meter-to", "nowhere"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += String(d)));
  const code = await new Promise<number | null>((res) => child.once("exit", res));
  assert.equal(code, 2);
  assert.match(err, /--meter-to must be an IPv4 address/);
  assert.match(err, /Usage: sma-speedwire-sim/);
});

it("--help names the device quirks; a bad --late-answer is refused with exit code 2", async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += String(d)));
      child.stderr.on("data", (d: Buffer) => (err += String(d)));
      child.once("exit", (code) => resolve({ code, out, err }));
    });
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /--partner-requests MS/);
  assert.match(help.out, /--late-answer N:MS/);
  const bad = await run(["--port", "0", "--late-answer", "0:100"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--late-answer must be N:MS/);
});
