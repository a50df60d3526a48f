/*
 * The sma-read dialog (nodes/sma-read/sma-read.html): the value picker, filled from GET sma-speedwire/values (the
 * value table), and the label.
 */
import { ajaxError as sharedAjaxError, prepareOutage, publish, translator, type ReadingNode } from "../shared/editor";

interface ReadNode extends ReadingNode {
  values?: unknown;
}

/** One row of the picker. */
interface Row {
  name: string;
  label: string;
  group: string;
  unit: string;
  /** One row per string / battery: the name stands for all of them (dcPower -> dcPower1, dcPower2, ...). */
  indexed?: boolean;
  /** A numbered row (dcPower2): the indexed row it follows. */
  after?: string;
}

/** The open edit dialog (one at a time). */
interface State {
  values: Row[] | null;
  selected: string[];
  message: string | null;
  messageIsError: boolean;
}

const t = translator("sma-read");
const GROUPS = ["energy", "ac", "dc", "status", "device", "battery", "grid"];

let state: State | null = null;
let loadToken = 0;

function validName(v: unknown): v is string {
  return typeof v === "string" && v.trim() !== "";
}

function ajaxError(xhr: JQueryXHR, textStatus: string, errorThrown: string): string {
  return sharedAjaxError(xhr, textStatus, errorThrown, t, {
    noConnection: "load.noConnection",
    notAvailable: "load.notAvailable",
    failed: "load.failed",
  });
}

/** A row of GET sma-speedwire/values, untrusted. */
interface TableValue {
  name?: unknown;
  label?: unknown;
  labels?: unknown;
  group?: unknown;
  unit?: unknown;
  indexed?: unknown;
}

/** The value's label in the editor's language (the table has one per language), else the en-US one. */
function labelOf(v: TableValue, name: string): string {
  const lang = RED.i18n.lang();
  const labels = (v.labels && typeof v.labels === "object" ? v.labels : {}) as Record<string, unknown>;
  const label = labels[lang] || labels[String(lang).split("-")[0]] || v.label;
  return label ? String(label) : name;
}

/** Keeps the first row of each name (the table may list one name under two value ids). */
function normalise(list: unknown): Row[] {
  const seen = new Set<string>();
  const out: Row[] = [];
  for (const entry of Array.isArray(list) ? (list as unknown[]) : []) {
    if (!entry || typeof entry !== "object") continue;
    const v = entry as TableValue;
    if (!validName(v.name) || seen.has(v.name)) continue;
    seen.add(v.name);
    out.push({
      name: v.name,
      label: labelOf(v, v.name),
      group: typeof v.group === "string" && GROUPS.includes(v.group) ? v.group : "other",
      unit: v.unit ? String(v.unit) : "",
      indexed: v.indexed === true,
    });
  }
  return out;
}

function groupTitle(group: string): string {
  return t("group." + group);
}

function isSelected(name: string): boolean {
  return state !== null && state.selected.includes(name);
}

function setSelected(name: string | undefined, on: boolean): void {
  if (!state || name === undefined) return;
  const i = state.selected.indexOf(name);
  if (on && i < 0) state.selected.push(name);
  else if (!on && i >= 0) state.selected.splice(i, 1);
}

/** The saved order: table order for known names, then names the table does not know, as they were. */
function orderedSelection(s: State): string[] {
  const known = new Set<string>();
  const out: string[] = [];
  for (const v of s.values || []) {
    known.add(v.name);
    if (isSelected(v.name)) out.push(v.name);
  }
  for (const name of s.selected) if (!known.has(name)) out.push(name);
  return out;
}

function renderItem(v: Row): JQuery {
  const label = v.indexed ? t("label.indexed", { label: v.label }) : v.label;
  const shownName = v.indexed ? t("label.indexedName", { name: v.name }) : v.name;
  const item = $('<div class="sma-read-item">').attr({
    "data-name": v.name,
    title: v.indexed ? t("label.indexedTitle", { name: v.name }) : v.name,
  });
  item.data("search", `${label} ${shownName} ${v.unit} ${groupTitle(v.group)}`.toLowerCase());
  const box = $('<input type="checkbox">').attr("aria-label", label).prop("checked", isSelected(v.name)).appendTo(item);
  $('<span class="sma-read-item-label">').text(label).appendTo(item);
  $('<span class="sma-read-item-unit">').text(v.unit).appendTo(item);
  $('<span class="sma-read-item-name">').text(shownName).appendTo(item);
  box.on("change", () => {
    setSelected(v.name, box.prop("checked"));
    updateCounts();
  });
  item.on("click", (event) => {
    if (event.target !== box[0]) box.prop("checked", !box.prop("checked")).trigger("change");
  });
  return item;
}

function setGroup(section: JQuery, on: boolean): void {
  section.find(".sma-read-item:visible input[type=checkbox]").each(function () {
    const box = $(this);
    if (box.prop("checked") !== on) {
      box.prop("checked", on);
      setSelected(box.closest(".sma-read-item").attr("data-name"), on);
    }
  });
  updateCounts();
}

function renderGroup(list: JQuery, group: string, items: Row[]): void {
  if (items.length === 0) return;
  const section = $('<div class="sma-read-group">').attr("data-group", group).appendTo(list);
  const header = $('<div class="sma-read-group-header">').appendTo(section);
  $('<span class="sma-read-group-title">').text(groupTitle(group)).appendTo(header);
  $('<span class="sma-read-group-count">').appendTo(header);
  $('<button type="button" class="red-ui-button red-ui-button-small">')
    .text(t("button.all"))
    .attr("title", t("button.allTitle"))
    .on("click", (event) => {
      event.preventDefault();
      setGroup(section, true);
    })
    .appendTo(header);
  $('<button type="button" class="red-ui-button red-ui-button-small">')
    .text(t("button.none"))
    .attr("title", t("button.noneTitle"))
    .on("click", (event) => {
      event.preventDefault();
      setGroup(section, false);
    })
    .appendTo(header);
  for (const v of items) section.append(renderItem(v));
}

/** Rows for selected names like dcPower2 that stand for one string / battery of an indexed value. */
function numberedRows(s: State, values: Row[]): Row[] {
  const byName = new Map<string, Row>();
  for (const v of values) byName.set(v.name, v);
  const rows: Row[] = [];
  for (const name of s.selected) {
    const m = /^(.*?)(\d+)$/.exec(name);
    const base = m && !byName.has(name) ? byName.get(m[1]) : undefined;
    if (m && base && base.indexed)
      rows.push({ name, label: `${base.label} ${m[2]}`, group: base.group, unit: base.unit, after: base.name });
  }
  return rows;
}

function render(): void {
  const s = state;
  if (!s) return;
  const list = $("#sma-read-list").empty();
  const values = (s.values || []).slice();
  // Numbered names (dcPower2) sit right after their indexed row (dcPower), not among the unknown ones.
  for (const row of numberedRows(s, values)) {
    let at = -1;
    values.forEach((v, i) => {
      if (v.name === row.after || v.after === row.after) at = i;
    });
    values.splice(at + 1, 0, row);
  }
  const known = new Set(values.map((v) => v.name));
  for (const group of [...GROUPS, "other"])
    renderGroup(
      list,
      group,
      values.filter((v) => v.group === group),
    );
  // Selected names the table does not (or not yet) know stay visible, so they can be kept or removed.
  const extraGroup = s.values ? "unknown" : "selected";
  const unknown = s.selected
    .filter((name) => !known.has(name))
    .map((name): Row => ({ name, label: name, group: extraGroup, unit: "" }));
  renderGroup(list, extraGroup, unknown);
  if (s.message) {
    $('<div class="sma-read-message">').toggleClass("sma-error", s.messageIsError).text(s.message).prependTo(list);
  }
  applyFilter();
}

function applyFilter(): void {
  const words = String($("#sma-read-filter").val() || "")
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean);
  $("#sma-read-list .sma-read-group").each(function () {
    const section = $(this);
    let shown = 0;
    section.find(".sma-read-item").each(function () {
      const item = $(this);
      const text = String(item.data("search") || "");
      const match = words.every((w) => text.includes(w));
      item.toggle(match);
      if (match) shown++;
    });
    section.toggle(shown > 0);
  });
  updateCounts();
}

function updateCounts(): void {
  $("#sma-read-list .sma-read-group").each(function () {
    const section = $(this);
    const boxes = section.find(".sma-read-item input[type=checkbox]");
    const checked = boxes.filter(":checked").length;
    section.find(".sma-read-group-count").text(t("label.groupCount", { selected: checked, total: boxes.length }));
  });
  const count = state ? state.selected.length : 0;
  const summary = $("#sma-read-summary");
  summary.text(count > 0 ? t("label.selected", { count }) : t("validation.values"));
  summary.toggleClass("sma-error", count === 0);
  $("#sma-read-list").toggleClass("input-error", count === 0);
}

function load(s: State): void {
  const token = ++loadToken;
  s.message = t("load.loading");
  s.messageIsError = false;
  render();
  $.getJSON("sma-speedwire/values")
    .done((list) => {
      if (token !== loadToken || state !== s) return;
      s.values = normalise(list);
      s.message = s.values.length === 0 ? t("load.empty") : null;
      s.messageIsError = s.values.length === 0;
      render();
    })
    .fail((xhr, textStatus, errorThrown) => {
      if (token !== loadToken || state !== s) return;
      const message = ajaxError(xhr, textStatus, errorThrown);
      s.message = message + (/[.!?…]$/.test(message) ? " " : ". ") + t("load.kept");
      s.messageIsError = true;
      render();
    });
}

function stopEditing(): void {
  state = null;
  loadToken++;
}

publish("read", {
  validateValues(v: unknown, opt?: object): boolean | string {
    const ok = Array.isArray(v) && v.length > 0 && v.every(validName);
    if (ok) return true;
    return opt ? t("validation.values") : false;
  },
  inverterLabel: () => t("label.inverter"),
  paletteLabel: () => t("paletteLabel"),
  label(this: ReadNode): string {
    if (this.name) return this.name;
    const values = Array.isArray(this.values) ? (this.values as unknown[]) : [];
    if (values.length === 1) return t("label.defaultOne", { value: values[0] });
    return values.length > 1 ? t("label.defaultMany", { count: values.length }) : t("label.default");
  },
  inputLabels: () => t("inputLabel"),
  outputLabels: () => t("outputLabel"),
  prepare(node: ReadNode): void {
    prepareOutage(node);
    const s: State = {
      values: null,
      selected: (Array.isArray(node.values) ? (node.values as unknown[]) : []).filter(validName),
      message: null,
      messageIsError: false,
    };
    state = s;
    $("#sma-read-filter")
      .on("input keyup change", applyFilter)
      .on("keydown", (event) => {
        if (event.key === "Enter") event.preventDefault();
      });
    load(s);
  },
  save(node: ReadNode): void {
    if (state) node.values = orderedSelection(state);
    stopEditing();
  },
  stopEditing,
  resize(size: { height?: number } | undefined): void {
    const list = $("#sma-read-list");
    const form = list.closest("form");
    if (!form.length || !size || !size.height) return;
    let height = size.height;
    form.children("div").each(function () {
      const row = $(this);
      if (!row.hasClass("sma-read-list-row") && row.is(":visible")) height -= row.outerHeight(true);
    });
    const listRow = list.parent();
    height -= listRow.outerHeight(true) - listRow.height();
    list.css("height", `${Math.max(120, Math.floor(height) - 4)}px`);
  },
});
