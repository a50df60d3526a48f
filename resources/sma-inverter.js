/*
 * The sma-inverter dialog (nodes/sma-inverter/sma-inverter.html): validators, label, search and the password hint.
 * The rules come from settings-rules.js, the runtime's own (src/client/settings-rules.ts).
 */
(function () {
    "use strict";
    var NS = "@speedwire/node-red-sma/sma-inverter";
    // Set by the node-red placeholder for a stored password: not the password itself.
    var STORED = "__PWRD__";

    // id of the sma-inverter node whose edit dialog is open: its validators read the live inputs.
    var editingId = null;
    // Each search gets a token so that a late answer never fills a dialog opened after it.
    var searchToken = 0;
    // Likewise for Diagnose.
    var diagnoseToken = 0;

    function rules() {
        return window.SmaSettingsRules;
    }

    function t(key, opts) {
        return RED._(NS + ":" + key, opts);
    }

    function isSerial(v) {
        return rules().text(v) === "" || rules().wholeNumber(v, rules().INVERTER_SERIAL) !== undefined;
    }

    /** The value the user sees now: the input while this node is being edited, the saved value otherwise. */
    function liveValue(node, field) {
        var input = $("#node-config-input-" + field);
        if (editingId !== null && node && node.id === editingId && input.length) {
            return input.val();
        }
        return node ? node[field] : undefined;
    }

    function result(ok, key, opt) {
        return window.SmaSpeedwireEditor.result(t, ok, key, opt);
    }

    function passwordProblem(v) {
        return v === STORED ? undefined : rules().passwordProblem(v);
    }

    function ajaxError(xhr, textStatus, errorThrown) {
        return window.SmaSpeedwireEditor.ajaxError(xhr, textStatus, errorThrown, t, {
            noConnection: "discover.noConnection", notAvailable: "discover.notAvailable", failed: "discover.failed"
        });
    }

    function showSearching(box) {
        box.empty().append(
            $('<div class="sma-inverter-discover-msg">').append(
                $('<i class="fa fa-spinner fa-spin"></i>'),
                document.createTextNode(" " + t("discover.searching"))
            )
        );
    }

    function showError(box, message) {
        box.empty().append(
            $('<div class="sma-inverter-discover-msg sma-error">').append(
                $('<i class="fa fa-exclamation-triangle"></i>'),
                document.createTextNode(" " + message)
            )
        );
    }

    function showNone(box) {
        var causes = $('<ul class="sma-inverter-causes">');
        ["subnet", "multicast", "docker", "asleep"].forEach(function (k) {
            $("<li>").text(t("discover.cause." + k)).appendTo(causes);
        });
        box.empty().append(
            $('<div class="sma-inverter-discover-msg sma-error">').text(t("discover.none")),
            $('<div class="sma-inverter-discover-msg">').text(t("discover.causes")),
            causes
        );
    }

    function pick(device, item) {
        var serial = device.serial === undefined || device.serial === null ? "" : String(device.serial);
        $("#node-config-input-host").val(device.address ? String(device.address) : "").trigger("change");
        $("#node-config-input-serial").val(serial).trigger("change");
        if (device.port) {
            $("#node-config-input-port").val(String(device.port)).trigger("change");
        }
        item.siblings().removeClass("sma-selected");
        item.addClass("sma-selected");
    }

    function showResults(box, list) {
        if (list.length === 0) {
            showNone(box);
            return;
        }
        var currentHost = String($("#node-config-input-host").val() || "").trim();
        var ul = $('<ul class="sma-inverter-results" role="listbox">');
        list.forEach(function (device) {
            if (!device || typeof device !== "object") {
                return;
            }
            var item = $('<li role="option" tabindex="0">').attr("title", t("discover.pick"));
            var port = device.port && Number(device.port) !== 9522 ? ":" + device.port : "";
            $('<span class="sma-address">').text((device.address || "?") + port).appendTo(item);
            if (device.model) {
                $('<span class="sma-detail">').text(String(device.model)).appendTo(item);
            }
            if (device.serial !== undefined && device.serial !== null) {
                $('<span class="sma-detail">').text(t("discover.serial", { serial: device.serial })).appendTo(item);
            }
            if (device.susyId !== undefined && device.susyId !== null) {
                $('<span class="sma-detail">').text(t("discover.susyId", { susyId: device.susyId })).appendTo(item);
            }
            if (currentHost && currentHost === device.address) {
                item.addClass("sma-selected");
            }
            item.on("click", function () {
                pick(device, item);
            });
            item.on("keydown", function (event) {
                if (event.key === "Enter" || event.key === " ") {
                    event.preventDefault();
                    pick(device, item);
                }
            });
            ul.append(item);
        });
        box.empty().append(
            $('<div class="sma-inverter-discover-msg">').text(t("discover.found", { count: ul.children().length })),
            ul
        );
    }

    function search() {
        var token = ++searchToken;
        var button = $("#sma-inverter-search");
        var box = $("#sma-inverter-discover");
        $("#sma-inverter-discover-row").show();
        button.prop("disabled", true);
        showSearching(box);
        $.getJSON("sma-speedwire/discover")
            .done(function (list) {
                if (token === searchToken) {
                    showResults(box, Array.isArray(list) ? list : []);
                }
            })
            .fail(function (xhr, textStatus, errorThrown) {
                if (token === searchToken) {
                    showError(box, ajaxError(xhr, textStatus, errorThrown));
                }
            })
            .always(function () {
                if (token === searchToken) {
                    button.prop("disabled", false);
                }
            });
    }

    /** Downloads the deployed inverter's trace (its last exchanges, no password) as a JSON file. */
    function downloadTrace(id) {
        var msg = $("#sma-inverter-trace-msg");
        var button = $("#sma-inverter-trace");
        button.prop("disabled", true);
        msg.removeClass("sma-error").text("");
        $.ajax({ url: "sma-speedwire/trace/" + encodeURIComponent(id), dataType: "json" })
            .done(function (trace) {
                var blob = new window.Blob([JSON.stringify(trace, null, 1) + "\n"], { type: "application/json" });
                var url = window.URL.createObjectURL(blob);
                var a = document.createElement("a");
                a.href = url;
                a.download = "sma-trace-" + String(id).replace(/[^0-9a-zA-Z_-]/g, "") + ".json";
                document.body.appendChild(a);
                a.click();
                document.body.removeChild(a);
                setTimeout(function () {
                    window.URL.revokeObjectURL(url);
                }, 1000);
                msg.text(t("trace.done", { count: trace && trace.entries ? trace.entries.length : 0 }));
            })
            .fail(function (xhr, textStatus, errorThrown) {
                var key = xhr.status === 404 ? "trace.notDeployed" : xhr.status === 429 ? "trace.tooMany" : null;
                msg.addClass("sma-error").text(key ? t(key) : ajaxError(xhr, textStatus, errorThrown));
            })
            .always(function () {
                button.prop("disabled", false);
            });
    }

    /**
     * Runs Diagnose on the runtime with the dialog's settings (saved or not) and lists each step in the user's
     * language. The password typed here goes with the request; the stored-password placeholder makes the runtime
     * use the deployed node's own (for its deployed host only).
     */
    function runDiagnose(id) {
        var msg = $("#sma-inverter-diagnose-msg");
        var list = $("#sma-inverter-diagnose-steps");
        var button = $("#sma-inverter-diagnose");
        var token = ++diagnoseToken;
        var field = function (name) {
            return rules().text($("#node-config-input-" + name).val());
        };
        button.prop("disabled", true);
        list.empty().hide();
        msg.removeClass("sma-error").text(t("diagnose.running"));
        $.ajax({
            url: "sma-speedwire/diagnose",
            method: "POST",
            contentType: "application/json",
            dataType: "json",
            data: JSON.stringify({
                id: id, host: field("host"), port: field("port"), serial: field("serial"), group: $("#node-config-input-group").val(),
                timeout: field("timeout"), retries: field("retries"), password: $("#node-config-input-password").val()
            })
        })
            .done(function (d) {
                if (token !== diagnoseToken) {
                    return;
                }
                msg.text("");
                (d.steps || []).forEach(function (step) {
                    var li = $("<li>").toggleClass("sma-fail", !step.ok).attr("data-code", step.code);
                    $("<i>").addClass("fa " + (step.ok ? "fa-check" : "fa-times")).appendTo(li);
                    $("<span>").text(" " + t("diagnose." + step.code, step.data || {})).appendTo(li);
                    list.append(li);
                });
                $("<li>").addClass("sma-verdict").attr("data-verdict", d.verdict)
                    .text(t("diagnose.verdictLabel", { verdict: t("diagnose.verdict." + d.verdict) })).appendTo(list);
                list.show();
            })
            .fail(function (xhr, textStatus, errorThrown) {
                if (token !== diagnoseToken) {
                    return;
                }
                var code = xhr.responseJSON && xhr.responseJSON.code;
                var key = xhr.status === 429 ? "diagnose.tooMany" : code === "nopassword" ? "diagnose.noPassword"
                    : code === "otherhost" ? "diagnose.otherHost" : null;
                msg.addClass("sma-error").text(key ? t(key) : t("diagnose.failed", {
                    status: xhr.status, message: (xhr.responseJSON && xhr.responseJSON.error) || ajaxError(xhr, textStatus, errorThrown)
                }));
            })
            .always(function () {
                button.prop("disabled", false);
            });
    }

    function updatePasswordHint() {
        var v = $("#node-config-input-password").val();
        var hint = $("#sma-inverter-password-hint");
        var problem = passwordProblem(v);
        if (problem) {
            hint.text(t("validation." + problem, { count: v.length }));
        } else if (v === STORED) {
            hint.text(t("hint.passwordStored"));
        } else if (!v) {
            hint.text(t("hint.passwordEmpty"));
        } else {
            hint.text(t("hint.passwordCount", { count: v.length }));
        }
        // No password is not invalid to save (it may be entered later), but every read fails without one.
        hint.toggleClass("sma-error", problem !== undefined || !v);
    }

    /** "Found by its serial number" only while that is what happens: host empty, a serial set. */
    function updateSerialHint() {
        var host = rules().text($("#node-config-input-host").val());
        var serial = rules().text($("#node-config-input-serial").val());
        $("#sma-inverter-serial-hint").toggle(host === "" && serial !== "" && isSerial(serial));
    }

    function stopEditing() {
        editingId = null;
        searchToken++;
        diagnoseToken++;
    }

    /** Range validators: the rule of one field as a Node-RED validator. */
    function whole(range, key) {
        return function (v, opt) {
            return result(rules().wholeNumber(v, rules()[range]) !== undefined, key, opt);
        };
    }

    window.SmaSpeedwireEditor = window.SmaSpeedwireEditor || {};
    window.SmaSpeedwireEditor.inverter = {
        validateHost: function (v, opt) {
            var host = rules().text(v);
            if (host === "") {
                var serial = rules().text(liveValue(this, "serial"));
                return result(serial !== "" && isSerial(serial), "hostOrSerial", opt);
            }
            return result(rules().isHost(host), "host", opt);
        },
        validatePort: whole("PORT", "port"),
        validateSerial: function (v, opt) {
            return result(isSerial(v), "serial", opt);
        },
        validateGroup: function (v, opt) {
            return result(v === "user" || v === "installer", "group", opt);
        },
        validateTimeout: whole("TIMEOUT_MS", "timeout"),
        validateRetries: whole("RETRIES", "retries"),
        validatePassword: function (v, opt) {
            var problem = passwordProblem(v);
            if (!problem) {
                return true;
            }
            return opt ? t("validation." + problem, { count: String(v).length }) : false;
        },
        paletteLabel: function () {
            return t("paletteLabel");
        },
        label: function () {
            if (this.name) {
                return this.name;
            }
            if (this.host) {
                var port = rules().text(this.port);
                return this.host + (port && port !== "9522" ? ":" + port : "");
            }
            if (this.serial) {
                return t("label.bySerial", { serial: this.serial });
            }
            return t("label.default");
        },
        prepare: function (node) {
            editingId = node.id;
            searchToken++;
            if (!node.group) {
                $("#node-config-input-group").val("user");
            }
            $("#sma-inverter-search").on("click", function (event) {
                event.preventDefault();
                search();
            });
            $("#sma-inverter-trace").on("click", function (event) {
                event.preventDefault();
                downloadTrace(node.id);
            });
            $("#sma-inverter-diagnose").on("click", function (event) {
                event.preventDefault();
                runDiagnose(node.id);
            });
            $("#node-config-input-password").on("change keyup input paste", updatePasswordHint);
            updatePasswordHint();
            $("#node-config-input-host").on("change keyup input paste", updateSerialHint);
            // An empty host is valid only with a serial: check the host again whenever the serial changes.
            $("#node-config-input-serial").on("change keyup input paste", function () {
                $("#node-config-input-host").trigger("change");
            });
            updateSerialHint();
        },
        save: function () {
            ["host", "serial", "port", "timeout", "retries"].forEach(function (field) {
                var input = $("#node-config-input-" + field);
                input.val(rules().text(input.val()));
            });
            stopEditing();
        },
        stopEditing: stopEditing
    };
})();
