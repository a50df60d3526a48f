/*
 * The sma-read dialog (nodes/sma-read/sma-read.html): the value picker, filled from GET sma-speedwire/values
 * (the value table), and the label.
 */
(function () {
    "use strict";
    var NS = "@speedwire/node-red-sma/sma-read";
    var GROUPS = ["energy", "ac", "dc", "status", "device", "battery", "grid"];

    // State of the open edit dialog (one at a time).
    var state = null;
    var loadToken = 0;

    function t(key, opts) {
        return RED._(NS + ":" + key, opts);
    }

    function validName(v) {
        return typeof v === "string" && v.trim() !== "";
    }

    function ajaxError(xhr, textStatus, errorThrown) {
        return window.SmaSpeedwireEditor.ajaxError(xhr, textStatus, errorThrown, t, {
            noConnection: "load.noConnection", notAvailable: "load.notAvailable", failed: "load.failed"
        });
    }

    /** The value's label in the editor's language (the table has one per language), else the en-US one. */
    function labelOf(v) {
        var lang = RED.i18n.lang();
        var labels = v.labels && typeof v.labels === "object" ? v.labels : {};
        var label = labels[lang] || labels[String(lang).split("-")[0]] || v.label;
        return label ? String(label) : v.name;
    }

    /** Keeps the first row of each name (the table may list one name under two value ids). */
    function normalise(list) {
        var seen = {};
        var out = [];
        (Array.isArray(list) ? list : []).forEach(function (v) {
            if (!v || typeof v !== "object" || !validName(v.name) || seen[v.name]) {
                return;
            }
            seen[v.name] = true;
            out.push({
                name: v.name,
                label: labelOf(v),
                group: GROUPS.indexOf(v.group) >= 0 ? v.group : "other",
                unit: v.unit ? String(v.unit) : "",
                // One row per string / battery: the name stands for all of them (dcPower -> dcPower1, dcPower2, ...).
                indexed: v.indexed === true
            });
        });
        return out;
    }

    function groupTitle(group) {
        return t("group." + group);
    }

    function isSelected(name) {
        return state.selected.indexOf(name) >= 0;
    }

    function setSelected(name, on) {
        var i = state.selected.indexOf(name);
        if (on && i < 0) {
            state.selected.push(name);
        } else if (!on && i >= 0) {
            state.selected.splice(i, 1);
        }
    }

    /** The saved order: table order for known names, then names the table does not know, as they were. */
    function orderedSelection() {
        var known = {};
        var out = [];
        (state.values || []).forEach(function (v) {
            known[v.name] = true;
            if (isSelected(v.name)) {
                out.push(v.name);
            }
        });
        state.selected.forEach(function (name) {
            if (!known[name]) {
                out.push(name);
            }
        });
        return out;
    }

    function renderItem(v) {
        var label = v.indexed ? t("label.indexed", { label: v.label }) : v.label;
        var shownName = v.indexed ? t("label.indexedName", { name: v.name }) : v.name;
        var item = $('<div class="sma-read-item">').attr({ "data-name": v.name, title: v.indexed ? t("label.indexedTitle", { name: v.name }) : v.name });
        item.data("search", (label + " " + shownName + " " + v.unit + " " + groupTitle(v.group)).toLowerCase());
        var box = $('<input type="checkbox">').attr("aria-label", label).prop("checked", isSelected(v.name)).appendTo(item);
        $('<span class="sma-read-item-label">').text(label).appendTo(item);
        $('<span class="sma-read-item-unit">').text(v.unit).appendTo(item);
        $('<span class="sma-read-item-name">').text(shownName).appendTo(item);
        box.on("change", function () {
            setSelected(v.name, box.prop("checked"));
            updateCounts();
        });
        item.on("click", function (event) {
            if (event.target !== box[0]) {
                box.prop("checked", !box.prop("checked")).trigger("change");
            }
        });
        return item;
    }

    function setGroup(section, on) {
        section.find(".sma-read-item:visible input[type=checkbox]").each(function () {
            var box = $(this);
            if (box.prop("checked") !== on) {
                box.prop("checked", on);
                setSelected(box.closest(".sma-read-item").attr("data-name"), on);
            }
        });
        updateCounts();
    }

    function renderGroup(list, group, items) {
        if (items.length === 0) {
            return;
        }
        var section = $('<div class="sma-read-group">').attr("data-group", group).appendTo(list);
        var header = $('<div class="sma-read-group-header">').appendTo(section);
        $('<span class="sma-read-group-title">').text(groupTitle(group)).appendTo(header);
        $('<span class="sma-read-group-count">').appendTo(header);
        $('<button type="button" class="red-ui-button red-ui-button-small">').text(t("button.all"))
            .attr("title", t("button.allTitle")).on("click", function (event) {
                event.preventDefault();
                setGroup(section, true);
            }).appendTo(header);
        $('<button type="button" class="red-ui-button red-ui-button-small">').text(t("button.none"))
            .attr("title", t("button.noneTitle")).on("click", function (event) {
                event.preventDefault();
                setGroup(section, false);
            }).appendTo(header);
        items.forEach(function (v) {
            section.append(renderItem(v));
        });
    }

    /** Rows for selected names like dcPower2 that stand for one string / battery of an indexed value. */
    function numberedRows(values) {
        var byName = {};
        values.forEach(function (v) {
            byName[v.name] = v;
        });
        var rows = [];
        state.selected.forEach(function (name) {
            var m = /^(.*?)(\d+)$/.exec(name);
            var base = m && !byName[name] ? byName[m[1]] : null;
            if (base && base.indexed) {
                rows.push({ name: name, label: base.label + " " + m[2], group: base.group, unit: base.unit, after: base.name });
            }
        });
        return rows;
    }

    function render() {
        var list = $("#sma-read-list").empty();
        var values = (state.values || []).slice();
        // Numbered names (dcPower2) sit right after their indexed row (dcPower), not among the unknown ones.
        numberedRows(values).forEach(function (row) {
            var at = -1;
            values.forEach(function (v, i) {
                if (v.name === row.after || (v.after === row.after)) {
                    at = i;
                }
            });
            values.splice(at + 1, 0, row);
        });
        var known = {};
        values.forEach(function (v) {
            known[v.name] = true;
        });
        GROUPS.concat(["other"]).forEach(function (group) {
            renderGroup(list, group, values.filter(function (v) {
                return v.group === group;
            }));
        });
        // Selected names the table does not (or not yet) know stay visible, so they can be kept or removed.
        var extraGroup = state.values ? "unknown" : "selected";
        var unknown = state.selected.filter(function (name) {
            return !known[name];
        }).map(function (name) {
            return { name: name, label: name, group: extraGroup, unit: "" };
        });
        renderGroup(list, extraGroup, unknown);
        if (state.message) {
            $('<div class="sma-read-message">').toggleClass("sma-error", !!state.messageIsError)
                .text(state.message).prependTo(list);
        }
        applyFilter();
    }

    function applyFilter() {
        var words = String($("#sma-read-filter").val() || "").toLowerCase().split(/\s+/).filter(Boolean);
        $("#sma-read-list .sma-read-group").each(function () {
            var section = $(this);
            var shown = 0;
            section.find(".sma-read-item").each(function () {
                var item = $(this);
                var text = item.data("search") || "";
                var match = words.every(function (w) {
                    return text.indexOf(w) >= 0;
                });
                item.toggle(match);
                if (match) {
                    shown++;
                }
            });
            section.toggle(shown > 0);
        });
        updateCounts();
    }

    function updateCounts() {
        $("#sma-read-list .sma-read-group").each(function () {
            var section = $(this);
            var boxes = section.find(".sma-read-item input[type=checkbox]");
            var checked = boxes.filter(":checked").length;
            section.find(".sma-read-group-count").text(t("label.groupCount", { selected: checked, total: boxes.length }));
        });
        var count = state ? state.selected.length : 0;
        var summary = $("#sma-read-summary");
        summary.text(count > 0 ? t("label.selected", { count: count }) : t("validation.values"));
        summary.toggleClass("sma-error", count === 0);
        $("#sma-read-list").toggleClass("input-error", count === 0);
    }

    function load() {
        var token = ++loadToken;
        state.message = t("load.loading");
        state.messageIsError = false;
        render();
        $.getJSON("sma-speedwire/values")
            .done(function (list) {
                if (token !== loadToken || !state) {
                    return;
                }
                state.values = normalise(list);
                state.message = state.values.length === 0 ? t("load.empty") : null;
                state.messageIsError = state.values.length === 0;
                render();
            })
            .fail(function (xhr, textStatus, errorThrown) {
                if (token !== loadToken || !state) {
                    return;
                }
                var message = ajaxError(xhr, textStatus, errorThrown);
                state.message = message + (/[.!?…]$/.test(message) ? " " : ". ") + t("load.kept");
                state.messageIsError = true;
                render();
            });
    }

    function stopEditing() {
        state = null;
        loadToken++;
    }

    window.SmaSpeedwireEditor = window.SmaSpeedwireEditor || {};
    window.SmaSpeedwireEditor.read = {
        validateValues: function (v, opt) {
            var ok = Array.isArray(v) && v.length > 0 && v.every(validName);
            if (ok) {
                return true;
            }
            return opt ? t("validation.values") : false;
        },
        inverterLabel: function () {
            return t("label.inverter");
        },
        paletteLabel: function () {
            return t("paletteLabel");
        },
        label: function () {
            if (this.name) {
                return this.name;
            }
            var n = Array.isArray(this.values) ? this.values.length : 0;
            if (n === 1) {
                return t("label.defaultOne", { value: this.values[0] });
            }
            return n > 1 ? t("label.defaultMany", { count: n }) : t("label.default");
        },
        inputLabels: function () {
            return t("inputLabel");
        },
        outputLabels: function () {
            return t("outputLabel");
        },
        prepare: function (node) {
            window.SmaSpeedwireEditor.prepareOutage(node);
            state = {
                values: null,
                selected: (Array.isArray(node.values) ? node.values : []).filter(validName).slice(),
                message: null,
                messageIsError: false
            };
            $("#sma-read-filter").on("input keyup change", applyFilter).on("keydown", function (event) {
                if (event.key === "Enter") {
                    event.preventDefault();
                }
            });
            load();
        },
        save: function (node) {
            if (state) {
                node.values = orderedSelection();
            }
            stopEditing();
        },
        stopEditing: stopEditing,
        resize: function (size) {
            var list = $("#sma-read-list");
            var form = list.closest("form");
            if (!form.length || !size || !size.height) {
                return;
            }
            var height = size.height;
            form.children("div").each(function () {
                var row = $(this);
                if (!row.hasClass("sma-read-list-row") && row.is(":visible")) {
                    height -= row.outerHeight(true);
                }
            });
            var listRow = list.parent();
            height -= listRow.outerHeight(true) - listRow.height();
            list.css("height", Math.max(120, Math.floor(height) - 4) + "px");
        }
    };
})();
