/** The built editor help (dist/, what the package ships): shared fragments expanded into every query node's help. */
import { it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../harness/fixtures";

const QUERY_NODES = ["sma-energy", "sma-spot-ac", "sma-spot-dc", "sma-status", "sma-device-info", "sma-battery", "sma-grid", "sma-read"];
const CODES = ["ETIMEDOUT", "EAUTH", "ENOTFOUND", "EUNREACHABLE", "EPROTOCOL", "EBUSY"];
/** Per language: the Errors heading, and text from the null and shared-login paragraphs. */
const LANGS = {
  "en-US": { errors: "<h3>Errors</h3>", nullValue: "<p><b><code>null</code> means no value, never 0.</b>", login: "share one login" },
  de: { errors: "<h3>Fehler</h3>", nullValue: "<p><b><code>null</code> heißt „kein Wert“, niemals 0.</b>", login: "teilen sich eine Anmeldung" },
};

const dist = path.join(repoRoot(), "dist");

function help(type: string, lang: string): string {
  return fs.readFileSync(path.join(dist, "nodes", type, "locales", lang, `${type}.html`), "utf8");
}

function htmlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? htmlFiles(p) : e.name.endsWith(".html") ? [p] : [];
  });
}

it("no include marker is left in the built html", () => {
  const files = htmlFiles(dist);
  assert.ok(files.length >= QUERY_NODES.length * 2, "dist/ holds the help files (build first)");
  for (const file of files) assert.doesNotMatch(fs.readFileSync(file, "utf8"), /<!--\s*include:/, path.relative(dist, file));
});

it("the shared help fragments are not shipped as assets of their own", () => {
  assert.equal(fs.existsSync(path.join(dist, "nodes", "shared", "help")), false);
});

it("every query node's help has the Errors section with every error code, in every language", () => {
  for (const type of QUERY_NODES) {
    for (const [lang, text] of Object.entries(LANGS)) {
      const html = help(type, lang);
      const at = html.indexOf(text.errors);
      assert.ok(at >= 0, `${type} ${lang}: ${text.errors}`);
      const errors = html.slice(at);
      for (const code of CODES) assert.ok(errors.includes(`<dt>${code}</dt>`), `${type} ${lang}: ${code}`);
      assert.match(errors, /<code>EINVAL<\/code>/, `${type} ${lang}: EINVAL`);
    }
  }
});

it("every query node's help has the null paragraph, the shared-login paragraph and msg.sma with address and link, in every language", () => {
  for (const type of QUERY_NODES) {
    for (const [lang, text] of Object.entries(LANGS)) {
      const html = help(type, lang);
      assert.ok(html.includes(text.nullValue), `${type} ${lang}: null paragraph`);
      assert.ok(html.includes(text.login), `${type} ${lang}: shared-login paragraph`);
      assert.ok(html.includes("<code>{ serial, susyId, timestamp, address, link }</code>"), `${type} ${lang}: msg.sma row`);
    }
  }
});

it("fragments keep the indentation of their include line", () => {
  const html = help("sma-energy", "en-US");
  assert.match(html, /\n {4}<h3>Errors<\/h3>\n/);
  assert.match(html, /\n {8}<dt>ENOTFOUND<\/dt>\n/);
});
