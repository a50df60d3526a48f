/**
 * `node-red-dev validate` (the Node-RED catalogue's scorecard) through scripts/validate.js: every check that can
 * run here passes; checks that need an unreachable host are "not checked", never a silent pass.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "../harness/fixtures";
import { cleanEnv } from "../harness/runtimes";

interface CheckResult {
  status: "pass" | "FAIL" | "missing" | "not checked";
  what: string;
  detail: string;
}
interface Report {
  results: Record<string, CheckResult>;
  failed: string[];
  notChecked: string[];
}

const ALL_CHECKS = ["P01", "P03", "P04", "P05", "P06", "P07", "P08", "N01", "N02", "D01", "D02", "D03"];
const NETWORK_CHECKS = ["P06", "P07", "P08", "N01"];

function validate(pkgDir: string): Promise<{ code: number; output: string; report?: Report }> {
  const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sma-validate-test-")), "report.json");
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [path.join(repoRoot(), "scripts", "validate.js"), "--path", pkgDir, "--json", json, "--timeout", "90000"],
      { cwd: repoRoot(), env: cleanEnv(), timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        const report = fs.existsSync(json) ? (JSON.parse(fs.readFileSync(json, "utf8")) as Report) : undefined;
        fs.rmSync(path.dirname(json), { recursive: true, force: true });
        resolve({ code, output: stdout + stderr, report });
      },
    );
    child.stdin?.end();
  });
}

test("node-red-dev validate: every check that can run passes", { timeout: 150_000 }, async (t) => {
  const { code, output, report } = await validate(repoRoot());
  t.diagnostic(
    output
      .split("\n")
      .filter((l) => /^[PND]\d\d |not checked/.test(l))
      .join("\n"),
  );
  assert.ok(report, "scripts/validate.js wrote its report:\n" + output);
  assert.deepEqual(Object.keys(report.results).sort(), [...ALL_CHECKS].sort());
  for (const [id, r] of Object.entries(report.results)) {
    if (r.status === "not checked") {
      assert.ok(NETWORK_CHECKS.includes(id), `${id} can run offline, yet was not checked`);
      assert.match(r.detail, /unreachable/, `${id}: the reason is given`);
    } else {
      assert.equal(r.status, "pass", `${id} (${r.what}): ${r.detail}\n${output}`);
    }
  }
  assert.deepEqual(report.failed, []);
  assert.equal(code, 0, output);
  assert.match(output, /all runnable checks passed/);
});

test("node-red-dev validate fails a package without license and examples", { timeout: 150_000 }, async (t) => {
  // A copy with the package's node files, without "license", and with one example that uses only sma-energy.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sma-validate-bad-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot(), "package.json"), "utf8")) as Record<string, unknown>;
  delete pkg.license;
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(pkg, null, 2));
  fs.cpSync(path.join(repoRoot(), "dist"), path.join(dir, "dist"), {
    recursive: true,
    filter: (f) => !/\.(map|d\.ts)$/.test(f),
  });
  fs.mkdirSync(path.join(dir, "examples"));
  fs.writeFileSync(
    path.join(dir, "examples", "one.json"),
    JSON.stringify([{ id: "a", type: "sma-energy", wires: [] }]),
  );

  const { code, output, report } = await validate(dir);
  assert.ok(report, output);
  assert.equal(code, 1, output);
  assert.equal(report.results.P01.status, "FAIL");
  assert.equal(report.results.N02.status, "FAIL");
  assert.equal(report.results.P03.status, "pass");
  assert.deepEqual(report.failed.sort(), ["N02", "P01"]);
  assert.match(output, /FAILED: P01, N02/);
});
