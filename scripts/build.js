#!/usr/bin/env node
// Compiles src/ (the library) and nodes/ (Node-RED nodes) to dist/ (CommonJS) and copies the editor files (html,
// locales) beside the JS, and icons/<type>.svg into an icons/ folder beside each node's JS (where Node-RED looks).
// With --test it also compiles src/ + nodes/ + test/ to build/ for the test runner.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const tsc = require.resolve("typescript/bin/tsc");
const ASSET = /\.(html|json|svg|png)$/;
// Help text shared by several nodes: nodes/shared/help/<lang>/<name>.html, pulled into a node's
// locales/<lang>/*.html by a line `<!-- include: name -->` or `<!-- include: name arg -->` (the fragment's
// {{arg}} becomes arg). Only the expanded help is copied, not the fragments.
const HELP = path.join(root, "nodes", "shared", "help");
const INCLUDE = /^([ \t]*)<!-- include: ([\w-]+)(?: ([\w-]+))? -->[ \t]*$/gm;

function fail(message) {
  console.error("build: " + message);
  process.exit(1);
}

/** The text of a locales .html file with every include line replaced by its fragment, indented like the line. */
function expandIncludes(file) {
  const text = fs.readFileSync(file, "utf8");
  const rel = path.relative(root, file);
  if (!text.includes("<!-- include:")) return text;
  if (path.basename(path.dirname(path.dirname(file))) !== "locales") fail(`${rel}: includes work only in locales/<lang>/ help files`);
  const lang = path.basename(path.dirname(file));
  const expanded = text.replace(INCLUDE, (_line, indent, name, arg) => {
    const langDir = path.join(HELP, lang);
    if (!fs.existsSync(langDir)) fail(`${rel}: include "${name}" has no shared help for language "${lang}" (${path.relative(root, langDir)}/ is missing)`);
    const fragment = path.join(langDir, name + ".html");
    if (!fs.existsSync(fragment)) {
      const known = fs.readdirSync(langDir).filter((f) => f.endsWith(".html")).map((f) => f.slice(0, -5));
      fail(`${rel}: unknown include "${name}" (no ${path.relative(root, fragment)}; known for ${lang}: ${known.join(", ") || "none"})`);
    }
    const body = fs.readFileSync(fragment, "utf8").replace(/\n$/, "");
    if (body.includes("{{arg}}") !== (arg !== undefined)) {
      fail(`${rel}: include "${name}" ${arg === undefined ? "needs an argument" : "takes no argument"}`);
    }
    return body.replaceAll("{{arg}}", arg ?? "").split("\n").map((l) => (l ? indent + l : l)).join("\n");
  });
  const left = /<!-- include:.*/.exec(expanded);
  if (left) fail(`${rel}: malformed or nested include "${left[0].trim()}" (write <!-- include: name --> alone on its line; fragments cannot include)`);
  return expanded;
}

function copyAssets(fromDir, toDir) {
  if (!fs.existsSync(fromDir) || fromDir === HELP) return;
  for (const entry of fs.readdirSync(fromDir, { withFileTypes: true })) {
    const from = path.join(fromDir, entry.name);
    const to = path.join(toDir, entry.name);
    if (entry.isDirectory()) copyAssets(from, to);
    else if (ASSET.test(entry.name)) {
      fs.mkdirSync(toDir, { recursive: true });
      if (entry.name.endsWith(".html")) fs.writeFileSync(to, expandIncludes(from));
      else fs.copyFileSync(from, to);
    }
  }
}

// Plain query nodes share one editor: a node folder without its own .html gets the template's.
function generateQueryEditors(nodesOut) {
  const nodes = path.join(root, "nodes");
  const template = fs.readFileSync(path.join(nodes, "shared", "query-node.html.template"), "utf8");
  for (const type of fs.readdirSync(nodes)) {
    const dir = path.join(nodes, type);
    if (type === "shared" || !fs.existsSync(path.join(dir, type + ".ts")) || fs.existsSync(path.join(dir, type + ".html"))) continue;
    fs.writeFileSync(path.join(root, nodesOut, type, type + ".html"), template.replace(/\{\{type\}\}/g, type));
  }
}

/** Each node's icon, icons/<type>.svg, into <nodesOut>/<type>/icons/. */
function copyIcons(nodesOut) {
  const icons = path.join(root, "icons");
  for (const file of fs.readdirSync(icons).filter((f) => f.endsWith(".svg"))) {
    const dir = path.join(root, nodesOut, file.slice(0, -4), "icons");
    if (!fs.existsSync(path.dirname(dir))) fail(`icons/${file}: no node ${file.slice(0, -4)} in nodes/`);
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(icons, file), path.join(dir, file));
  }
}

function compile(project, outDir) {
  fs.rmSync(path.join(root, outDir), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, "-p", project], { cwd: root, stdio: "inherit" });
  const nodesOut = path.join(outDir, "nodes");
  copyAssets(path.join(root, "nodes"), path.join(root, nodesOut));
  generateQueryEditors(nodesOut);
  copyIcons(nodesOut);
}

compile("tsconfig.json", "dist");
for (const bin of ["dist/src/simulator/cli.js"]) {
  const p = path.join(root, bin);
  if (fs.existsSync(p)) fs.chmodSync(p, 0o755);
}
if (process.argv.includes("--test")) compile("tsconfig.test.json", "build");
