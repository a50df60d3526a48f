/*
 * Helpers shared by this package's editor dialogs. Node-RED serves this folder at
 * resources/@speedwire/node-red-sma/ and each dialog that needs it loads it with a <script> tag;
 * loading it twice is harmless.
 */
(function () {
    "use strict";
    var editor = window.SmaSpeedwireEditor = window.SmaSpeedwireEditor || {};
    if (editor.ajaxError) {
        return;
    }
    /**
     * One line that says why an admin request failed: no connection, endpoint missing (runtime not restarted
     * after an install), or the runtime's message. t is the dialog's i18n function, keys has the keys
     * { noConnection, notAvailable, failed } of its catalog ("failed" gets __status__ and __message__).
     */
    function ajaxError(xhr, textStatus, errorThrown, t, keys) {
        if (!xhr || xhr.status === 0) {
            return t(keys.noConnection);
        }
        if (xhr.status === 404) {
            return t(keys.notAvailable);
        }
        var message = "";
        var body = xhr.responseJSON;
        if (body && typeof body === "object") {
            message = body.message || body.error || "";
        }
        if (!message && typeof xhr.responseText === "string" && !/^\s*</.test(xhr.responseText)) {
            message = xhr.responseText;
        }
        message = String(message || errorThrown || textStatus || "").trim();
        if (message.length > 200) {
            message = message.substring(0, 200) + "…";
        }
        return t(keys.failed, { status: xhr.status, message: message || xhr.status });
    }
    /** A Node-RED 3+ validator's answer: true, or the reason (the dialog's validation.<key>), false for old callers. */
    function result(t, ok, key, opt) {
        if (ok) {
            return true;
        }
        return opt ? t("validation." + key) : false;
    }
    /**
     * onadd of every reading node: a new node gets the sma-inverter config node when exactly one exists (on this
     * flow or global), so it is valid at once; with none or several the user picks in the dialog.
     */
    function pickInverter() {
        if (this.inverter) {
            return;
        }
        var active = RED.workspaces.active();
        var found = [];
        RED.nodes.eachConfig(function (c) {
            if (c.type === "sma-inverter" && (!c.z || c.z === active)) {
                found.push(c.id);
            }
        });
        if (found.length === 1) {
            this.inverter = found[0];
        }
    }
    /**
     * A node from a flow saved before the "outage" setting has none: its dialog shows the behaviour it has, the
     * default "status" (the runtime reads a missing value the same way).
     */
    function prepareOutage(node) {
        var v = node.outage === "error" || node.outage === "null" ? node.outage : "status";
        $("#node-input-outage").val(v);
    }
    editor.ajaxError = ajaxError;
    editor.prepareOutage = prepareOutage;
    editor.pickInverter = pickInverter;
    editor.result = result;
})();
