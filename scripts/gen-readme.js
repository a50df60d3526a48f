#!/usr/bin/env node
// Writes the README's generated tables (value table, meter channels) from the code's own tables.
// `node scripts/gen-readme.js --check` exits 1 when the README is out of date (the tests call it).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const dist = process.env.SMA_SRC_DIR || path.join(root, "dist", "src");
const { VALUES, QUERIES, OBIS_CHANNELS } = require(path.join(dist, "protocol"));

const hex = (n, w) => "0x" + n.toString(16).toUpperCase().padStart(w, "0");

/** "a / b" for the distinct values of rows[k], in table order. */
const joined = (rows, f) => [...new Set(rows.map(f))].join(" / ");

function valueTable() {
  const rows = ["| name | label | unit | scale | type | id | query (command, first–last) |", "|---|---|---|---|---|---|---|"];
  // One row per payload name: a name read under two value ids (newer firmware) lists both ids in its row.
  const byName = new Map();
  for (const v of VALUES) byName.set(v.name, [...(byName.get(v.name) ?? []), v]);
  for (const defs of byName.values()) {
    const v = defs[0];
    const query = joined(defs, (d) => {
      const q = QUERIES[d.query];
      return `${d.query} (${hex(q.command, 8)}, ${hex(q.first, 8)}–${hex(q.last, 8)})`;
    });
    const scale = joined(defs, (d) => (d.scale === 1 ? "1" : "1/" + d.scale));
    rows.push(`| \`${v.name}${v.indexed ? "<n>" : ""}\` | ${v.label} | ${v.unit || "–"} | ${scale} | ${joined(defs, (d) => d.type)} | ${joined(defs, (d) => hex(d.lri, 4))} | ${query} |`);
  }
  return rows.join("\n");
}

/** 1 decimal of W -> "0.1 W". */
const resolution = (c) => `${(10 ** -c.decimals).toFixed(c.decimals)}${c.unit ? " " + c.unit : ""}`;

function meterTable() {
  const rows = ["| field | OBIS | unit | raw unit | resolution |", "|---|---|---|---|---|"];
  for (const c of OBIS_CHANNELS) rows.push(`| \`${c.field}\` | ${c.obis} | ${c.unit} | ${c.rawUnit} | ${resolution(c)} |`);
  return rows.join("\n");
}

const SECTIONS = { values: valueTable, meter: meterTable };

function render(text) {
  let out = text;
  for (const [name, fn] of Object.entries(SECTIONS)) {
    const re = new RegExp(`(<!-- generated:${name} -->)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    if (!re.test(out)) throw new Error(`README has no generated:${name} section`);
    out = out.replace(re, (_m, open, close) => `${open}\n${fn()}\n${close}`);
  }
  return out;
}

const file = path.join(root, "README.md");
const text = fs.readFileSync(file, "utf8");
const next = render(text);
if (process.argv.includes("--check")) {
  if (next !== text) {
    console.error("README.md generated tables are out of date: run `npm run build && node scripts/gen-readme.js`");
    process.exit(1);
  }
} else {
  fs.writeFileSync(file, next);
}
