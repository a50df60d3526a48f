/** A clone is all the tests need: the captures are in the repository with their sources, nothing reads beside it. */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { capturesPath, loadCaptures, repoRoot } from "../harness/fixtures";

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory()
      ? e.name === "fixtures"
        ? []
        : filesUnder(p)
      : /\.(ts|js|mjs|cjs|sh)$|^run$/.test(e.name)
        ? [p]
        : [];
  });
}

test("the captures are loaded from the repository and test/fixtures/README.md gives each one's source", () => {
  assert.equal(path.relative(repoRoot(), capturesPath()), path.join("test", "fixtures", "captures.json"));
  const readme = fs.readFileSync(path.join(repoRoot(), "test", "fixtures", "README.md"), "utf8");
  const captures = loadCaptures();
  assert.ok(captures.length > 40, `${captures.length} captures`);
  for (const c of captures) {
    const row = readme.split("\n").find((l) => l.startsWith(`| \`${c.id}\` |`));
    assert.ok(row, `README row for ${c.id}`);
    assert.ok(
      row.includes(c.source.replace(/\|/g, "\\|").replace(/\n/g, " ")),
      `${c.id}: its source in the README row`,
    );
  }
});

test("no test, bench or script reads files beside the repository", () => {
  // The project's shared folder beside the main worktree, by a relative or an absolute path.
  const outside = /\.\.["'`/\\, ]+shared\b|\/wor[k]\/|\bshared\/(fixtures|docs)\b/;
  const files = ["test", "bench", "scripts", ".ci"].flatMap((d) => filesUnder(path.join(repoRoot(), d)));
  assert.ok(files.length > 20);
  for (const file of files) {
    const lines = fs.readFileSync(file, "utf8").split("\n");
    lines.forEach((line, i) => assert.doesNotMatch(line, outside, `${path.relative(repoRoot(), file)}:${i + 1}`));
  }
});
