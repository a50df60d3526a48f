/**
 * `sma-speedwire diagnose HOST --json` spawned as the compiled bin against the simulator playing each fault: the last
 * line is the JSON verdict with a text per step, and the exit code is 0 only for ok. The password comes from
 * SMA_PASSWORD (or a piped line), never from the command line.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { SimulatedInverter, SimulatedMeter } from "../../src/simulator";

const TOOL = path.join(__dirname, "..", "..", "src", "cli", "sma-speedwire.js");
const cleanup: (() => Promise<unknown> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

interface Out {
  code: number | null;
  out: string;
  err: string;
  json: { verdict: string; steps: { step: string; ok: boolean; text: string; code: string }[] };
}

/** --timeout: 300 ms where the device is silent (no-answer), 2000 where it answers (a busy machine is slow, not lossy). */
function run(args: string[], opts: { password?: string; input?: string; timeout?: number } = {}): Promise<Out> {
  const env = { ...process.env, SMA_PASSWORD: opts.password };
  if (opts.password === undefined) delete env.SMA_PASSWORD;
  const child = spawn(process.execPath, [TOOL, "diagnose", ...args, "--timeout", String(opts.timeout ?? 2000)], {
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += String(d)));
  child.stderr.on("data", (d: Buffer) => (err += String(d)));
  child.stdin.end(opts.input ?? "");
  return new Promise((resolve) =>
    child.once("exit", (code) => {
      const last = out.trim().split("\n").pop() ?? "";
      let json: Out["json"] = { verdict: "", steps: [] };
      try {
        json = JSON.parse(last) as Out["json"];
      } catch {
        // plain output
      }
      resolve({ code, out, err, json });
    }),
  );
}

async function sim(o: ConstructorParameters<typeof SimulatedInverter>[0] = {}): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({
    address: "127.0.0.1",
    port: 0,
    timeVarying: false,
    serial: 3000000222,
    userPassword: "S3cret",
    ...o,
  });
  cleanup.push(() => s.stop());
  await s.start();
  return s;
}

describe("sma-speedwire diagnose (compiled bin)", () => {
  it("ok: exit 0, the last line is {verdict, steps[{step, ok, text}]}", async () => {
    const s = await sim();
    const r = await run(["127.0.0.1", "--port", String(s.port), "--serial", "3000000222", "--json"], {
      password: "S3cret",
    });
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(r.json.verdict, "ok");
    assert.deepEqual(
      r.json.steps.slice(0, 3).map((x) => [x.step, x.ok]),
      [
        ["identify", true],
        ["serial", true],
        ["login", true],
      ],
    );
    for (const x of r.json.steps) assert.equal(typeof x.text, "string");
    assert.ok(r.json.steps.some((x) => x.step === "link" && /Round trip \d+ ms/.test(x.text)));
    assert.ok(r.json.steps.some((x) => x.step === "clock" && /No time record yet/.test(x.text)));
  });

  it("wrong-password: exit 1, with the RID hint; the password can come from a pipe", async () => {
    const s = await sim();
    const r = await run(["127.0.0.1", "--port", String(s.port), "--json"], { input: "nope\n" });
    assert.equal(r.code, 1);
    assert.equal(r.json.verdict, "wrong-password");
    assert.match(r.json.steps.find((x) => x.step === "login")?.text ?? "", /wrong password \(0x0100\).*RID/);
  });

  it("other-serial: exit 1, names the serial that answers", async () => {
    const s = await sim();
    const r = await run(["127.0.0.1", "--port", String(s.port), "--serial", "3000000999", "--json"], {
      password: "S3cret",
    });
    assert.equal(r.code, 1);
    assert.equal(r.json.verdict, "other-serial");
    assert.match(r.json.steps.find((x) => x.step === "serial")?.text ?? "", /serial 3000000222 .*not 3000000999/);
  });

  it("encrypted: exit 1", async () => {
    const s = await sim({ encrypted: true });
    const r = await run(["127.0.0.1", "--port", String(s.port), "--json"], { password: "S3cret", timeout: 300 });
    assert.equal(r.code, 1);
    assert.equal(r.json.verdict, "encrypted");
    assert.match(r.json.steps.map((x) => x.text).join(" "), /encryption is on/);
  });

  it("no-answer: exit 1 for a sleeping device; plain output ends with the verdict", async () => {
    const s = await sim({ sleeping: true });
    const r = await run(["127.0.0.1", "--port", String(s.port), "--json"], { password: "S3cret", timeout: 300 });
    assert.equal(r.code, 1);
    assert.equal(r.json.verdict, "no-answer");
    const plain = await run(["127.0.0.1", "--port", String(s.port)], { password: "S3cret", timeout: 300 });
    assert.equal(plain.code, 1);
    assert.match(plain.out, /FAIL identify +Nothing answers/);
    assert.match(plain.out.trim().split("\n").pop() ?? "", /^Verdict: no-answer/);
  });

  it("login-refused: exit 1; a usage error exits 2", async () => {
    const s = await sim({ refuseLoginsMs: 60_000 });
    const r = await run(["127.0.0.1", "--port", String(s.port), "--json"], { password: "S3cret", timeout: 300 });
    assert.equal(r.code, 1);
    assert.equal(r.json.verdict, "login-refused");
    const u = await run(["127.0.0.1", "--group", "admin"], { password: "x" });
    assert.equal(u.code, 2);
  });

  it("--meter=ADDRESS:PORT lists the meters heard on loopback (unicast) and a Home Manager found by --targets that sends nothing here", async () => {
    const s = await sim();
    const hm = await sim({ serial: 3000000372, susyId: 372 });
    // A free loopback port for the listener: the meter sends there; the bin binds it.
    const dgram = await import("node:dgram");
    const probe = dgram.createSocket("udp4");
    const port = await new Promise<number>((r) => probe.bind(0, "127.0.0.1", () => r(probe.address().port)));
    await new Promise<void>((r) => probe.close(() => r()));
    const meter = new SimulatedMeter({
      variant: "emeter20",
      serial: 1900000888,
      address: "127.0.0.1",
      port,
      intervalMs: 100,
    });
    cleanup.push(() => meter.stop());
    await meter.start();
    const r = await run(
      [
        "127.0.0.1",
        "--port",
        String(s.port),
        "--json",
        "--meter",
        `127.0.0.1:${port}`,
        "--meter-seconds",
        "2",
        "--targets",
        `127.0.0.1:${hm.port}`,
      ],
      { password: "S3cret" },
    );
    assert.equal(r.code, 0, r.out + r.err);
    const meters = r.json.steps.filter((x) => x.step === "meters").map((x) => x.text);
    assert.ok(
      meters.some((t) => /Energy meter 1900000888 .*127\.0\.0\.1:\d+, sent unicast to this host/.test(t)),
      meters.join("\n"),
    );
    assert.ok(
      meters.some((t) => /3000000372 at 127\.0\.0\.1 .*direct meter communication/.test(t)),
      meters.join("\n"),
    );
  });
});
