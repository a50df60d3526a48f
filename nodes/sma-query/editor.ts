/*
 * Editor of the plain query nodes (nodes/query): every type of the node set "sma-query" gets the same dialog, the
 * template data-template-name="sma-query" of query.html, and its labels from the set's catalog (query.json, one block
 * per type). query.html registers each type with queryNode(type).
 */
import { labelStyle, pickInverter, prepareOutage, publish, translator, type ReadingNode } from "../shared/editor";

const t = translator("sma-query");

interface QueryNode extends ReadingNode {
  topic?: string;
}

/**
 * The definition of one plain query node type. query.html calls it once its template is in the page: the dialog
 * looks the template up by type, so the type gets a copy of the shared one.
 */
function queryNode(type: string): object {
  const shared = $("script[data-template-name='sma-query']");
  if ($(`script[data-template-name='${type}']`).length === 0) {
    $("<script type='text/html'>").attr("data-template-name", type).html(shared.html()).insertAfter(shared);
  }
  return {
    category: "SMA",
    color: "#F8B334",
    defaults: {
      name: { value: "" },
      inverter: { value: "", type: "sma-inverter", required: true, label: t("label.inverter") },
      topic: { value: "" },
      outage: { value: "status" },
    },
    inputs: 1,
    outputs: 1,
    icon: `${type}.svg`,
    onadd: pickInverter,
    paletteLabel: () => t(`${type}.paletteLabel`),
    label(this: QueryNode): string {
      return this.name || t(`${type}.default`);
    },
    labelStyle,
    inputLabels: () => t("inputLabel"),
    outputLabels: () => t(`${type}.outputLabel`),
    oneditprepare(this: QueryNode): void {
      prepareOutage(this);
      $("#node-input-topic").attr("placeholder", t(`${type}.topic`));
      $("#sma-query-tip").text(t(`${type}.tip`));
    },
  };
}

publish("queryNode", queryNode);
