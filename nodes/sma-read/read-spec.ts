/** sma-read's spec: the values the user ticked in its dialog, read and shaped as the plain query nodes are. */
import { VALUES, queriesFor } from "../../src/protocol";
import { indexesOf, type Payload, type QueryNodeSpec } from "../shared/payloads";

const VALUE_NAMES: ReadonlySet<string> = new Set(VALUES.map((d) => d.name));

/** The ticked names that are in the value table ("__proto__", "toString" and the like are not). */
function selectedNames(config: Record<string, unknown>): string[] {
  const v = config.values;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && VALUE_NAMES.has(x)) : [];
}

/** sma-read: the values the user ticked, under the table's names; enums give their tag number. */
export const readSpec: QueryNodeSpec = {
  type: "sma-read",
  topic: "read",
  queries: (config) => queriesFor(selectedNames(config)),
  payload: ({ values: v }, config) => {
    const p: Payload = {};
    for (const name of selectedNames(config)) {
      const indexed = VALUES.some((d) => d.name === name && d.indexed);
      const keys = indexed ? indexesOf(v, name).map((n) => `${name}${n}`) : [name];
      for (const k of keys) {
        const x = Object.hasOwn(v, k) ? v[k] : undefined;
        p[k] = x === undefined || x === null ? null : typeof x === "object" ? x.selected : x;
      }
    }
    return p;
  },
};
