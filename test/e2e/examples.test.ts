/**
 * Every example flow as Import > Examples brings it in: on a tab of its own named after the example, ids that no
 * other example uses (so importing two does not clash), no node hidden under another or under its status line,
 * debug nodes that show msg.payload, and inject names that say how often they fire.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { boxOf, exampleFiles, injectInterval, intervalInName, loadExample, overlap } from "../harness/examples";

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
      for (const out of (n.wires ?? []) as string[][]) for (const to of out) assert.ok(ids.has(to), `${file}: ${n.id} wired to missing ${to}`);
      for (const key of ["inverter", "broker", "influxdb"]) {
        if (onCanvas && typeof n[key] === "string" && n[key]) assert.ok(ids.has(n[key] as string), `${file}: ${n.id}.${key} = ${String(n[key])} is in the file`);
      }
    }
  }
});

test("no id is used by two examples (config nodes included)", () => {
  const seen = new Map<string, string>();
  for (const file of files) {
    for (const n of loadExample(file)) {
      assert.ok(!seen.has(n.id), `${n.id} (${n.type}) in ${file} and in ${seen.get(n.id)}`);
      seen.set(n.id, file);
    }
  }
});

test("no node, port or status line overlaps another", () => {
  for (const file of files) {
    const boxes = loadExample(file).filter((n) => n.type !== "tab" && "x" in n).map(boxOf);
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) assert.ok(!overlap(a, b), `${file}: "${a.label}" ${JSON.stringify(a)} overlaps "${b.label}" ${JSON.stringify(b)}`);
    }
  }
});

test("debug nodes show msg.payload; inject names say their interval", () => {
  for (const file of files) {
    for (const n of loadExample(file)) {
      if (n.type === "debug") assert.equal(n.complete, "payload", `${file}: debug "${String(n.name)}" shows msg.payload`);
      if (n.type !== "inject") continue;
      const said = intervalInName(String(n.name ?? ""));
      assert.notEqual(said, undefined, `${file}: inject "${String(n.name)}" says how often it fires`);
      assert.equal(said === "once" ? undefined : said, injectInterval(n), `${file}: inject "${String(n.name)}" repeats every ${String(n.repeat)} s`);
    }
  }
});
