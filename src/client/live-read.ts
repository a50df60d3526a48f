/**
 * One live read's queries and its result: each query asked once (logged in, by the session), the answers' codes
 * sorted out, the readings numbered and turned into values. The session supplies the requests (inside its queue).
 *
 *   answer code                          | outcome
 *   -------------------------------------+-------------------------------------------------------------------------
 *   0x0000                               | its records become readings
 *   0x0015 / 0x0017 no such values       | the query is `unsupported` (remembered until close: not asked again)
 *   0x0014 unknown command               | the query is `unknown` (remembered until close)
 *   another code                         | EPROTOCOL naming the query
 */
import {
  ErrorCode,
  NO_SUCH_VALUES,
  QUERIES,
  hexCode,
  readingsOf,
  valuesOf,
  type Address,
  type DataRecord,
  type QueryName,
  type Reading,
} from "../protocol";
import type { DeviceClockReading } from "./device-clock";
import { SmaError } from "./errors";
import type { ReadResult } from "./session-options";

/** The queries that gave no values: the device has no such values, or does not know the command (0x0014). */
export interface NoValues {
  unsupported: QueryName[];
  unknown: QueryName[];
}

/**
 * Asks each query in turn (`ask`: one request, logged in), skipping those `known` to give no values and adding
 * those that newly do; the readings of all answers, in order.
 */
export async function askQueries(
  queries: readonly QueryName[],
  ask: (name: QueryName) => Promise<{ errorCode: number; records: DataRecord[] }>,
  known: Map<QueryName, number>,
): Promise<{ readings: Reading[]; none: NoValues }> {
  const readings: Reading[] = [];
  const none: NoValues = { unsupported: [], unknown: [] };
  const noValues = (name: QueryName, code: number): void =>
    void (code === ErrorCode.UNKNOWN_COMMAND ? none.unknown : none.unsupported).push(name);
  for (const name of queries) {
    const remembered = known.get(name);
    if (remembered !== undefined) {
      noValues(name, remembered);
      continue;
    }
    const answer = await ask(name);
    if (NO_SUCH_VALUES.has(answer.errorCode)) {
      known.set(name, answer.errorCode);
      noValues(name, answer.errorCode);
      continue;
    }
    if (answer.errorCode !== 0)
      throw new SmaError(
        "EPROTOCOL",
        `inverter answered ${QUERIES[name].title} with error ${hexCode(answer.errorCode)}`,
        answer.errorCode,
      );
    // Numbered by position within each answer: records a device adds from another query's range count there once.
    readings.push(...readingsOf(answer.records));
  }
  return { readings, none };
}

/** A read's result (timestamp: the newest record's time, else now). */
export function readResult(
  queries: readonly QueryName[],
  readings: Reading[],
  none: NoValues,
  device: Address,
  deviceClock: DeviceClockReading | null,
): ReadResult {
  const { unsupported, unknown } = none;
  const newest = readings.reduce((t, r) => Math.max(t, r.timestamp), 0);
  return {
    values: valuesOf(readings),
    readings,
    unsupported,
    unknown,
    nothingSupported: queries.length > 0 && queries.every((q) => unsupported.includes(q) || unknown.includes(q)),
    device,
    timestamp: newest > 0 ? newest : Date.now(),
    deviceClock,
  };
}
