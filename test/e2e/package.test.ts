/**
 * The package as users get it, built from a clean clone of HEAD (git clone + npm ci, nothing of the working tree):
 * its `npm pack` tarball holds what Node-RED and `require()` need and nothing of the sources or tests; installed
 * into a fresh Node-RED user dir (every runtime pair) it loads every node type package.json lists and reads a
 * simulated inverter through the admin API; docs/LIBRARY.md's "Use from Node.js" example runs against it; and
 * `npm install git+file://…` of the clone (npm builds it with its devDependencies) does the same.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { startNodeRed, type NodeRedHandle } from "../harness/nodered";
import { assertAvailable, cleanEnv, runtimes, skipLocally, type Runtime } from "../harness/runtimes";
import { cleanClone, packCleanClone } from "../harness/pack";
import { repoRoot } from "../harness/fixtures";
import { packageNodeTypes } from "../harness/examples";
import { SimulatedInverter } from "../../src/simulator";

interface Manifest {
  name: string;
  main: string;
  types: string;
  "node-red": { nodes: Record<string, string> };
}
const PKG = JSON.parse(fs.readFileSync(path.join(repoRoot(), "package.json"), "utf8")) as Manifest;
const TYPES = packageNodeTypes().map((t) => t.type);
const LANGS = ["en-US", "de"];

const USER_PW = "Pv-Secret1";
const WRONG_PW = "Wrong-Pw-77";

function flows(port: number): unknown[] {
  const tab = "e2etab";
  const node = (o: Record<string, unknown>) => ({ z: tab, x: 100, y: 100, ...o });
  return [
    { id: tab, type: "tab", label: "e2e" },
    {
      id: "invok",
      type: "sma-inverter",
      name: "sim",
      host: "127.0.0.1",
      port: String(port),
      serial: "",
      group: "user",
      timeout: "300",
      retries: "1",
      credentials: { password: USER_PW },
    },
    {
      id: "invbad",
      type: "sma-inverter",
      name: "bad",
      host: "127.0.0.1",
      port: String(port),
      serial: "",
      group: "user",
      timeout: "300",
      retries: "1",
      credentials: { password: WRONG_PW },
    },
    node({
      id: "injac",
      type: "inject",
      props: [{ p: "payload" }],
      payload: "",
      payloadType: "date",
      repeat: "",
      once: false,
      wires: [["ac"]],
    }),
    node({ id: "ac", type: "sma-spot-ac", inverter: "invok", topic: "", wires: [["dbgac"]] }),
    node({
      id: "dbgac",
      type: "debug",
      active: true,
      tosidebar: true,
      complete: "true",
      targetType: "full",
      wires: [],
    }),
    node({
      id: "injbad",
      type: "inject",
      props: [{ p: "payload" }],
      payload: "",
      payloadType: "date",
      repeat: "",
      once: false,
      wires: [["energybad"]],
    }),
    node({ id: "energybad", type: "sma-energy", inverter: "invbad", topic: "", wires: [[]] }),
    node({ id: "catch1", type: "catch", scope: ["energybad"], uncaught: false, wires: [["dbgcatch"]] }),
    node({
      id: "dbgcatch",
      type: "debug",
      active: true,
      tosidebar: true,
      complete: "error",
      targetType: "msg",
      wires: [],
    }),
  ];
}

/** Every node type of package.json loaded, a read answered, a wrong password caught; no password anywhere. */
async function checkInstalled(nr: NodeRedHandle, sim: SimulatedInverter): Promise<void> {
  const sets = (await nr.nodeTypes()).filter((s) => s.module === PKG.name);
  const state = JSON.stringify(sets.map((s) => [s.id, s.err ?? "ok"]));
  for (const set of Object.keys(PKG["node-red"].nodes)) {
    assert.ok(
      sets.some((s) => s.id === `${PKG.name}/${set}` && s.err === undefined),
      `node set ${set} loaded (sets: ${state})`,
    );
  }
  const loaded = sets.flatMap((s) => (s.err ? [] : s.types));
  assert.ok(TYPES.length >= 10, TYPES.join(", "));
  for (const type of TYPES) assert.ok(loaded.includes(type), `${type} loaded (sets: ${state})`);

  await nr.deploy(flows(sim.port));
  await nr.inject("injac");
  const ac = await nr.waitForDebug((m) => m.id === "dbgac", 15_000);
  const msg = ac.value as { payload: Record<string, number>; topic: string; sma: { serial: number } };
  const want = sim.currentValues();
  assert.equal(msg.payload.powerL1, want.acPowerL1);
  assert.equal(msg.payload.voltageL2, want.acVoltageL2);
  assert.equal(msg.payload.frequency, want.gridFrequency);
  assert.equal(msg.topic, `sma/${sim.serial}/ac`);
  assert.equal(msg.sma.serial, sim.serial);
  const okStatus = await nr.waitForStatus("ac", (s) => s.fill === "green", 5_000);
  assert.match(String(okStatus.text), /^ok \d\d:\d\d:\d\d$/);

  await nr.inject("injbad");
  const caught = await nr.waitForDebug((m) => m.id === "dbgcatch", 15_000);
  assert.equal((caught.value as { code?: string }).code, "EAUTH");
  const badStatus = await nr.waitForStatus("energybad", (s) => s.fill === "red", 5_000);
  assert.equal(badStatus.text, "wrong password");

  const flowsJson = fs.readFileSync(path.join(nr.userDir, "flows.json"), "utf8");
  const credJson = fs.readFileSync(path.join(nr.userDir, "flows_cred.json"), "utf8");
  for (const pw of [USER_PW, WRONG_PW]) {
    assert.ok(!flowsJson.includes(pw), "password in flows.json");
    assert.ok(!credJson.includes(pw), "password in clear in flows_cred.json");
    assert.ok(!nr.log().includes(pw), "password in the trace log");
    assert.ok(!JSON.stringify(nr.debugMessages).includes(pw), "password in a debug message");
  }
  assert.match(JSON.parse(credJson).$ ?? "", /^[0-9a-f]{32}/, "flows_cred.json is encrypted");
}

async function withSimulator(t: { after(fn: () => unknown): void }): Promise<SimulatedInverter> {
  const sim = new SimulatedInverter({ address: "127.0.0.1", port: 0, userPassword: USER_PW, phases: 3 });
  await sim.start();
  t.after(() => sim.stop());
  return sim;
}

/** The library example of docs/LIBRARY.md ("Use from Node.js"): its first js block. */
function libraryExample(): string {
  const doc = fs.readFileSync(path.join(repoRoot(), "docs", "LIBRARY.md"), "utf8");
  const m = /```js\n([\s\S]*?)```/.exec(doc);
  assert.ok(doc.startsWith("# Use from Node.js\n") && m, "docs/LIBRARY.md is Use from Node.js with a js example");
  return m[1];
}

function runNode(rt: Runtime, file: string, cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(rt.node, [file], { cwd, env: cleanEnv(), timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, out: stdout + stderr }),
    );
  });
}

test(
  "the tarball of a clean clone holds what Node-RED and require() need, and no sources, maps or tests",
  { timeout: 600_000 },
  async () => {
    const tgz = await packCleanClone();
    const files = execFileSync("tar", ["-tzf", tgz], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ""));
    const has = (f: string): boolean => files.includes(f);
    for (const [set, js] of Object.entries(PKG["node-red"].nodes)) {
      const dir = path.posix.dirname(js);
      const base = path.posix.basename(js, ".js");
      assert.ok(has(js), `${set}: ${js}`);
      const html = `${dir}/${base}.html`;
      assert.ok(has(html), `${set}: ${html}`);
      for (const lang of LANGS) {
        assert.ok(has(`${dir}/locales/${lang}/${base}.json`), `${set}: ${lang} messages`);
        assert.ok(has(`${dir}/locales/${lang}/${base}.html`), `${set}: ${lang} help`);
      }
      // Node-RED finds a set's icons only in the icons/ folder beside its .js: the ones its editor names, one per type.
      const editor = execFileSync("tar", ["-xzOf", tgz, `package/${html}`], { encoding: "utf8" });
      const icons = [...editor.matchAll(/\bicon:\s*"([^"]+)"/g)].map((m) => m[1]);
      for (const t of packageNodeTypes().filter((i) => i.set === set)) icons.push(`${t.type}.svg`);
      for (const icon of icons) assert.ok(has(`${dir}/icons/${icon}`), `${set}: icon ${icon}`);
      // The editor scripts it loads from resources/ (built from nodes/<set>/editor.ts by prepare, not in git).
      for (const [, script] of editor.matchAll(/resources\/@speedwire\/node-red-sma\/([\w.-]+)/g))
        assert.ok(has(`resources/${script}`), `${set}: resources/${script}`);
    }
    for (const f of ["package.json", "README.md", "LICENSE", PKG.main, PKG.types]) assert.ok(has(f), f);
    const clone = await cleanClone();
    for (const f of fs.readdirSync(path.join(clone, "examples"))) assert.ok(has(`examples/${f}`), `examples/${f}`);
    const license = execFileSync("tar", ["-xzOf", tgz, "package/LICENSE"], { encoding: "utf8" });
    assert.match(
      license,
      /Apache License\s+Version 2\.0, January 2004[\s\S]*TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION[\s\S]*END OF TERMS AND CONDITIONS/,
    );
    const unwanted = files.filter(
      (f) =>
        (/\.map$|\.ts$/.test(f) && !/\.d\.ts$/.test(f)) ||
        /^(src|test|build|bench|scripts|docs|\.ci)\//.test(f) ||
        /^dist\/nodes\/.*\.d\.ts$/.test(f),
    );
    assert.deepEqual(unwanted, [], "no sources, maps, tests or tools in the tarball");
  },
);

for (const rt of runtimes()) {
  test(
    `the clean clone's tarball installed into Node-RED reads a simulated inverter, and require() works, on ${rt.name}`,
    { skip: skipLocally(rt.missing), timeout: 600_000 },
    async (t) => {
      assertAvailable(rt.missing);
      const sim = await withSimulator(t);
      const tgz = await packCleanClone();
      const nr = await startNodeRed({
        nodeBinary: rt.node,
        nodeRedDir: rt.nodeRedDir,
        logLevel: "trace",
        installPackageTgz: tgz,
      });
      t.after(async () => void (await nr.stop().catch(() => undefined)));
      await nr.waitForLog(/Server now running at/, 30_000);
      await checkInstalled(nr, sim);

      // The library entry, through the installed package: docs/LIBRARY.md's example, run as a user's script.
      const example = path.join(nr.userDir, "example.js");
      fs.writeFileSync(example, libraryExample());
      const r = await runNode(rt, example, nr.userDir);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /^inverter \d+: \d+ W now, \d+ Wh today, \d+ Wh in all\n$/);
      const typesFile = path.join(nr.userDir, "node_modules", ...PKG.name.split("/"), PKG.types);
      assert.match(fs.readFileSync(typesFile, "utf8"), /SpeedwireClient/, "types for TypeScript users");
    },
  );
}

test(
  "npm install git+file://… of the clean clone builds the package and Node-RED reads with it",
  { timeout: 600_000 },
  async (t) => {
    const [nr41] = runtimes();
    const sim = await withSimulator(t);
    const clone = await cleanClone();
    const nr = await startNodeRed({
      nodeBinary: nr41.node,
      nodeRedDir: nr41.nodeRedDir,
      logLevel: "trace",
      installPackageTgz: `git+file://${clone}`,
      startTimeoutMs: 60_000,
    });
    t.after(async () => void (await nr.stop().catch(() => undefined)));
    const installed = path.join(nr.userDir, "node_modules", ...PKG.name.split("/"));
    assert.ok(fs.existsSync(path.join(installed, PKG.main)), "built by its prepare script");
    assert.ok(!fs.existsSync(path.join(installed, "src")), "installed as packed: no sources");
    await checkInstalled(nr, sim);
  },
);
