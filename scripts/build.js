#!/usr/bin/env node
// Compiles src/ to dist/ (CommonJS) and copies the editor files (html, locales, icons) beside the JS.
// With --test it also compiles src/ + test/ + bench/ to build/ for the test runner.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const tsc = require.resolve("typescript/bin/tsc");
const ASSET = /\.(html|json|svg|png)$/;

function copyAssets(fromDir, toDir) {
  if (!fs.existsSync(fromDir)) return;
  for (const entry of fs.readdirSync(fromDir, { withFileTypes: true })) {
    const from = path.join(fromDir, entry.name);
    const to = path.join(toDir, entry.name);
    if (entry.isDirectory()) copyAssets(from, to);
    else if (ASSET.test(entry.name)) {
      fs.mkdirSync(toDir, { recursive: true });
      fs.copyFileSync(from, to);
    }
  }
}

function compile(project, outDir, srcOut) {
  fs.rmSync(path.join(root, outDir), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, "-p", project], { cwd: root, stdio: "inherit" });
  copyAssets(path.join(root, "src"), path.join(root, srcOut));
}

compile("tsconfig.json", "dist", "dist");
for (const bin of ["dist/simulator/cli.js"]) {
  const p = path.join(root, bin);
  if (fs.existsSync(p)) fs.chmodSync(p, 0o755);
}
if (process.argv.includes("--test")) compile("tsconfig.test.json", "build", "build/src");
