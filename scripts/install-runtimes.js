#!/usr/bin/env node
// Installs the extra runtime pair the e2e/browser tests run against: Node 22 (the npm package `node@22`,
// which fetches a real Node binary) + Node-RED 5, into <repo>/.cache/nr5 (gitignored). Never into the
// repo's own node_modules: its .bin/node would shadow the system node for every npm script.
// Idempotent: does nothing when a working pair is already there. Usage: node scripts/install-runtimes.js [--force]
"use strict";
const { execFileSync, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const prefix = path.join(root, ".cache", "nr5");
const NODE_SPEC = "node@22";
const NODE_RED_SPEC = "node-red@5";

/** Where the `node` npm package puts the real binary (it moved between versions of the package). */
function findNodeBinary(dir) {
  const base = path.join(dir, "node_modules", "node");
  const candidates = [path.join(base, "bin", "node"), path.join(base, "node_modules", ".bin", "node")];
  const nested = path.join(base, "node_modules");
  if (fs.existsSync(nested)) {
    for (const name of fs.readdirSync(nested)) {
      if (name.startsWith("node-")) candidates.push(path.join(nested, name, "bin", "node"));
    }
  }
  candidates.push(path.join(dir, "node_modules", ".bin", "node"));
  for (const c of candidates) {
    if (!fs.existsSync(c)) continue;
    const real = fs.realpathSync(c);
    // The package's own bin/node may be a JS shim; we want an ELF executable.
    const head = Buffer.alloc(4);
    const fd = fs.openSync(real, "r");
    fs.readSync(fd, head, 0, 4, 0);
    fs.closeSync(fd);
    if (head.toString("latin1") === "\x7fELF") return real;
  }
  return undefined;
}

function nodeVersion(bin) {
  const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function nodeRedVersion(dir) {
  const p = path.join(dir, "node_modules", "node-red", "package.json");
  if (!fs.existsSync(p)) return undefined;
  return JSON.parse(fs.readFileSync(p, "utf8")).version;
}

/** Returns { node, nodeVersion, nodeRedDir, nodeRedVersion } when the pair is usable, else undefined. */
function check(dir) {
  const bin = findNodeBinary(dir);
  const nv = bin && nodeVersion(bin);
  const rv = nodeRedVersion(dir);
  if (!bin || !nv || !nv.startsWith("v22.") || !rv || !rv.startsWith("5.")) return undefined;
  return { node: bin, nodeVersion: nv, nodeRedDir: path.join(dir, "node_modules", "node-red"), nodeRedVersion: rv };
}

function install() {
  fs.mkdirSync(prefix, { recursive: true });
  const pkg = path.join(prefix, "package.json");
  if (!fs.existsSync(pkg)) {
    fs.writeFileSync(pkg, JSON.stringify({ name: "sma-speedwire-nr5-runtime", private: true }, null, 2) + "\n");
  }
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const args = ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--omit=dev", NODE_SPEC, NODE_RED_SPEC];
  console.log("install-runtimes: npm " + args.join(" "));
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync(npm, args, { cwd: prefix, stdio: "inherit" });
      return;
    } catch (err) {
      if (attempt >= 2) throw err;
      console.log("install-runtimes: npm install failed, retrying once");
    }
  }
}

function main() {
  const force = process.argv.includes("--force");
  let found = force ? undefined : check(prefix);
  if (found) {
    console.log(`install-runtimes: already present: Node ${found.nodeVersion}, Node-RED ${found.nodeRedVersion}`);
  } else {
    install();
    found = check(prefix);
    const setup = path.join(prefix, "node_modules", "node", "installArchSpecificPackage.js");
    if (!found && fs.existsSync(setup)) {
      // npm configured not to run install scripts: run the `node` package's preinstall ourselves.
      console.log("install-runtimes: no Node binary yet, running the node package's installArchSpecificPackage");
      execFileSync(process.execPath, [setup], { cwd: path.dirname(setup), stdio: "inherit" });
      found = check(prefix);
    }
    if (!found) {
      console.error("install-runtimes: installed, but no Node 22 binary + Node-RED 5 found under " + prefix);
      process.exit(1);
    }
    console.log(`install-runtimes: ready: Node ${found.nodeVersion}, Node-RED ${found.nodeRedVersion}`);
  }
  // Read by test/harness/runtimes.ts so it does not have to know the layout of the `node` package.
  fs.writeFileSync(path.join(prefix, "runtime.json"), JSON.stringify(found, null, 2) + "\n");
}

if (require.main === module) main();
module.exports = { check, findNodeBinary };
