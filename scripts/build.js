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

// Plain query nodes share one editor: a node folder without its own .html gets the template's.
function generateQueryEditors(srcOut) {
  const nodes = path.join(root, "src", "nodes");
  const template = fs.readFileSync(path.join(nodes, "shared", "query-node.html.template"), "utf8");
  for (const type of fs.readdirSync(nodes)) {
    const dir = path.join(nodes, type);
    if (type === "shared" || !fs.existsSync(path.join(dir, type + ".ts")) || fs.existsSync(path.join(dir, type + ".html"))) continue;
    fs.writeFileSync(path.join(root, srcOut, "nodes", type, type + ".html"), template.replace(/\{\{type\}\}/g, type));
  }
}

function compile(project, outDir, srcOut) {
  fs.rmSync(path.join(root, outDir), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, "-p", project], { cwd: root, stdio: "inherit" });
  copyAssets(path.join(root, "src"), path.join(root, srcOut));
  generateQueryEditors(srcOut);
}

compile("tsconfig.json", "dist", "dist");
for (const bin of ["dist/simulator/cli.js"]) {
  const p = path.join(root, bin);
  if (fs.existsSync(p)) fs.chmodSync(p, 0o755);
}
if (process.argv.includes("--test")) compile("tsconfig.test.json", "build", "build/src");
