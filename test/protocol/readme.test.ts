/**
 * The generated tables (the value table in README.md, the meter channels in docs/NODES.md) come from the code's
 * tables: they must not go stale.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as fs from "node:fs";
import { repoRoot } from "../harness/fixtures";
import { VALUES } from "../../src/protocol/values";
import { OBIS_CHANNELS } from "../../src/protocol/obis";

it("the README's value table and docs/NODES.md's meter table match the value table and the OBIS table", () => {
  const root = repoRoot();
  const r = spawnSync(process.execPath, [path.join(root, "scripts", "gen-readme.js"), "--check"], {
    env: { ...process.env, SMA_SRC_DIR: path.join(root, "build", "src") },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
});

it("the README's value table lists each payload name once, with every value id it is read from", () => {
  const text = fs.readFileSync(path.join(repoRoot(), "README.md"), "utf8");
  const table = /<!-- generated:values -->([\s\S]*?)<!-- \/generated:values -->/.exec(text)?.[1] ?? "";
  const names = [...table.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1].replace("<n>", ""));
  assert.deepEqual(names, [...new Set(VALUES.map((v) => v.name))]);
  for (const v of VALUES) {
    const row = table.split("\n").find((l) => l.startsWith(`| \`${v.name}${v.indexed ? "<n>" : ""}\` |`)) ?? "";
    assert.match(row, new RegExp(`0x${v.lri.toString(16).toUpperCase().padStart(4, "0")}\\b`), v.name);
  }
});

it("docs/NODES.md's meter table lists every OBIS channel's field once", () => {
  const text = fs.readFileSync(path.join(repoRoot(), "docs", "NODES.md"), "utf8");
  const table = /<!-- generated:meter -->([\s\S]*?)<!-- \/generated:meter -->/.exec(text)?.[1] ?? "";
  const fields = [...table.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(
    fields,
    OBIS_CHANNELS.map((c) => c.field),
  );
});
