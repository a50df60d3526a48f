/** Status texts exist in every language for every key the runtime uses, and fit a status dot (< 20 characters). */
import { it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../harness/fixtures";
import { QUERY_NODES } from "../../nodes/shared/payloads";
import { LABEL_LANGUAGES, VALUES } from "../../src/protocol";

const LANGS = ["en-US", "de"];
/** Keys nodes/shared/status.ts asks for, with the longest values they are filled with. */
const RUNTIME_KEYS = [
  "searching",
  "connecting",
  "reading",
  "ok",
  "okFound",
  "asleep",
  "timeout",
  "auth",
  "noPassword",
  "backoff",
  "notSupported",
  "unreachable",
  "notFound",
  "ambiguous",
  "protocol",
  "error",
  "closed",
  "noConfig",
  "busy",
  "okPoor",
  "noSession",
  "refused",
  "encrypted",
  "otherDevice",
  "unknownObject",
  "deviceError",
  "okMoved",
  "nameNotFound",
  "dnsTimeout",
  "busyArchive",
  "bad.host",
  "bad.port",
  "bad.serial",
  "bad.group",
  "bad.timeout",
  "bad.retries",
  "bad.password",
];
const FILL = {
  time: "23:59:59",
  code: "EUNREACHABLE",
  host: "192.168.178.200",
  address: "192.168.178.200",
  power: "-12345.6",
  s: "3600",
  hex: "0xffff",
};

/** The catalog of a node set: nodes/<set>/locales/<lang>/<set>.json. */
function catalog(set: string, lang: string): Record<string, unknown> {
  const file = path.join(repoRoot(), "nodes", set, "locales", lang, `${set}.json`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
}

/** { bad: { host: "x" } } -> { "bad.host": "x" } */
function flat(o: unknown, pre = ""): Record<string, string> {
  return Object.assign(
    {},
    ...Object.entries(o as Record<string, unknown>).map(([k, v]) =>
      typeof v === "string" ? { [pre + k]: v } : flat(v, `${pre}${k}.`),
    ),
  );
}

function fill(text: string): string {
  return text.replace(/__(\w+)__/g, (_m, k: string) => (FILL as Record<string, string>)[k] ?? "xxxxxxxx");
}

it("every status key the runtime uses exists in every language", () => {
  for (const lang of LANGS) {
    const status = flat(catalog("sma-inverter", lang).status);
    for (const key of RUNTIME_KEYS) assert.equal(typeof status[key], "string", `${lang} status.${key}`);
  }
});

it("every status text is under 20 characters with its values filled in", () => {
  for (const type of ["sma-inverter", "sma-energy-meter"]) {
    for (const lang of LANGS) {
      const status = flat(catalog(type, lang).status);
      for (const [key, text] of Object.entries(status))
        assert.ok(fill(text).length < 20, `${type} ${lang} status.${key}: "${fill(text)}"`);
    }
  }
});

const SETS = fs
  .readdirSync(path.join(repoRoot(), "nodes"))
  .filter((s) => fs.existsSync(path.join(repoRoot(), "nodes", s, "locales")));
const keys = (o: unknown, pre = ""): string[] =>
  o && typeof o === "object" ? Object.entries(o).flatMap(([k, v]) => keys(v, `${pre}${k}.`)) : [pre.slice(0, -1)];
const lookup = (c: unknown, key: string): unknown =>
  key
    .split(".")
    .reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), c);

it("every locale of every node set has every key of en-US, each a non-empty text", () => {
  assert.ok(SETS.length >= 5, SETS.join());
  for (const set of SETS) {
    const langs = fs.readdirSync(path.join(repoRoot(), "nodes", set, "locales")).sort();
    assert.deepEqual(langs, [...LANGS].sort(), `${set}: locales`);
    for (const lang of langs) {
      assert.deepEqual(keys(catalog(set, lang)).sort(), keys(catalog(set, "en-US")).sort(), `${set} ${lang}`);
      for (const k of keys(catalog(set, lang)))
        assert.ok(String(lookup(catalog(set, lang), k)).trim(), `${set} ${lang} ${k} is empty`);
      assert.ok(
        fs.existsSync(path.join(repoRoot(), "nodes", set, "locales", lang, `${set}.html`)),
        `${set} ${lang} help`,
      );
    }
  }
});

it('every key a dialog asks for (data-i18n in its template, t("...") in its script) is in every locale', () => {
  for (const set of SETS) {
    const html = fs.readFileSync(path.join(repoRoot(), "nodes", set, `${set}.html`), "utf8");
    const used = [...html.matchAll(/data-i18n="(?:\[\w+\])?([\w.]+)"/g)].map((m) => m[1]);
    // Its dialog's code (nodes/<set>/editor.ts; not the shared helpers or the rules): t("literal.key") calls.
    const js = fs.readFileSync(path.join(repoRoot(), "nodes", set, "editor.ts"), "utf8");
    used.push(...[...js.matchAll(/\bt\("([\w.]+)"/g)].map((m) => m[1]).filter((k) => !k.endsWith(".")));
    assert.ok(used.length > 0, set);
    for (const lang of LANGS) {
      for (const key of used) assert.equal(typeof lookup(catalog(set, lang), key), "string", `${set} ${lang}: ${key}`);
    }
  }
});

it("German spells the device one way: SMA-Wechselrichter", () => {
  for (const set of SETS) {
    for (const file of [`${set}.json`, `${set}.html`]) {
      const text = fs.readFileSync(path.join(repoRoot(), "nodes", set, "locales", "de", file), "utf8");
      assert.doesNotMatch(text, /SMA Wechselrichter|Wechselrichter \(SMA\)|SMA Wechselrichtern/, `${set} de ${file}`);
    }
  }
});

it("every plain query node has its labels in the query set's catalog, in every language", () => {
  for (const lang of LANGS) {
    const c = catalog("sma-query", lang);
    for (const { type } of QUERY_NODES) {
      const labels = c[type] as Record<string, unknown> | undefined;
      for (const key of ["paletteLabel", "default", "topic", "tip", "outputLabel"])
        assert.equal(typeof labels?.[key], "string", `${lang} ${type}.${key}`);
    }
  }
});

it("every value of the value table has a label in every language the nodes have", () => {
  const dirs = fs.readdirSync(path.join(repoRoot(), "nodes", "sma-read", "locales")).sort();
  assert.deepEqual([...LABEL_LANGUAGES].sort(), dirs, "the table's languages are the locales'");
  for (const v of VALUES) {
    for (const lang of LABEL_LANGUAGES) assert.ok(v.labels[lang]?.trim(), `${v.name}: ${lang} label`);
  }
  assert.equal(VALUES.find((v) => v.name === "totalYield")?.labels.de, "Gesamtertrag");
});

/** Every palette label of a node set: the query set's per type, the others' at the top of their catalog. */
function paletteLabels(lang: string): Map<string, string> {
  const labels = new Map<string, string>();
  for (const { type } of QUERY_NODES)
    labels.set(type, String((catalog("sma-query", lang)[type] as Record<string, unknown>).paletteLabel));
  for (const set of ["sma-read", "sma-archive", "sma-energy-meter", "sma-inverter"])
    labels.set(set, String(catalog(set, lang).paletteLabel));
  return labels;
}

/** The palette labels of Node-RED's core nodes in a language (their catalog's <node>.<key>.label... : the node names). */
function coreLabels(lang: string): Set<string> {
  const file = path.join(repoRoot(), "node_modules", "@node-red", "nodes", "locales", lang, "messages.json");
  const c = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, Record<string, unknown>>;
  const names = new Set<string>([
    "inject",
    "debug",
    "complete",
    "catch",
    "status",
    "link in",
    "link call",
    "link out",
    "comment",
    "function",
    "switch",
    "change",
    "range",
    "template",
    "delay",
    "trigger",
    "exec",
    "filter",
    "rbe",
    "mqtt in",
    "mqtt out",
    "http in",
    "http response",
    "http request",
    "websocket in",
    "websocket out",
    "tcp in",
    "tcp out",
    "tcp request",
    "udp in",
    "udp out",
    "split",
    "join",
    "sort",
    "batch",
    "csv",
    "html",
    "json",
    "xml",
    "yaml",
    "file",
    "file in",
    "watch",
    "read file",
    "write file",
    "junction",
  ]);
  for (const v of Object.values(c)) if (v && typeof v === "object" && typeof v.label === "string") names.add(v.label);
  return new Set([...names].map((n) => n.toLowerCase()));
}

it("palette labels say SMA and are none of Node-RED's core nodes' (no two 'status' in the palette), in every language", () => {
  for (const lang of LANGS) {
    const core = coreLabels(
      fs.existsSync(path.join(repoRoot(), "node_modules", "@node-red", "nodes", "locales", lang)) ? lang : "en-US",
    );
    const labels = paletteLabels(lang);
    for (const [type, label] of labels) {
      assert.match(label, /^SMA[ -]/, `${lang} ${type}: "${label}" starts with SMA`);
      assert.ok(!core.has(label.toLowerCase()), `${lang} ${type}: "${label}" is a core node's label`);
    }
    assert.equal(
      new Set([...labels.values()].map((l) => l.toLowerCase())).size,
      labels.size,
      `${lang}: palette labels differ from each other`,
    );
  }
});
