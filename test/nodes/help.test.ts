/** The editor help (and the query set's type list), as written in nodes/<set>/locales/<lang>/<set>.html (shipped as is): one block per node and language. */
import { it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../harness/fixtures";
import { QUERY_NODES } from "../../nodes/shared/payloads";
import { readSpec } from "../../nodes/sma-read/read-spec";

const CODES = [
  "ETIMEDOUT",
  "EAUTH",
  "EREFUSED",
  "EENCRYPTED",
  "EOTHERDEVICE",
  "ENOTFOUND",
  "EUNREACHABLE",
  "EPROTOCOL",
  "EBUSY",
];
/** Per language: the Errors heading, text from the null and shared-login paragraphs, and the pointer to them. */
const LANGS = {
  "en-US": {
    errors: "<h4>Errors</h4>",
    nullValue: "<p><b><code>null</code> means no value, never 0.</b>",
    login: "share one login",
    pointer: "see the help of the <i>SMA inverter</i> configuration node",
  },
  de: {
    errors: "<h4>Fehler</h4>",
    nullValue: "<p><b><code>null</code> heißt „kein Wert“, niemals 0.</b>",
    login: "teilen sich eine Anmeldung",
    pointer: "siehe Hilfe des Konfigurations-Nodes <i>SMA-Wechselrichter</i>",
  },
};
/** Every node that reads an inverter, with the node folder its help is in. */
const READERS = [...QUERY_NODES.map((s) => ({ spec: s, set: "sma-query" })), { spec: readSpec, set: "sma-read" }];

function helpFile(set: string, lang: string): string {
  return fs.readFileSync(path.join(repoRoot(), "nodes", set, "locales", lang, `${set}.html`), "utf8");
}

/** The body of the help block of one node type. */
function help(set: string, type: string, lang: string): string {
  const m = new RegExp(`<script type="text/html" data-help-name="${type}">([\\s\\S]*?)</script>`).exec(
    helpFile(set, lang),
  );
  assert.ok(m, `${set} ${lang}: help of ${type}`);
  return m[1];
}

it("every reading node has its help in every language, with its own topic, msg.sma (with link) and the pointer to the shared sections", () => {
  for (const { spec, set } of READERS) {
    for (const [lang, text] of Object.entries(LANGS)) {
      const html = help(set, spec.type, lang);
      assert.match(
        html,
        new RegExp(`<code>sma/&lt;[^&]+&gt;/${spec.topic}</code>`),
        `${spec.type} ${lang}: default topic`,
      );
      assert.ok(
        html.includes("<code>{ serial, susyId, timestamp, address, link }</code>"),
        `${spec.type} ${lang}: msg.sma row`,
      );
      assert.ok(html.includes(text.pointer), `${spec.type} ${lang}: pointer to the inverter's help`);
    }
  }
});

it("help is written out: no include markers, and the archive node points to the inverter's help too", () => {
  for (const set of fs
    .readdirSync(path.join(repoRoot(), "nodes"))
    .filter((d) => fs.existsSync(path.join(repoRoot(), "nodes", d, "locales")))) {
    for (const lang of Object.keys(LANGS)) assert.doesNotMatch(helpFile(set, lang), /<!--\s*include/, `${set} ${lang}`);
  }
  for (const [lang, text] of Object.entries(LANGS))
    assert.ok(help("sma-archive", "sma-archive", lang).includes(text.pointer), lang);
});

it("the inverter's help has the sections every reading node points to: errors with every code, null, shared login", () => {
  for (const [lang, text] of Object.entries(LANGS)) {
    const html = help("sma-inverter", "sma-inverter", lang);
    const at = html.indexOf(text.errors);
    assert.ok(at >= 0, `${lang}: ${text.errors}`);
    const errors = html.slice(at);
    for (const code of CODES) assert.ok(errors.includes(`<dt>${code}</dt>`), `${lang}: ${code}`);
    assert.match(errors, /<code>EINVAL<\/code>/, `${lang}: EINVAL`);
    assert.ok(html.includes(text.nullValue), `${lang}: null paragraph`);
    assert.ok(html.includes(text.login), `${lang}: shared-login paragraph`);
  }
});

it("a help file holds only help blocks of its own node set's types", () => {
  const sets: Record<string, string[]> = {
    "sma-query": QUERY_NODES.map((s) => s.type),
    "sma-read": ["sma-read"],
    "sma-inverter": ["sma-inverter"],
    "sma-energy-meter": ["sma-energy-meter"],
    "sma-archive": ["sma-archive"],
  };
  const folders = fs
    .readdirSync(path.join(repoRoot(), "nodes"))
    .filter((d) => fs.existsSync(path.join(repoRoot(), "nodes", d, "locales")));
  assert.deepEqual(folders.sort(), Object.keys(sets).sort(), "every node set with help is checked here");
  for (const [set, types] of Object.entries(sets)) {
    for (const lang of Object.keys(LANGS)) {
      const names = [...helpFile(set, lang).matchAll(/data-help-name="([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(names.sort(), [...types].sort(), `${set} ${lang}`);
    }
  }
});

it("the query set's editor registers exactly the types of QUERY_NODES", () => {
  const html = fs.readFileSync(path.join(repoRoot(), "nodes", "sma-query", "sma-query.html"), "utf8");
  const registered = [...html.matchAll(/RED\.nodes\.registerType\("([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(
    registered,
    QUERY_NODES.map((s) => s.type),
  );
});
