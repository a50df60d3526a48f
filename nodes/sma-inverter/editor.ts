/*
 * The sma-inverter dialog (nodes/sma-inverter/sma-inverter.html): validators, label, search and the password hint.
 * The rules are the runtime's own (src/client/settings-rules.ts).
 */
import * as rules from "../../src/client/settings-rules";
import {
  ajaxError as sharedAjaxError,
  publish,
  result as sharedResult,
  translator,
  type EditorNode,
  type Validator,
} from "../shared/editor";

interface InverterNode extends EditorNode {
  host?: string;
  port?: string | number;
  serial?: string | number;
  group?: string;
}

/** A device as GET sma-speedwire/discover lists it, untrusted. */
interface Device {
  address?: unknown;
  port?: unknown;
  serial?: unknown;
  susyId?: unknown;
  model?: unknown;
}

const t = translator("sma-inverter");
// Set by the node-red placeholder for a stored password: not the password itself.
const STORED = "__PWRD__";

// id of the sma-inverter node whose edit dialog is open: its validators read the live inputs.
let editingId: string | null = null;
// Each search gets a token so that a late answer never fills a dialog opened after it.
let searchToken = 0;
// Likewise for Diagnose.
let diagnoseToken = 0;

function isSerial(v: unknown): boolean {
  return rules.text(v) === "" || rules.wholeNumber(v, rules.INVERTER_SERIAL) !== undefined;
}

/** The value the user sees now: the input while this node is being edited, the saved value otherwise. */
function liveValue(node: InverterNode | undefined, field: "serial"): unknown {
  const input = $(`#node-config-input-${field}`);
  if (editingId !== null && node && node.id === editingId && input.length) return input.val();
  return node ? node[field] : undefined;
}

function result(ok: boolean, key: string, opt?: object): boolean | string {
  return sharedResult(t, ok, key, opt);
}

function passwordProblem(v: unknown): rules.PasswordProblem | undefined {
  return v === STORED ? undefined : rules.passwordProblem(v);
}

function ajaxError(xhr: JQueryXHR, textStatus: string, errorThrown: string): string {
  return sharedAjaxError(xhr, textStatus, errorThrown, t, {
    noConnection: "discover.noConnection",
    notAvailable: "discover.notAvailable",
    failed: "discover.failed",
  });
}

function showSearching(box: JQuery): void {
  box
    .empty()
    .append(
      $('<div class="sma-inverter-discover-msg">').append(
        $('<i class="fa fa-spinner fa-spin"></i>'),
        document.createTextNode(" " + t("discover.searching")),
      ),
    );
}

function showError(box: JQuery, message: string): void {
  box
    .empty()
    .append(
      $('<div class="sma-inverter-discover-msg sma-error">').append(
        $('<i class="fa fa-exclamation-triangle"></i>'),
        document.createTextNode(" " + message),
      ),
    );
}

function showNone(box: JQuery): void {
  const causes = $('<ul class="sma-inverter-causes">');
  for (const k of ["subnet", "multicast", "docker", "asleep"])
    $("<li>")
      .text(t("discover.cause." + k))
      .appendTo(causes);
  box
    .empty()
    .append(
      $('<div class="sma-inverter-discover-msg sma-error">').text(t("discover.none")),
      $('<div class="sma-inverter-discover-msg">').text(t("discover.causes")),
      causes,
    );
}

function pick(device: Device, item: JQuery): void {
  const serial = device.serial === undefined || device.serial === null ? "" : String(device.serial);
  $("#node-config-input-host")
    .val(device.address ? String(device.address) : "")
    .trigger("change");
  $("#node-config-input-serial").val(serial).trigger("change");
  if (device.port) $("#node-config-input-port").val(String(device.port)).trigger("change");
  item.siblings().removeClass("sma-selected");
  item.addClass("sma-selected");
}

function showResults(box: JQuery, list: unknown[]): void {
  if (list.length === 0) {
    showNone(box);
    return;
  }
  const currentHost = String($("#node-config-input-host").val() || "").trim();
  const ul = $('<ul class="sma-inverter-results" role="listbox">');
  for (const entry of list) {
    if (!entry || typeof entry !== "object") continue;
    const device = entry as Device;
    const item = $('<li role="option" tabindex="0">').attr("title", t("discover.pick"));
    const port = device.port && Number(device.port) !== 9522 ? ":" + String(device.port) : "";
    $('<span class="sma-address">')
      .text(String(device.address || "?") + port)
      .appendTo(item);
    if (device.model) $('<span class="sma-detail">').text(String(device.model)).appendTo(item);
    if (device.serial !== undefined && device.serial !== null) {
      $('<span class="sma-detail">')
        .text(t("discover.serial", { serial: device.serial }))
        .appendTo(item);
    }
    if (device.susyId !== undefined && device.susyId !== null) {
      $('<span class="sma-detail">')
        .text(t("discover.susyId", { susyId: device.susyId }))
        .appendTo(item);
    }
    if (currentHost && currentHost === device.address) item.addClass("sma-selected");
    item.on("click", () => pick(device, item));
    item.on("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        pick(device, item);
      }
    });
    ul.append(item);
  }
  box
    .empty()
    .append(
      $('<div class="sma-inverter-discover-msg">').text(t("discover.found", { count: ul.children().length })),
      ul,
    );
}

function search(): void {
  const token = ++searchToken;
  const button = $("#sma-inverter-search");
  const box = $("#sma-inverter-discover");
  $("#sma-inverter-discover-row").show();
  button.prop("disabled", true);
  showSearching(box);
  $.getJSON("sma-speedwire/discover")
    .done((list) => {
      if (token === searchToken) showResults(box, Array.isArray(list) ? (list as unknown[]) : []);
    })
    .fail((xhr, textStatus, errorThrown) => {
      if (token === searchToken) showError(box, ajaxError(xhr, textStatus, errorThrown));
    })
    .always(() => {
      if (token === searchToken) button.prop("disabled", false);
    });
}

/** Downloads the deployed inverter's trace (its last exchanges, no password) as a JSON file. */
function downloadTrace(id: string): void {
  const msg = $("#sma-inverter-trace-msg");
  const button = $("#sma-inverter-trace");
  button.prop("disabled", true);
  msg.removeClass("sma-error").text("");
  $.ajax({ url: "sma-speedwire/trace/" + encodeURIComponent(id), dataType: "json" })
    .done((trace) => {
      const blob = new window.Blob([JSON.stringify(trace, null, 1) + "\n"], { type: "application/json" });
      const url = window.URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = "sma-trace-" + String(id).replace(/[^0-9a-zA-Z_-]/g, "") + ".json";
      document.body.appendChild(a);
      a.click();
      document.body.removeChild(a);
      setTimeout(() => window.URL.revokeObjectURL(url), 1000);
      const entries = trace && typeof trace === "object" ? (trace as { entries?: unknown }).entries : undefined;
      msg.text(t("trace.done", { count: Array.isArray(entries) ? entries.length : 0 }));
    })
    .fail((xhr, textStatus, errorThrown) => {
      const key = xhr.status === 404 ? "trace.notDeployed" : xhr.status === 429 ? "trace.tooMany" : null;
      msg.addClass("sma-error").text(key ? t(key) : ajaxError(xhr, textStatus, errorThrown));
    })
    .always(() => {
      button.prop("disabled", false);
    });
}

/** Diagnose's answer, as far as the dialog shows it: each step's code and figures, and the verdict. */
interface DiagnoseAnswer {
  steps?: { ok?: boolean; code?: string; data?: Record<string, unknown> }[];
  verdict?: string;
}

/**
 * Runs Diagnose on the runtime with the dialog's settings (saved or not) and lists each step in the user's language.
 * The password typed here goes with the request; the stored-password placeholder makes the runtime use the deployed
 * node's own (for its deployed host only).
 */
function runDiagnose(id: string): void {
  const msg = $("#sma-inverter-diagnose-msg");
  const list = $("#sma-inverter-diagnose-steps");
  const button = $("#sma-inverter-diagnose");
  const token = ++diagnoseToken;
  const field = (name: string): string => rules.text($(`#node-config-input-${name}`).val());
  button.prop("disabled", true);
  list.empty().hide();
  msg.removeClass("sma-error").text(t("diagnose.running"));
  $.ajax({
    url: "sma-speedwire/diagnose",
    method: "POST",
    contentType: "application/json",
    dataType: "json",
    data: JSON.stringify({
      id,
      host: field("host"),
      port: field("port"),
      serial: field("serial"),
      group: $("#node-config-input-group").val(),
      timeout: field("timeout"),
      retries: field("retries"),
      password: $("#node-config-input-password").val(),
    }),
  })
    .done((answer) => {
      if (token !== diagnoseToken) return;
      const d = (answer && typeof answer === "object" ? answer : {}) as DiagnoseAnswer;
      msg.text("");
      for (const step of d.steps || []) {
        const li = $("<li>").toggleClass("sma-fail", !step.ok).attr("data-code", String(step.code));
        $("<i>")
          .addClass("fa " + (step.ok ? "fa-check" : "fa-times"))
          .appendTo(li);
        $("<span>")
          .text(" " + t("diagnose." + String(step.code), step.data || {}))
          .appendTo(li);
        list.append(li);
      }
      $("<li>")
        .addClass("sma-verdict")
        .attr("data-verdict", String(d.verdict))
        .text(t("diagnose.verdictLabel", { verdict: t("diagnose.verdict." + String(d.verdict)) }))
        .appendTo(list);
      list.show();
    })
    .fail((xhr, textStatus, errorThrown) => {
      if (token !== diagnoseToken) return;
      const body = (xhr.responseJSON && typeof xhr.responseJSON === "object" ? xhr.responseJSON : {}) as {
        code?: unknown;
        error?: unknown;
      };
      const key =
        xhr.status === 429
          ? "diagnose.tooMany"
          : body.code === "nopassword"
            ? "diagnose.noPassword"
            : body.code === "otherhost"
              ? "diagnose.otherHost"
              : null;
      msg.addClass("sma-error").text(
        key
          ? t(key)
          : t("diagnose.failed", {
              status: xhr.status,
              message: body.error || ajaxError(xhr, textStatus, errorThrown),
            }),
      );
    })
    .always(() => {
      button.prop("disabled", false);
    });
}

function updatePasswordHint(): void {
  const v = $("#node-config-input-password").val();
  const hint = $("#sma-inverter-password-hint");
  const problem = passwordProblem(v);
  if (problem) hint.text(t("validation." + problem, { count: v.length }));
  else if (v === STORED) hint.text(t("hint.passwordStored"));
  else if (!v) hint.text(t("hint.passwordEmpty"));
  else hint.text(t("hint.passwordCount", { count: v.length }));
  // No password is not invalid to save (it may be entered later), but every read fails without one.
  hint.toggleClass("sma-error", problem !== undefined || !v);
}

/** "Found by its serial number" only while that is what happens: host empty, a serial set. */
function updateSerialHint(): void {
  const host = rules.text($("#node-config-input-host").val());
  const serial = rules.text($("#node-config-input-serial").val());
  $("#sma-inverter-serial-hint").toggle(host === "" && serial !== "" && isSerial(serial));
}

function stopEditing(): void {
  editingId = null;
  searchToken++;
  diagnoseToken++;
}

/** Range validators: the rule of one field as a Node-RED validator. */
function whole(range: rules.Range, key: string): Validator {
  return (v, opt) => result(rules.wholeNumber(v, range) !== undefined, key, opt);
}

function prepare(node: InverterNode): void {
  editingId = node.id;
  searchToken++;
  if (!node.group) $("#node-config-input-group").val("user");
  $("#sma-inverter-search").on("click", (event) => {
    event.preventDefault();
    search();
  });
  $("#sma-inverter-trace").on("click", (event) => {
    event.preventDefault();
    downloadTrace(node.id);
  });
  $("#sma-inverter-diagnose").on("click", (event) => {
    event.preventDefault();
    runDiagnose(node.id);
  });
  $("#node-config-input-password").on("change keyup input paste", updatePasswordHint);
  updatePasswordHint();
  $("#node-config-input-host").on("change keyup input paste", updateSerialHint);
  // An empty host is valid only with a serial: check the host again whenever the serial changes.
  $("#node-config-input-serial").on("change keyup input paste", () => {
    $("#node-config-input-host").trigger("change");
  });
  updateSerialHint();
}

publish("inverter", {
  validateHost(this: InverterNode, v: unknown, opt?: object): boolean | string {
    const host = rules.text(v);
    if (host === "") {
      const serial = rules.text(liveValue(this, "serial"));
      return result(serial !== "" && isSerial(serial), "hostOrSerial", opt);
    }
    return result(rules.isHost(host), "host", opt);
  },
  validatePort: whole(rules.PORT, "port"),
  validateSerial: (v: unknown, opt?: object) => result(isSerial(v), "serial", opt),
  validateGroup: (v: unknown, opt?: object) => result(v === "user" || v === "installer", "group", opt),
  validateTimeout: whole(rules.TIMEOUT_MS, "timeout"),
  validateRetries: whole(rules.RETRIES, "retries"),
  validatePassword(v: unknown, opt?: object): boolean | string {
    const problem = passwordProblem(v);
    if (!problem) return true;
    return opt ? t("validation." + problem, { count: String(v).length }) : false;
  },
  paletteLabel: () => t("paletteLabel"),
  label(this: InverterNode): string {
    if (this.name) return this.name;
    if (this.host) {
      const port = rules.text(this.port);
      return this.host + (port && port !== "9522" ? ":" + port : "");
    }
    if (this.serial) return t("label.bySerial", { serial: this.serial });
    return t("label.default");
  },
  prepare,
  save(): void {
    for (const field of ["host", "serial", "port", "timeout", "retries"]) {
      const input = $(`#node-config-input-${field}`);
      input.val(rules.text(input.val()));
    }
    stopEditing();
  },
  stopEditing,
});
