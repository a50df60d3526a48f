/*
 * The sma-archive dialog (nodes/sma-archive/sma-archive.html): span validation per archive, label, and the rows
 * and span unit that follow the chosen archive. The span ranges are the runtime's (settings-rules.js).
 */
(function () {
    "use strict";
    var NS = "@speedwire/node-red-sma/sma-archive";
    var DEFAULT_SPAN = { day: 24, month: 31, events: 7 };

    function t(key, opts) {
        return RED._(NS + ":" + key, opts);
    }

    function spanRange(archive) {
        return window.SmaSettingsRules.ARCHIVE_SPAN[archive];
    }

    function archiveOf(node) {
        var a = $("#node-input-archive").length ? $("#node-input-archive").val() : node.archive;
        return DEFAULT_SPAN[a] ? a : "day";
    }

    window.SmaSpeedwireEditor = window.SmaSpeedwireEditor || {};
    window.SmaSpeedwireEditor.archive = {
        inverterLabel: function () {
            return t("label.inverter");
        },
        validateSpan: function (v, opt) {
            var range = spanRange(archiveOf(this));
            var ok = window.SmaSettingsRules.text(v) === "" || window.SmaSettingsRules.wholeNumber(v, range) !== undefined;
            return ok ? true : opt ? t("validation.span", { max: range.max }) : false;
        },
        paletteLabel: function () {
            return t("paletteLabel");
        },
        label: function () {
            return this.name || t("label.default." + (DEFAULT_SPAN[this.archive] ? this.archive : "day"));
        },
        inputLabels: function () {
            return t("inputLabel");
        },
        outputLabels: function () {
            return t("outputLabel");
        },
        prepare: function (node) {
            window.SmaSpeedwireEditor.prepareOutage(node);
            var previous = archiveOf(node);
            function show() {
                var a = archiveOf(node);
                $(".sma-archive-events").toggle(a === "events");
                $(".sma-archive-month").toggle(a === "month");
                $("#sma-archive-span-unit").text(t("unit." + (a === "day" ? "hours" : "days"), { max: spanRange(a).max }));
                $("#node-input-span").attr("placeholder", String(DEFAULT_SPAN[a]));
                // Another archive counts in other units: start from its default rather than reinterpret the number.
                if (a !== previous && $("#node-input-span").val() === String(DEFAULT_SPAN[previous])) {
                    $("#node-input-span").val(String(DEFAULT_SPAN[a]));
                }
                previous = a;
            }
            $("#node-input-archive").on("change", show);
            show();
        }
    };
})();
