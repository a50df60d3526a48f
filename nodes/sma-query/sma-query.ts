/** The plain query nodes (sma-energy, sma-spot-ac, ...): one node set, registered from the table in ../shared/payloads. */
import { registerQueryNode } from "../shared/query-node";
import { QUERY_NODES } from "../shared/payloads";
import type { NodeAPI } from "node-red";

export = (RED: NodeAPI): void => {
  for (const spec of QUERY_NODES) registerQueryNode(RED, spec);
};
