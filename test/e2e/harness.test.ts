/** Proves the Node-RED process harness with core nodes only, on every runtime pair. */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startNodeRed, until, type NodeRedHandle } from "../harness/nodered";
import { assertAvailable, nodeRedVersion, runtimes, skipLocally } from "../harness/runtimes";
import { packPackage } from "../harness/pack";

const TAB = "tab1";
const flow = [
  { id: TAB, type: "tab", label: "harness" },
  {
    id: "inj1",
    z: TAB,
    type: "inject",
    name: "go",
    props: [{ p: "payload" }],
    payload: "",
    payloadType: "date",
    repeat: "",
    once: false,
    x: 100,
    y: 80,
    wires: [["fn1"]],
  },
  {
    id: "fn1",
    z: TAB,
    type: "function",
    name: "answer",
    outputs: 1,
    func: "msg.payload = 42;\nnode.status({ fill: 'green', shape: 'dot', text: 'answered ' + msg.payload });\nreturn msg;",
    x: 260,
    y: 80,
    wires: [["dbg1"]],
  },
  {
    id: "dbg1",
    z: TAB,
    type: "debug",
    name: "out",
    active: true,
    tosidebar: true,
    console: false,
    complete: "payload",
    targetType: "msg",
    x: 420,
    y: 80,
    wires: [],
  },
];

// A function node that holds one UDP socket on 127.0.0.1 while deployed (proves udpSockets()).
const udpFlow = [
  ...flow,
  {
    id: "udp1",
    z: TAB,
    type: "function",
    name: "udp holder",
    outputs: 0,
    func: "return null;",
    initialize:
      "const s = global.get('dgram').createSocket('udp4');\n" +
      "await new Promise((r) => s.bind(0, '127.0.0.1', r));\ncontext.set('s', s);\n" +
      "node.status({ text: 'bound ' + s.address().port });",
    finalize: "const s = context.get('s');\nif (s) s.close();",
    x: 260,
    y: 160,
    wires: [],
  },
];

const SECRET = "s3cret-pw";
const credFlow = [
  { id: TAB, type: "tab", label: "creds" },
  {
    id: "http1",
    z: TAB,
    type: "http request",
    name: "with auth",
    method: "GET",
    ret: "txt",
    url: "http://127.0.0.1:9/",
    authType: "basic",
    x: 200,
    y: 80,
    wires: [[]],
    credentials: { user: "admin-user", password: SECRET },
  },
];

async function stopAndCheck(nr: NodeRedHandle): Promise<void> {
  const { userDir, pid } = nr;
  const info = await nr.stop();
  assert.ok(info.code !== null || info.signal !== null, "process reported an exit");
  assert.throws(() => process.kill(pid, 0), /ESRCH/, `pid ${pid} is gone`);
  assert.equal(fs.existsSync(userDir), false, "userDir removed");
}

for (const rt of runtimes()) {
  test(`harness on ${rt.name}`, { skip: skipLocally(rt.missing), timeout: 120_000 }, async (t) => {
    assertAvailable(rt.missing);
    const started = Date.now();
    const nr = await startNodeRed({
      nodeBinary: rt.node,
      nodeRedDir: rt.nodeRedDir,
      logLevel: "info",
      globalModules: { dgram: "node:dgram" },
    });
    t.after(async () => void (await nr.stop().catch(() => undefined)));
    try {
      await nr.waitForLog(/Server now running at/, 15_000);
      const version = nodeRedVersion(rt.nodeRedDir);
      assert.match(nr.log(), new RegExp(`Node-RED version: v${version.replace(/\./g, "\\.")}`));
      t.diagnostic(`${rt.name}: Node-RED ${version}, started in ${Date.now() - started} ms, pid ${nr.pid}`);

      const types = await nr.nodeTypes();
      assert.ok(
        types.some((s) => s.types.includes("inject")),
        "inject in GET /nodes",
      );

      const { rev } = await nr.deploy(flow);
      assert.equal(typeof rev, "string");
      const got = await nr.getFlows();
      assert.equal(got.rev, rev);
      assert.deepEqual(got.flows.map((n) => (n as { id: string }).id).sort(), flow.map((n) => n.id).sort());

      await nr.inject("inj1");
      const dbg = await nr.waitForDebug((m) => m.id === "dbg1", 10_000);
      assert.equal(dbg.format, "number");
      assert.equal(dbg.value, 42);
      const st = await nr.waitForStatus("fn1", (s) => s.text === "answered 42", 10_000);
      assert.equal(st.fill, "green");

      const fds = nr.openFds();
      const udp = nr.udpSockets();
      assert.ok(Number.isInteger(fds) && fds > 0, `openFds ${fds}`);
      assert.ok(Number.isInteger(udp) && udp >= 0, `udpSockets ${udp}`);
      t.diagnostic(`openFds ${fds}, udpSockets ${udp}`);

      // udpSockets() sees a socket opened by a node, and sees it closed again on redeploy.
      await nr.deploy(udpFlow);
      await nr.waitForStatus("udp1", (s) => /^bound \d+$/.test(s.text ?? ""), 10_000);
      assert.equal(nr.udpSockets(), udp + 1, "one more UDP socket while udp1 is deployed");
      await nr.deploy(flow);
      await until("UDP socket closed after udp1 was removed", () => (nr.udpSockets() === udp ? true : undefined), 3000);

      // A full redeploy of the same flow restarts the nodes: the inject still works afterwards.
      nr.clearDebug();
      await nr.deploy(flow, "full");
      await nr.inject("inj1");
      await nr.waitForDebug((m) => m.id === "dbg1" && m.value === 42, 10_000);
    } catch (err) {
      t.diagnostic("Node-RED log:\n" + nr.log());
      throw err;
    }
    await stopAndCheck(nr);
  });

  test(
    `credentials are stored encrypted on ${rt.name}`,
    { skip: skipLocally(rt.missing), timeout: 60_000 },
    async (t) => {
      assertAvailable(rt.missing);
      const logFile = path.join(os.tmpdir(), `sma-nr-log-${process.pid}-${Date.now()}.txt`);
      const nr = await startNodeRed({ nodeBinary: rt.node, nodeRedDir: rt.nodeRedDir, logLevel: "trace", logFile });
      t.after(async () => {
        await nr.stop().catch(() => undefined);
        fs.rmSync(logFile, { force: true });
      });
      await nr.deploy(credFlow);
      await nr.waitForLog(/\[trace\] /, 5000);
      const flowsFile = path.join(nr.userDir, "flows.json");
      const credFile = path.join(nr.userDir, "flows_cred.json");
      assert.ok(fs.existsSync(credFile), "flows_cred.json written");
      const flows = fs.readFileSync(flowsFile, "utf8");
      const creds = fs.readFileSync(credFile, "utf8");
      assert.ok(!flows.includes(SECRET), "flows.json holds no password");
      assert.ok(!flows.includes("admin-user"), "flows.json holds no user");
      assert.ok(!creds.includes(SECRET), "flows_cred.json holds no plaintext password");
      assert.ok(!creds.includes("admin-user"), "flows_cred.json holds no plaintext user");
      const parsed = JSON.parse(creds) as Record<string, unknown>;
      assert.deepEqual(Object.keys(parsed), ["$"], "encrypted form: a single $ property");
      assert.equal(typeof parsed.$, "string");

      // The admin API never returns the password, only that one is set.
      const got = await nr.getFlows();
      const http1 = got.flows.find((n) => (n as { id: string }).id === "http1");
      assert.ok(!JSON.stringify(http1).includes(SECRET));
      await stopAndCheck(nr);
      assert.equal(fs.readFileSync(logFile, "utf8"), nr.log(), "logFile holds the same output as log()");
    },
  );
}

test(
  "installPackageTgz: the packed package installs into the userDir as a user installs it",
  { timeout: 180_000 },
  async (t) => {
    const tgz = await packPackage();
    assert.match(path.basename(tgz), /^speedwire-node-red-sma-\d+\.\d+\.\d+.*\.tgz$/);
    assert.equal(await packPackage(), tgz, "packed once per test process");
    const nr = await startNodeRed({ installPackageTgz: tgz, logLevel: "warn" });
    t.after(async () => void (await nr.stop().catch(() => undefined)));
    const installed = path.join(nr.userDir, "node_modules", "@speedwire/node-red-sma", "package.json");
    assert.ok(fs.existsSync(installed), "installed under userDir/node_modules");
    const userPkg = JSON.parse(fs.readFileSync(path.join(nr.userDir, "package.json"), "utf8")) as {
      dependencies?: object;
    };
    assert.ok("@speedwire/node-red-sma" in (userPkg.dependencies ?? {}), "recorded in the userDir package.json");
    // Only that Node-RED picked the module up; whether every node loads is for the node tests to prove.
    const sets = (await nr.nodeTypes()).filter((s) => s.module === "@speedwire/node-red-sma");
    assert.ok(sets.length > 0, "module listed by GET /nodes");
    const broken = sets.filter((s) => s.err !== undefined).map((s) => s.id);
    t.diagnostic(
      `${sets.length} node sets from the package` + (broken.length ? `; failing to load: ${broken.join(", ")}` : ""),
    );
  },
);
