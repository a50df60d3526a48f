#!/usr/bin/env node
// Hand-made mutation testing of the data paths (docs/MUTATIONS.md): each mutant is one textual change in one source
// file; it is applied alone, the package is built with the tests, the test files that could catch it are run, and the
// file is restored with `git checkout`. A mutant is killed when a test fails (or the build does); a surviving mutant is a
// test gap. Usage: node scripts/mutants.js [id ...]   (no id: all). Never commit with a mutant applied.
"use strict";
const { execFileSync, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const t = (...names) => names.map((n) => `build/test/${n}.test.js`);
const PROTO = t(
  "protocol/doc-values",
  "protocol/captures",
  "protocol/batteries",
  "protocol/strings",
  "protocol/record-types",
  "protocol/codec-properties",
);
const METER = t(
  "protocol/meter",
  "protocol/captures",
  "simulator/meter",
  "client/meter-listener",
  "nodes/energy-meter-node",
);
const QUERY = [...PROTO, ...t("simulator/inverter", "nodes/query-nodes")];
const ARCH = t("protocol/archive", "protocol/archive-days", "client/archive", "client/archive-days", "simulator/day");
const ARCH_NODES = [...ARCH, ...t("nodes/archive-node", "nodes/archive-days-node", "nodes/solar-today")];

/** [id, file, from, to, test files, what it models] */
const MUTANTS = [
  [
    "freq-x10",
    "src/protocol/values.ts",
    '"gridFrequency", "u32", "Hz", 100,',
    '"gridFrequency", "u32", "Hz", 1000,',
    QUERY,
    "grid frequency scale /1000 instead of /100",
  ],
  [
    "batt-temp-x10",
    "src/protocol/values.ts",
    '"°C",\n    10,',
    '"°C",\n    100,',
    QUERY,
    "battery temperature scale /100 instead of /10",
  ],
  [
    "meter-mA",
    "src/protocol/obis.ts",
    'divisor: 1000, decimals: 3, field: "current"',
    'divisor: 100, decimals: 3, field: "current"',
    METER,
    "meter phase current mA read as 10 mA",
  ],
  [
    "yield-kWh",
    "src/protocol/values.ts",
    '"totalYield", 0x2601, "energy", "u64", "Wh", 1,',
    '"totalYield", 0x2601, "energy", "u64", "Wh", 1000,',
    QUERY,
    "total yield counter in kWh instead of Wh",
  ],
  [
    "grid-sign",
    "nodes/shared/payloads.ts",
    "(imp ?? 0) - (exp ?? 0)",
    "(exp ?? 0) - (imp ?? 0)",
    QUERY,
    "sma-grid power sign flipped",
  ],
  [
    "meter-sign",
    "src/protocol/meter.ts",
    "return (imp - exp) / 10;",
    "return (exp - imp) / 10;",
    METER,
    "meter signed power: export positive",
  ],
  [
    "meter-L2L3",
    "src/protocol/meter.ts",
    'powerL2: signed("L2"),\n    powerL3: signed("L3"),',
    'powerL2: signed("L3"),\n    powerL3: signed("L2"),',
    METER,
    "meter signed power L2/L3 swapped",
  ],
  [
    "ac-L2L3",
    "src/protocol/values.ts",
    '"acVoltageL2", 0x4649, "acVoltageCurrent", "u32", "V", 100, "ac", "AC voltage L2", "AC-Spannung L2"),\n  row("acVoltageL3", 0x464a,',
    '"acVoltageL2", 0x464a, "acVoltageCurrent", "u32", "V", 100, "ac", "AC voltage L2", "AC-Spannung L2"),\n  row("acVoltageL3", 0x4649,',
    QUERY,
    "AC voltage L2/L3 value ids swapped",
  ],
  [
    "nan-zero",
    "src/protocol/records.ts",
    "if (word === NAN_S32) return null;",
    "if (word === NAN_S32) return 0;",
    QUERY,
    "s32 'no value' sentinel read as 0",
  ],
  [
    "batt-by-class",
    "src/protocol/answers.ts",
    'const index = def.indexed === "position" ? position : rec.cls;',
    "const index = rec.cls;",
    QUERY,
    "batteries numbered by class byte, not position",
  ],
  [
    "dc-1-2",
    "src/protocol/answers.ts",
    'const index = def.indexed === "position" ? position : rec.cls;',
    'const index = def.indexed === "position" ? position : rec.cls === 1 ? 2 : rec.cls === 2 ? 1 : rec.cls;',
    QUERY,
    "DC strings 1 and 2 swapped",
  ],
  [
    "day-early",
    "src/protocol/archive-days.ts",
    "localMidnight(r.time - 1, timeZone)",
    "localMidnight(r.time - 1 - DAY_S, timeZone)",
    ARCH_NODES,
    "daily record redated one day too early",
  ],
  [
    "midnight-utc",
    "src/protocol/archive-days.ts",
    "const off = zoneOffsetS(t, timeZone);",
    'const off = zoneOffsetS(t, "UTC");',
    ARCH_NODES,
    "local midnight: day taken in UTC, not the configured zone",
  ],
  [
    "dst-24h",
    "src/protocol/archive-days.ts",
    "return localMidnight(localMidnight(t, timeZone) + DAY_S + 3 * 3600, timeZone);",
    "return localMidnight(t, timeZone) + DAY_S;",
    ARCH_NODES,
    "next midnight = midnight + 24 h (DST days are 23/25 h)",
  ],
  [
    "no-baseline",
    "src/protocol/archive-days.ts",
    "if (!base) {\n      base = r;\n      continue;",
    'if (!base) {\n      base = r;\n      points.push({ time: r[0] * 1000, totalYield: r[1], yield: 0, power: kind === "day" ? 0 : null });\n      continue;',
    ARCH_NODES,
    "first record emitted as a point, not only used as baseline",
  ],
  [
    "month-baseline",
    "src/protocol/archive-days.ts",
    "[before[before.length - 1], ...inside]",
    "[before[0], ...inside]",
    ARCH_NODES,
    "first day's yield from the oldest record before the range",
  ],
  [
    "meter-Ws",
    "src/protocol/obis.ts",
    'const WH: Unit = { unit: "Wh", rawUnit: "Ws", divisor: 3600,',
    'const WH: Unit = { unit: "Wh", rawUnit: "Ws", divisor: 1,',
    METER,
    "meter energy Ws not divided by 3600",
  ],
  [
    "drift-sign",
    "src/client/device-clock.ts",
    "Math.round(t.time - receivedAt / 1000)",
    "Math.round(receivedAt / 1000 - t.time)",
    [...t("client/trace", "client/diagnose", "nodes/query-nodes")],
    "device clock drift sign flipped",
  ],
  [
    "devtime-s",
    "nodes/shared/payloads.ts",
    "deviceTime: c?.time != null ? c.time * 1000 : null,",
    "deviceTime: c?.time != null ? c.time : null,",
    t("nodes/query-nodes"),
    "msg.payload.deviceTime in s, not ms",
  ],
  [
    "ts-seconds",
    "src/protocol/answers.ts",
    "timestamp: rec.timestamp * 1000,",
    "timestamp: rec.timestamp,",
    [...QUERY, ...t("client/session")],
    "reading timestamps (msg.sma.timestamp) in s, not ms",
  ],
  [
    "batt-charge-swap",
    "nodes/shared/payloads.ts",
    "chargePower: num(v.batteryChargePower),",
    "chargePower: num(v.batteryDischargePower),",
    QUERY,
    "battery charge power reported from the discharge value",
  ],
  [
    "temp-x10",
    "src/protocol/values.ts",
    '"°C",\n    100,',
    '"°C",\n    10,',
    QUERY,
    "inverter temperature /10 instead of /100",
  ],
  [
    "iac-new-x10",
    "src/protocol/values.ts",
    'row("acCurrentL1", 0x4653, "acVoltageCurrent", "s32", "A", 1000,',
    'row("acCurrentL1", 0x4653, "acVoltageCurrent", "s32", "A", 100,',
    QUERY,
    "AC current L1 (newer id 0x4653) /100 instead of /1000",
  ],
  [
    "grid-ids-swap",
    "src/protocol/values.ts",
    '"gridPowerExport", 0x4636, "gridPower", "s32", "W", 1, "grid", "Grid feed-in power", "Einspeiseleistung"),\n  row("gridPowerImport", 0x4637,',
    '"gridPowerExport", 0x4637, "gridPower", "s32", "W", 1, "grid", "Grid feed-in power", "Einspeiseleistung"),\n  row("gridPowerImport", 0x4636,',
    QUERY,
    "grid feed-in and draw power ids swapped",
  ],
  [
    "grid-energy-swap",
    "src/protocol/values.ts",
    'row("gridEnergyExport", 0x4624,',
    'row("gridEnergyExport", 0x4625,',
    QUERY,
    "grid feed-in counter read from the draw counter's id",
  ],
  [
    "times-swap",
    "src/protocol/values.ts",
    'row("operatingTime", 0x462e,',
    'row("operatingTime", 0x462f,',
    QUERY,
    "operating time read from the feed-in time id",
  ],
  [
    "energy-times-swap",
    "nodes/shared/payloads.ts",
    "dayYield: num(v.dayYield),\n    operatingTime: num(v.operatingTime),",
    "dayYield: num(v.dayYield),\n    operatingTime: num(v.feedInTime),",
    QUERY,
    "sma-energy operatingTime fed from the feed-in time",
  ],
  [
    "meter-freq",
    "src/protocol/obis.ts",
    'divisor: 1000, decimals: 3, field: "frequency"',
    'divisor: 100, decimals: 3, field: "frequency"',
    METER,
    "meter frequency mHz read as 10 mHz",
  ],
  [
    "meter-node-L2L3",
    "nodes/sma-energy-meter/sma-energy-meter.ts",
    "powerL2: d.powerL2, powerL3: d.powerL3",
    "powerL2: d.powerL3, powerL3: d.powerL2",
    METER,
    "sma-energy-meter payload powerL2/L3 swapped",
  ],
  [
    "slot-power",
    "src/protocol/archive-days.ts",
    "Math.round((wh * 3600) / (r[0] - base[0]))",
    "Math.round(wh * 12)",
    ARCH_NODES,
    "day-archive power assumes 5-minute slots (wrong across a gap)",
  ],
  [
    "date-utc",
    "nodes/shared/archive.ts",
    "const date = new Date(y, m - 1, d);",
    "const date = new Date(Date.UTC(y, m - 1, d));",
    [...t("nodes/archive-node", "nodes/archive-days-node")],
    "a date-only from/to taken as UTC midnight, not local",
  ],
];

function run(m) {
  const [id, file, from, to, tests, what] = m;
  const abs = path.join(root, file);
  const src = fs.readFileSync(abs, "utf8");
  const n = src.split(from).length - 1;
  if (n !== 1) return { id, file, what, result: `NOT APPLIED (${n} matches)` };
  fs.writeFileSync(abs, src.replace(from, to));
  try {
    const b = spawnSync(process.execPath, ["scripts/build.js", "--test"], { cwd: root, encoding: "utf8" });
    if (b.status !== 0) return { id, file, what, result: "killed by the build" };
    const r = spawnSync(
      process.execPath,
      ["--test", "--test-concurrency=1", "--test-timeout=120000", "--test-reporter=spec", ...tests],
      {
        cwd: root,
        encoding: "utf8",
        maxBuffer: 64 << 20,
      },
    );
    const failed = [...new Set((r.stdout.match(/^\s*✖ .*$/gm) ?? []).map((l) => l.trim().replace(/ \(\d.*$/, "")))];
    return { id, file, what, result: r.status === 0 ? "SURVIVED" : "killed", failed: failed.slice(0, 8) };
  } finally {
    execFileSync("git", ["checkout", "--", file], { cwd: root });
  }
}

const ids = process.argv.slice(2);
// MUTANT_TESTS=build/test/a.test.js,build/test/b.test.js runs these files instead (to check that a new test kills).
const only = process.env.MUTANT_TESTS ? process.env.MUTANT_TESTS.split(",") : undefined;
if (only) for (const m of MUTANTS) m[4] = only;
for (const m of MUTANTS.filter((x) => ids.length === 0 || ids.includes(x[0]))) {
  console.log(JSON.stringify(run(m)));
}
execFileSync(process.execPath, ["scripts/build.js", "--test"], { cwd: root });
