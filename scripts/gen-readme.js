#!/usr/bin/env node
// Writes the generated tables from the code's own tables: the value table in README.md, the meter channels in
// docs/NODES.md (each between <!-- generated:NAME --> and <!-- /generated:NAME -->, in exactly one of FILES).
// `node scripts/gen-readme.js --check` exits 1 when a table is out of date (the tests call it).
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
  const rows = [
    "| name | label | unit | scale | type | id | query (command, first–last) |",
    "|---|---|---|---|---|---|---|",
  ];
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
    rows.push(
      `| \`${v.name}${v.indexed ? "<n>" : ""}\` | ${v.label} | ${v.unit || "–"} | ${scale} | ${joined(defs, (d) => d.type)} | ${joined(defs, (d) => hex(d.lri, 4))} | ${query} |`,
    );
  }
  return rows.join("\n");
}

/** 1 decimal of W -> "0.1 W". */
const resolution = (c) => `${(10 ** -c.decimals).toFixed(c.decimals)}${c.unit ? " " + c.unit : ""}`;

function meterTable() {
  const rows = ["| field | OBIS | unit | raw unit | resolution |", "|---|---|---|---|---|"];
  for (const c of OBIS_CHANNELS)
    rows.push(`| \`${c.field}\` | ${c.obis} | ${c.unit} | ${c.rawUnit} | ${resolution(c)} |`);
  return rows.join("\n");
}

const SECTIONS = { values: valueTable, meter: meterTable };

/** The files that hold generated tables, relative to the repository. */
const FILES = ["README.md", path.join("docs", "NODES.md")];

const marker = (name) => new RegExp(`(<!-- generated:${name} -->)[\\s\\S]*?(<!-- /generated:${name} -->)`);

const texts = new Map(FILES.map((f) => [f, fs.readFileSync(path.join(root, f), "utf8")]));
const next = new Map(texts);
for (const [name, fn] of Object.entries(SECTIONS)) {
  const holders = FILES.filter((f) => marker(name).test(texts.get(f)));
  if (holders.length !== 1)
    throw new Error(`generated:${name} must be in exactly one of ${FILES.join(", ")} (found in ${holders.length})`);
  const f = holders[0];
  next.set(
    f,
    next.get(f).replace(marker(name), (_m, open, close) => `${open}\n${fn()}\n${close}`),
  );
}
const stale = FILES.filter((f) => next.get(f) !== texts.get(f));
if (process.argv.includes("--check")) {
  if (stale.length > 0) {
    console.error(
      `generated tables out of date in ${stale.join(", ")}: run \`npm run build && node scripts/gen-readme.js\``,
    );
    process.exit(1);
  }
} else {
  for (const f of stale) fs.writeFileSync(path.join(root, f), next.get(f));
}
