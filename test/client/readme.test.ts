/**
 * The docs' promises about the client's errors that can go stale when the session changes: the read() error list
 * of docs/LIBRARY.md (Use from Node.js) and the error table of docs/NODES.md (what a Catch node receives).
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../harness/fixtures";

/** The SmaError codes the inverter session creates: the session and the modules it is cut into (where a read's errors are made). */
function sessionCodes(root: string): Set<string> {
  const files = ["session.ts", "exchange.ts", "locator.ts", "archive-read.ts", "errors.ts"];
  const session = files.map((f) => fs.readFileSync(path.join(root, "src", "client", f), "utf8")).join("\n");
  const thrown = new Set([...session.matchAll(/new SmaError\("(E[A-Z]+)"/g)].map((m) => m[1]));
  assert.ok(thrown.has("ETIMEDOUT"), "the session's error codes were found");
  return thrown;
}

it("docs/LIBRARY.md's read() error list names every SmaError code the inverter session creates", () => {
  const root = repoRoot();
  const library = fs.readFileSync(path.join(root, "docs", "LIBRARY.md"), "utf8");
  const list = /rejects with\s+an `SmaError` whose `code` is one of ([^.]*)/.exec(library)?.[1] ?? "";
  const documented = new Set([...list.matchAll(/`(E[A-Z]+)`/g)].map((m) => m[1]));
  assert.ok(documented.size > 0, "docs/LIBRARY.md lists read()'s error codes");
  assert.deepEqual(
    [...sessionCodes(root)].filter((c) => !documented.has(c)).sort(),
    [],
    "codes read() can reject with that docs/LIBRARY.md does not name",
  );
});

it("docs/NODES.md's error table has a row for every SmaError code the inverter session creates", () => {
  const root = repoRoot();
  const nodes = fs.readFileSync(path.join(root, "docs", "NODES.md"), "utf8");
  const section = /\n#### Errors\n([\s\S]*?)\n#### /.exec(nodes)?.[1] ?? "";
  const rows = new Set([...section.matchAll(/^\| `(E[A-Z]+)` \|/gm)].map((m) => m[1]));
  assert.ok(rows.size > 0, "docs/NODES.md has an Errors table");
  // ECLOSED ends a read only when the node is closed (a redeploy): no Catch node sees it.
  assert.deepEqual(
    [...sessionCodes(root)].filter((c) => c !== "ECLOSED" && !rows.has(c)).sort(),
    [],
    "codes without a row in docs/NODES.md",
  );
});
