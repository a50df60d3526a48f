/*
 * The sma-energy-meter dialog (nodes/sma-energy-meter/sma-energy-meter.html): validators, label and the interface
 * picker. The rules come from settings-rules.js, the runtime's own (src/client/settings-rules.ts).
 */
(function () {
    "use strict";
    var NS = "@speedwire/node-red-sma/sma-energy-meter";
    var CUSTOM = "__custom__";
    var loadToken = 0;

    function rules() {
        return window.SmaSettingsRules;
    }

    function t(key, opts) {
        return RED._(NS + ":" + key, opts);
    }

    function str(v) {
        return rules().text(v);
    }

    function result(ok, key, opt) {
        return window.SmaSpeedwireEditor.result(t, ok, key, opt);
    }

    function ajaxError(xhr, textStatus, errorThrown) {
        return window.SmaSpeedwireEditor.ajaxError(xhr, textStatus, errorThrown, t, {
            noConnection: "iface.noConnection", notAvailable: "iface.notAvailable", failed: "iface.failed"
        });
    }

    /** Shows the select entry that matches the iface input, and the free-text row when none does. */
    function syncSelect() {
        var select = $("#sma-energy-meter-iface-select");
        var value = str($("#node-input-iface").val());
        var match = value !== "" && select.find("option").filter(function () {
            return this.value === value && this.value !== CUSTOM;
        }).length > 0;
        if (value === "") {
            select.val($("#sma-energy-meter-iface-row").is(":visible") ? CUSTOM : "");
        } else {
            select.val(match ? value : CUSTOM);
        }
        $("#sma-energy-meter-iface-row").toggle(select.val() === CUSTOM);
    }

    function loadInterfaces() {
        var token = ++loadToken;
        var select = $("#sma-energy-meter-iface-select");
        var hint = $("#sma-energy-meter-iface-hint");
        hint.removeClass("sma-error").text(t("iface.loading"));
        $.getJSON("sma-speedwire/interfaces")
            .done(function (list) {
                if (token !== loadToken) {
                    return;
                }
                var custom = select.find("option[value='" + CUSTOM + "']");
                var seen = {};
                (Array.isArray(list) ? list : []).forEach(function (entry) {
                    if (!entry || typeof entry !== "object") {
                        return;
                    }
                    var address = str(entry.address);
                    if (address === "" || seen[address]) {
                        return;
                    }
                    seen[address] = true;
                    var text = entry.name ? String(entry.name) + " (" + address + ")" : address;
                    $("<option>").val(address).text(text).insertBefore(custom);
                });
                hint.text(Object.keys(seen).length === 0 ? t("iface.none") : "");
                syncSelect();
            })
            .fail(function (xhr, textStatus, errorThrown) {
                if (token !== loadToken) {
                    return;
                }
                hint.addClass("sma-error").text(ajaxError(xhr, textStatus, errorThrown));
                syncSelect();
            });
    }

    function secondsValidator(key) {
        return function (v, opt) {
            return result(rules().seconds(v, rules().METER_SECONDS) !== undefined, key, opt);
        };
    }

    window.SmaSpeedwireEditor = window.SmaSpeedwireEditor || {};
    window.SmaSpeedwireEditor.energyMeter = {
        validateGroup: function (v, opt) {
            return result(rules().isMeterGroup(v), "group", opt);
        },
        validatePort: function (v, opt) {
            return result(rules().wholeNumber(v, rules().PORT) !== undefined, "port", opt);
        },
        validateIface: function (v, opt) {
            return result(str(v) === "" || rules().isIpv4(v), "iface", opt);
        },
        validateSerial: function (v, opt) {
            return result(str(v) === "" || rules().wholeNumber(v, rules().METER_SERIAL) !== undefined, "serial", opt);
        },
        validateThrottle: secondsValidator("throttle"),
        validateWatchdog: secondsValidator("watchdog"),
        paletteLabel: function () {
            return t("paletteLabel");
        },
        label: function () {
            if (this.name) {
                return this.name;
            }
            return this.serial ? t("label.bySerial", { serial: this.serial }) : t("label.default");
        },
        outputLabels: function () {
            return t("outputLabel");
        },
        prepare: function (node) {
            var select = $("#sma-energy-meter-iface-select");
            var iface = str(node.iface);
            // Until the list arrives: a set address shows in the free-text row.
            $("#sma-energy-meter-iface-row").toggle(iface !== "");
            select.val(iface === "" ? "" : CUSTOM);
            select.on("change", function () {
                var v = select.val();
                var input = $("#node-input-iface");
                if (v === CUSTOM) {
                    $("#sma-energy-meter-iface-row").show();
                    input.trigger("focus");
                } else {
                    $("#sma-energy-meter-iface-row").hide();
                    input.val(v).trigger("change");
                }
            });
            loadInterfaces();
        },
        save: function () {
            ["group", "port", "iface", "serial", "throttle", "watchdog"].forEach(function (field) {
                var input = $("#node-input-" + field);
                input.val(str(input.val()));
            });
            loadToken++;
        },
        cancel: function () {
            loadToken++;
        }
    };
})();
