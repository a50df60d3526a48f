#!/usr/bin/env node
// Runs the compiled test files with node:test in one invocation, so that one summary closes the run.
// Usage: node scripts/test.js [suite ...]   suites: protocol client simulator nodes e2e browser; "unit" is the
// first four (what `npm test` runs), "all" (or none) every suite (what `npm run test:all` and .ci/run run).
"use strict";
const { execFileSync, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
execFileSync(process.execPath, [path.join(__dirname, "build.js"), "--test"], { cwd: root, stdio: "inherit" });

const all = ["protocol", "simulator", "client", "nodes", "e2e", "browser"];
const asked = process.argv.slice(2);
const unit = ["protocol", "simulator", "client", "nodes"];
const suites = [
  ...new Set(asked.length === 0 ? all : asked.flatMap((s) => (s === "unit" ? unit : s === "all" ? all : [s]))),
];

function testFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? testFiles(p) : e.name.endsWith(".test.js") ? [p] : [];
  });
}

const files = suites.flatMap((s) => testFiles(path.join(root, "build", "test", s))).sort();
if (files.length === 0) {
  console.error("no test files found for: " + suites.join(", "));
  process.exit(1);
}
// Unit runs: the simulated inverters send their partner requests (0x51800200, every 30 s on a real Sunny Boy Storage)
// every 200 ms, so that every client and node test meets them (src/simulator/partners.ts); e2e/browser runs do not.
const env = { ...process.env };
if (suites.every((s) => unit.includes(s)) && env.SPEEDWIRE_SIM_PARTNER_REQUESTS_MS === undefined)
  env.SPEEDWIRE_SIM_PARTNER_REQUESTS_MS = "200";
const args = ["--test", "--test-reporter=spec", "--test-concurrency=1", ...files];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit", env });
process.exit(r.status === null ? 1 : r.status);
