import { registerQueryNode } from "../shared/query-node";
import { energySpec } from "../shared/payloads";
import type { NodeAPI } from "../shared/red";

export = (RED: NodeAPI): void => registerQueryNode(RED, energySpec);
