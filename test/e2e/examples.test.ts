/**
 * Every example flow as Import > Examples brings it in: on a tab of its own named after the example, ids that no
 * other example uses (so importing two does not clash) except the one inverter configuration they all share
 * (SHARED_INVERTER: a second import reuses it, test/browser/examples-import.test.ts), no node hidden under another or
 * under its status line, debug nodes that show msg.payload, and inject names that say how often they fire.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import {
  SHARED_INVERTER,
  boxOf,
  exampleFiles,
  injectInterval,
  intervalInName,
  loadExample,
  overlap,
} from "../harness/examples";

const files = exampleFiles();

test("the examples are there", () => {
  assert.ok(files.length >= 9, files.join(", "));
});

test("each example is one tab named after it; every flow node is on it, every wire and config reference in the file", () => {
  for (const file of files) {
    const nodes = loadExample(file);
    const tabs = nodes.filter((n) => n.type === "tab");
    assert.equal(tabs.length, 1, `${file}: one tab`);
    assert.equal(tabs[0].label, file.replace(/\.json$/, ""), `${file}: tab label`);
    const ids = new Set(nodes.map((n) => n.id));
    for (const n of nodes) {
      if (n.type === "tab") continue;
      const onCanvas = "x" in n || "y" in n || "wires" in n;
      if (onCanvas) assert.equal(n.z, tabs[0].id, `${file}: ${n.type} ${n.id} is on the example's tab`);
      else assert.equal(n.z, undefined, `${file}: config node ${n.type} ${n.id} is global`);
      for (const out of (n.wires ?? []) as string[][])
        for (const to of out) assert.ok(ids.has(to), `${file}: ${n.id} wired to missing ${to}`);
      for (const key of ["inverter", "broker", "influxdb"]) {
        if (onCanvas && typeof n[key] === "string" && n[key])
          assert.ok(ids.has(n[key] as string), `${file}: ${n.id}.${key} = ${String(n[key])} is in the file`);
      }
    }
  }
});

test("no id is used by two examples (config nodes included), but for the one shared inverter configuration", () => {
  const seen = new Map<string, string>();
  for (const file of files) {
    for (const n of loadExample(file)) {
      if (n.id === SHARED_INVERTER) continue;
      assert.ok(!seen.has(n.id), `${n.id} (${n.type}) in ${file} and in ${seen.get(n.id)}`);
      seen.set(n.id, file);
    }
  }
});

test("every example that reads an inverter has the shared configuration, the same in each; its comment says what to set", () => {
  const shared = new Set<string>();
  let users = 0;
  for (const file of files) {
    const nodes = loadExample(file);
    const configs = nodes.filter((n) => n.type === "sma-inverter");
    if (configs.length === 0) continue;
    users++;
    const first = configs.find((n) => n.id === SHARED_INVERTER);
    assert.ok(first, `${file}: has the config node ${SHARED_INVERTER}`);
    assert.equal(first.name, "Inverter", `${file}: the shared config node is named Inverter`);
    shared.add(JSON.stringify(first));
    for (const other of configs.filter((n) => n !== first)) {
      assert.match(other.id, /^sma-inverter-[a-z0-9-]+$/, `${file}: a further inverter has a fixed id of its own`);
      assert.notEqual(other.name, "Inverter", `${file}: a further inverter has a name of its own`);
    }
    const comment = nodes.find((n) => n.type === "comment");
    const info = String(comment?.info ?? "");
    for (const said of ["host", "password", "Import copy", SHARED_INVERTER])
      assert.ok(info.includes(said), `${file}: the comment says ${said}`);
  }
  assert.ok(users >= 8, `${users} examples read an inverter`);
  assert.equal(shared.size, 1, `the shared config node is the same in every example: ${[...shared].join("\n")}`);
});

test("the energy meter nodes of the examples listen with the same setting", () => {
  const settings = new Set<string>();
  for (const file of files) {
    for (const n of loadExample(file).filter((x) => x.type === "sma-energy-meter"))
      settings.add(JSON.stringify([n.group, n.port, n.iface, n.serial]));
  }
  assert.equal(settings.size, 1, [...settings].join(", "));
});

test("no node, port or status line overlaps another", () => {
  for (const file of files) {
    const boxes = loadExample(file)
      .filter((n) => n.type !== "tab" && "x" in n)
      .map(boxOf);
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1))
        assert.ok(
          !overlap(a, b),
          `${file}: "${a.label}" ${JSON.stringify(a)} overlaps "${b.label}" ${JSON.stringify(b)}`,
        );
    }
  }
});

test("debug nodes show msg.payload; inject names say their interval", () => {
  for (const file of files) {
    for (const n of loadExample(file)) {
      if (n.type === "debug")
        assert.equal(n.complete, "payload", `${file}: debug "${String(n.name)}" shows msg.payload`);
      if (n.type !== "inject") continue;
      const said = intervalInName(String(n.name ?? ""));
      assert.notEqual(said, undefined, `${file}: inject "${String(n.name)}" says how often it fires`);
      assert.equal(
        said === "once" ? undefined : said,
        injectInterval(n),
        `${file}: inject "${String(n.name)}" repeats every ${String(n.repeat)} s`,
      );
    }
  }
});
