import { registerQueryNode } from "../shared/query-node";
import { readSpec } from "./read-spec";
import type { NodeAPI } from "node-red";

export = (RED: NodeAPI): void => registerQueryNode(RED, readSpec);
