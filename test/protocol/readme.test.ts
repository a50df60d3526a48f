/** The README's value and meter tables are generated from the code's tables: they must not go stale. */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { repoRoot } from "../harness/fixtures";

it("README tables match the value table and the OBIS table", () => {
  const root = repoRoot();
  const r = spawnSync(process.execPath, [path.join(root, "scripts", "gen-readme.js"), "--check"], {
    env: { ...process.env, SMA_SRC_DIR: path.join(root, "build", "src") }, encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
});
