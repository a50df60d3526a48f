/*
 * Helpers shared by this package's editor dialogs (nodes/<set>/editor.ts). The build bundles this module into each
 * dialog's script (resources/<set>.js); publish() also hands the helpers the .html files call to
 * window.SmaSpeedwireEditor (loading several dialogs, each with its copy, is harmless).
 */

/** A dialog's i18n function: a key of its set's catalog, with __name__ placeholders filled from opts. */
export type Translate = (key: string, opts?: Record<string, unknown>) => string;

/** A Node-RED 3+ validator: true, or the reason when opt is given (false for older callers). */
export type Validator<N = EditorNode> = (this: N, value: unknown, opt?: object) => boolean | string;

/** What every node in the editor has; each dialog adds its own properties. */
export interface EditorNode {
  id: string;
  name?: string;
}

/** A reading node (sma-read, sma-archive, the query nodes): it names its sma-inverter config node. */
export interface ReadingNode extends EditorNode {
  inverter?: string;
  outage?: string;
}

/** The keys of a dialog's catalog that say why an admin request failed ("failed" gets __status__ and __message__). */
export interface AjaxErrorKeys {
  noConnection: string;
  notAvailable: string;
  failed: string;
}

/** The one i18n helper: t of one node set, whose catalog's namespace is @speedwire/node-red-sma/<set>. */
export function translator(set: string): Translate {
  const ns = `@speedwire/node-red-sma/${set}`;
  return (key, opts) => RED._(`${ns}:${key}`, opts);
}

/**
 * One line that says why an admin request failed: no connection, endpoint missing (runtime not restarted after an
 * install), or the runtime's message.
 */
export function ajaxError(
  xhr: JQueryXHR | undefined,
  textStatus: string,
  errorThrown: string,
  t: Translate,
  keys: AjaxErrorKeys,
): string {
  if (!xhr || xhr.status === 0) return t(keys.noConnection);
  if (xhr.status === 404) return t(keys.notAvailable);
  let message: unknown = "";
  const body = xhr.responseJSON;
  if (body && typeof body === "object") {
    const b = body as { message?: unknown; error?: unknown };
    message = b.message || b.error || "";
  }
  if (!message && typeof xhr.responseText === "string" && !/^\s*</.test(xhr.responseText)) message = xhr.responseText;
  let line = String(message || errorThrown || textStatus || "").trim();
  if (line.length > 200) line = line.substring(0, 200) + "…";
  return t(keys.failed, { status: xhr.status, message: line || xhr.status });
}

/** A validator's answer: true, or the reason (the dialog's validation.<key>) when opt is given, else false. */
export function result(t: Translate, ok: boolean, key: string, opt?: object): boolean | string {
  if (ok) return true;
  return opt ? t("validation." + key) : false;
}

/**
 * onadd of every reading node: a new node gets the sma-inverter config node when exactly one exists (on this flow or
 * global), so it is valid at once; with none or several the user picks in the dialog.
 */
export function pickInverter(this: ReadingNode): void {
  if (this.inverter) return;
  const active = RED.workspaces.active();
  const found: string[] = [];
  RED.nodes.eachConfig((c) => {
    if (c.type === "sma-inverter" && (!c.z || c.z === active)) found.push(c.id);
  });
  if (found.length === 1) this.inverter = found[0];
}

/**
 * A node from a flow saved before the "outage" setting has none: its dialog shows the behaviour it has, the default
 * "status" (the runtime reads a missing value the same way).
 */
export function prepareOutage(node: ReadingNode): void {
  const v = node.outage === "error" || node.outage === "null" ? node.outage : "status";
  $("#node-input-outage").val(v);
}

/** The label style of every node: italic when the user named it. */
export function labelStyle(this: EditorNode): string {
  return this.name ? "node_label_italic" : "";
}

/** What the .html files find on window.SmaSpeedwireEditor: the shared helpers and each dialog's functions. */
export interface EditorGlobal {
  ajaxError: typeof ajaxError;
  pickInverter: typeof pickInverter;
  prepareOutage: typeof prepareOutage;
  result: typeof result;
  [dialog: string]: unknown;
}

declare global {
  interface Window {
    SmaSpeedwireEditor?: EditorGlobal;
  }
}

/** Hands a dialog's functions (and the shared helpers) to its .html, which registers the node type with them. */
export function publish(dialog: string, api: unknown): void {
  const editor: EditorGlobal = window.SmaSpeedwireEditor || { ajaxError, pickInverter, prepareOutage, result };
  window.SmaSpeedwireEditor = editor;
  editor[dialog] = api;
}
