/**
 * Redeploy soak: deploys a flow over and over into a running Node-RED (see nodered.ts), alternating "full" and
 * "nodes" deployments, waits after each one until the given reader nodes have read again (a green status that
 * arrived after that deploy had started), and measures the process's open fds and UDP sockets before and after.
 *
 * Used by test/e2e/hostile.test.ts (bounded count), scripts/soak.js (200) and the benchmark
 * fd_growth_200_redeploys (bench/, via the compiled build/test/harness/redeploys.js). Keep the signature stable:
 *
 *     const r = await redeploySoak(handle, {
 *       count: 200,                       // counted redeploys
 *       flowsFor: (i) => flows,           // the flow of redeploy i (i < 0: warm-up); change something per i
 *                                         // (a config property, a name) so that "nodes" deploys restart the nodes
 *       readers: ["ac0", "energy1"],      // node ids that must show a fresh green status after every deploy
 *     });
 *     r.fdEnd - r.fdStart;                // growth, 0 when nothing leaks
 *
 * Options (all but count and flowsFor optional):
 *   typeOf(i)        deployment type of redeploy i; default i even "full", odd "nodes" (warm-up: the same rule)
 *   warmup           deploys before the start figures are taken (default 2)
 *   readTimeoutMs    how long one reader may take to turn green after a deploy (default 15000)
 *   stableMs         the fd count must be unchanged this long before fdStart is taken (default 2000)
 *   settleTimeoutMs  after the last redeploy: how long to wait for fds and UDP sockets to come back down to their
 *                    start counts before fdEnd/udpEnd are taken anyway (default 20000)
 *   onStart()        called once the start figures are taken, right before redeploy 0 (snapshot your counters)
 *   afterDeploy(i, type)  called after redeploy i has read again (i < 0: warm-up)
 *
 * Result: the counts before (fdStart, udpStart: settled, after the warm-up) and after (fdEnd, udpEnd: once back
 * at or below the start counts, or at settleTimeoutMs), the highest counts seen right after a redeploy (fdMax,
 * udpMax), how many deploys of each type ran, how long the redeploys took and how long the end took to settle.
 */
import type { NodeRedHandle } from "./nodered";

export type DeployType = "full" | "nodes";

export interface RedeploySoakOptions {
  count: number;
  flowsFor(i: number): unknown[];
  readers?: string[];
  typeOf?(i: number): DeployType;
  warmup?: number;
  readTimeoutMs?: number;
  stableMs?: number;
  settleTimeoutMs?: number;
  onStart?(): void | Promise<void>;
  afterDeploy?(i: number, type: DeployType): void | Promise<void>;
}

export interface RedeploySoakResult {
  redeploys: number;
  full: number;
  nodes: number;
  fdStart: number;
  fdEnd: number;
  fdMax: number;
  udpStart: number;
  udpEnd: number;
  udpMax: number;
  /** Wall time of the counted redeploys (each including its reads). */
  durationMs: number;
  /** Time from the last redeploy until the end counts were taken. */
  settleMs: number;
}

type SoakHandle = Pick<NodeRedHandle, "deploy" | "statuses" | "waitForStatus" | "openFds" | "udpSockets">;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until the fd count has been unchanged for stableMs (at most maxMs); returns it. */
export async function settledFds(nr: Pick<NodeRedHandle, "openFds">, stableMs = 2000, maxMs = 30_000): Promise<number> {
  const end = Date.now() + maxMs;
  let last = nr.openFds();
  let since = Date.now();
  while (Date.now() < end) {
    await sleep(100);
    const now = nr.openFds();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= stableMs) break;
  }
  return last;
}

export async function redeploySoak(nr: SoakHandle, opts: RedeploySoakOptions): Promise<RedeploySoakResult> {
  const readers = opts.readers ?? [];
  const typeOf = opts.typeOf ?? ((i: number): DeployType => (Math.abs(i) % 2 === 0 ? "full" : "nodes"));
  const readTimeoutMs = opts.readTimeoutMs ?? 15_000;
  let fdMax = 0;
  let udpMax = 0;
  const counts = { full: 0, nodes: 0 };

  const deployAndRead = async (i: number): Promise<void> => {
    const type = typeOf(i);
    await nr.deploy(opts.flowsFor(i), type);
    // A status object already there when the deploy has started may come from the node before the redeploy:
    // only a status that arrives later counts as a read by the new node.
    const before = new Map(readers.map((id) => [id, nr.statuses.get(id)]));
    for (const id of readers) {
      await nr.waitForStatus(id, (s) => s !== before.get(id) && s.fill === "green", readTimeoutMs);
    }
    if (i >= 0) {
      counts[type]++;
      fdMax = Math.max(fdMax, nr.openFds());
      udpMax = Math.max(udpMax, nr.udpSockets());
    }
    await opts.afterDeploy?.(i, type);
  };

  for (let w = opts.warmup ?? 2; w > 0; w--) await deployAndRead(-w);
  const fdStart = await settledFds(nr, opts.stableMs ?? 2000);
  const udpStart = nr.udpSockets();
  await opts.onStart?.();

  const t0 = Date.now();
  for (let i = 0; i < opts.count; i++) await deployAndRead(i);
  const t1 = Date.now();

  const settleEnd = t1 + (opts.settleTimeoutMs ?? 20_000);
  let fdEnd = nr.openFds();
  let udpEnd = nr.udpSockets();
  while ((fdEnd > fdStart || udpEnd > udpStart) && Date.now() < settleEnd) {
    await sleep(100);
    fdEnd = nr.openFds();
    udpEnd = nr.udpSockets();
  }
  return {
    redeploys: opts.count,
    full: counts.full,
    nodes: counts.nodes,
    fdStart,
    fdEnd,
    fdMax: Math.max(fdMax, fdEnd),
    udpStart,
    udpEnd,
    udpMax: Math.max(udpMax, udpEnd),
    durationMs: t1 - t0,
    settleMs: Date.now() - t1,
  };
}
