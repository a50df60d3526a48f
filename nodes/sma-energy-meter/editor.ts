/*
 * The sma-energy-meter dialog (nodes/sma-energy-meter/sma-energy-meter.html): validators, label and the interface
 * picker. The rules are the runtime's own (src/client/settings-rules.ts).
 */
import {
  isIpv4,
  isMeterGroup,
  METER_SECONDS,
  METER_SERIAL,
  PORT,
  seconds,
  text as str,
  wholeNumber,
} from "../../src/client/settings-rules";
import {
  ajaxError as sharedAjaxError,
  publish,
  result as sharedResult,
  translator,
  type EditorNode,
  type Validator,
} from "../shared/editor";

interface MeterNode extends EditorNode {
  iface?: string;
  serial?: string | number;
}

const t = translator("sma-energy-meter");
const CUSTOM = "__custom__";
let loadToken = 0;

function result(ok: boolean, key: string, opt?: object): boolean | string {
  return sharedResult(t, ok, key, opt);
}

function ajaxError(xhr: JQueryXHR, textStatus: string, errorThrown: string): string {
  return sharedAjaxError(xhr, textStatus, errorThrown, t, {
    noConnection: "iface.noConnection",
    notAvailable: "iface.notAvailable",
    failed: "iface.failed",
  });
}

/** Shows the select entry that matches the iface input, and the free-text row when none does. */
function syncSelect(): void {
  const select = $("#sma-energy-meter-iface-select");
  const value = str($("#node-input-iface").val());
  const match =
    value !== "" &&
    select.find("option").filter(function () {
      const option = this as HTMLOptionElement;
      return option.value === value && option.value !== CUSTOM;
    }).length > 0;
  if (value === "") {
    select.val($("#sma-energy-meter-iface-row").is(":visible") ? CUSTOM : "");
  } else {
    select.val(match ? value : CUSTOM);
  }
  $("#sma-energy-meter-iface-row").toggle(select.val() === CUSTOM);
}

function loadInterfaces(): void {
  const token = ++loadToken;
  const select = $("#sma-energy-meter-iface-select");
  const hint = $("#sma-energy-meter-iface-hint");
  hint.removeClass("sma-error").text(t("iface.loading"));
  $.getJSON("sma-speedwire/interfaces")
    .done((list) => {
      if (token !== loadToken) return;
      const custom = select.find(`option[value='${CUSTOM}']`);
      const seen = new Set<string>();
      for (const entry of Array.isArray(list) ? (list as unknown[]) : []) {
        if (!entry || typeof entry !== "object") continue;
        const { address: raw, name } = entry as { address?: unknown; name?: unknown };
        const address = str(raw);
        if (address === "" || seen.has(address)) continue;
        seen.add(address);
        $("<option>")
          .val(address)
          .text(name ? `${String(name)} (${address})` : address)
          .insertBefore(custom);
      }
      hint.text(seen.size === 0 ? t("iface.none") : "");
      syncSelect();
    })
    .fail((xhr, textStatus, errorThrown) => {
      if (token !== loadToken) return;
      hint.addClass("sma-error").text(ajaxError(xhr, textStatus, errorThrown));
      syncSelect();
    });
}

function secondsValidator(key: string): Validator {
  return (v, opt) => result(seconds(v, METER_SECONDS) !== undefined, key, opt);
}

function prepare(node: MeterNode): void {
  const select = $("#sma-energy-meter-iface-select");
  const iface = str(node.iface);
  // Until the list arrives: a set address shows in the free-text row.
  $("#sma-energy-meter-iface-row").toggle(iface !== "");
  select.val(iface === "" ? "" : CUSTOM);
  select.on("change", () => {
    const v = select.val();
    const input = $("#node-input-iface");
    if (v === CUSTOM) {
      $("#sma-energy-meter-iface-row").show();
      input.trigger("focus");
    } else {
      $("#sma-energy-meter-iface-row").hide();
      input.val(v).trigger("change");
    }
  });
  loadInterfaces();
}

publish("energyMeter", {
  validateGroup: (v: unknown, opt?: object) => result(isMeterGroup(v), "group", opt),
  validatePort: (v: unknown, opt?: object) => result(wholeNumber(v, PORT) !== undefined, "port", opt),
  validateIface: (v: unknown, opt?: object) => result(str(v) === "" || isIpv4(v), "iface", opt),
  validateSerial: (v: unknown, opt?: object) =>
    result(str(v) === "" || wholeNumber(v, METER_SERIAL) !== undefined, "serial", opt),
  validateThrottle: secondsValidator("throttle"),
  validateWatchdog: secondsValidator("watchdog"),
  paletteLabel: () => t("paletteLabel"),
  label(this: MeterNode): string {
    if (this.name) return this.name;
    return this.serial ? t("label.bySerial", { serial: this.serial }) : t("label.default");
  },
  outputLabels: () => t("outputLabel"),
  prepare,
  save(): void {
    for (const field of ["group", "port", "iface", "serial", "throttle", "watchdog"]) {
      const input = $(`#node-input-${field}`);
      input.val(str(input.val()));
    }
    loadToken++;
  },
  cancel(): void {
    loadToken++;
  },
});
