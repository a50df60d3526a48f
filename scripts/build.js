#!/usr/bin/env node
// Compiles src/ (the library) and nodes/ (the Node-RED nodes) to dist/ (CommonJS), copies each node folder's editor
// files (.html, locales/) beside its JS, and icons/ into an icons/ folder beside each node set's JS, the only place
// Node-RED looks for them. With --test it also compiles src/ + nodes/ + test/ to build/ for the test runner.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const tsc = require.resolve("typescript/bin/tsc");
const ASSET = /\.(html|json|svg|png)$/;

function copyAssets(fromDir, toDir) {
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

function compile(project, outDir) {
  fs.rmSync(path.join(root, outDir), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, "-p", project], { cwd: root, stdio: "inherit" });
  const nodesOut = path.join(root, outDir, "nodes");
  copyAssets(path.join(root, "nodes"), nodesOut);
  for (const set of fs.readdirSync(nodesOut)) {
    if (set !== "shared") fs.cpSync(path.join(root, "icons"), path.join(nodesOut, set, "icons"), { recursive: true });
  }
}

compile("tsconfig.json", "dist");
for (const bin of ["dist/src/simulator/cli.js"]) {
  const p = path.join(root, bin);
  if (fs.existsSync(p)) fs.chmodSync(p, 0o755);
}
if (process.argv.includes("--test")) compile("tsconfig.test.json", "build");
