/*
 * The sma-archive dialog (nodes/sma-archive/sma-archive.html): span validation per archive, label, and the rows and
 * span unit that follow the chosen archive. The span ranges are the runtime's (src/client/settings-rules.ts).
 */
import { ARCHIVE_SPAN, text, wholeNumber, type Range } from "../../src/client/settings-rules";
import { prepareOutage, publish, translator, type ReadingNode } from "../shared/editor";

type Archive = "day" | "month" | "events";

interface ArchiveNode extends ReadingNode {
  archive?: string;
}

const t = translator("sma-archive");
const DEFAULT_SPAN: Readonly<Record<Archive, number>> = { day: 24, month: 31, events: 7 };

function isArchive(a: unknown): a is Archive {
  return a === "day" || a === "month" || a === "events";
}

function spanRange(archive: Archive): Range {
  return ARCHIVE_SPAN[archive];
}

/** The archive the user sees now: the dialog's select while it is open, the saved one otherwise. */
function archiveOf(node: ArchiveNode): Archive {
  const a = $("#node-input-archive").length ? $("#node-input-archive").val() : node.archive;
  return isArchive(a) ? a : "day";
}

function prepare(node: ArchiveNode): void {
  prepareOutage(node);
  let previous = archiveOf(node);
  function show(): void {
    const a = archiveOf(node);
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

publish("archive", {
  inverterLabel: () => t("label.inverter"),
  validateSpan(this: ArchiveNode, v: unknown, opt?: object): boolean | string {
    const range = spanRange(archiveOf(this));
    const ok = text(v) === "" || wholeNumber(v, range) !== undefined;
    return ok ? true : opt ? t("validation.span", { max: range.max }) : false;
  },
  paletteLabel: () => t("paletteLabel"),
  label(this: ArchiveNode): string {
    return this.name || t("label.default." + (isArchive(this.archive) ? this.archive : "day"));
  },
  inputLabels: () => t("inputLabel"),
  outputLabels: () => t("outputLabel"),
  prepare,
});
