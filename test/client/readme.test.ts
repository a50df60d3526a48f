/** The README's promises about the client library ("Use from Node.js") that can go stale when the session changes. */
import { it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../harness/fixtures";

it("README's read() error list names every SmaError code the inverter session creates", () => {
  const root = repoRoot();
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
  const section = /\n## Use from Node\.js\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? "";
  const list = /rejects with\s+an `SmaError` whose `code` is one of ([^.]*)/.exec(section)?.[1] ?? "";
  const documented = new Set([...list.matchAll(/`(E[A-Z]+)`/g)].map((m) => m[1]));
  assert.ok(documented.size > 0, "the Use from Node.js section lists read()'s error codes");
  // The session and the modules it is cut into (where a read's errors are made).
  const files = ["session.ts", "exchange.ts", "locator.ts", "archive-read.ts", "errors.ts"];
  const session = files.map((f) => fs.readFileSync(path.join(root, "src", "client", f), "utf8")).join("\n");
  const thrown = new Set([...session.matchAll(/new SmaError\("(E[A-Z]+)"/g)].map((m) => m[1]));
  assert.ok(thrown.has("ETIMEDOUT"), "the session's error codes were found");
  assert.deepEqual([...thrown].filter((c) => !documented.has(c)).sort(), [], "codes read() can reject with that the README does not name");
});
