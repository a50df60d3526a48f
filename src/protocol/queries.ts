/**
 * The data queries the package sends: command + first/last value id, as the reference clients use them.
 * Each value in the value table names the query that fetches it.
 */
export interface QueryDef {
  command: number;
  first: number;
  last: number;
  /** What the query is for, for logs and docs. */
  title: string;
}

export const QUERIES = {
  energy: { command: 0x54000200, first: 0x00260100, last: 0x002622ff, title: "total and day yield" },
  times: { command: 0x54000200, first: 0x00462e00, last: 0x00462fff, title: "operating and feed-in time" },
  acPowerTotal: { command: 0x51000200, first: 0x00263f00, last: 0x00263fff, title: "AC power total" },
  acPowerPhase: { command: 0x51000200, first: 0x00464000, last: 0x004642ff, title: "AC power per phase" },
  acVoltageCurrent: { command: 0x51000200, first: 0x00464800, last: 0x004655ff, title: "AC voltage and current" },
  gridFrequency: { command: 0x51000200, first: 0x00465700, last: 0x004657ff, title: "grid frequency" },
  dcPower: { command: 0x53800200, first: 0x00251e00, last: 0x00251eff, title: "DC power per string" },
  dcVoltageCurrent: { command: 0x53800200, first: 0x00451f00, last: 0x004521ff, title: "DC voltage and current" },
  temperature: { command: 0x52000200, first: 0x00237700, last: 0x002377ff, title: "inverter temperature" },
  deviceStatus: { command: 0x51800200, first: 0x00214800, last: 0x002148ff, title: "device status" },
  gridRelay: { command: 0x51800200, first: 0x00416400, last: 0x004164ff, title: "grid relay" },
  typeLabel: { command: 0x58000200, first: 0x00821e00, last: 0x008220ff, title: "type label, class, type" },
  firmware: { command: 0x58000200, first: 0x00823400, last: 0x008234ff, title: "firmware version" },
  nominalPower: { command: 0x51000200, first: 0x00411e00, last: 0x004120ff, title: "nominal power" },
  batterySoc: { command: 0x51000200, first: 0x00295a00, last: 0x00295aff, title: "battery charge status" },
  batteryInfo: {
    command: 0x51000200,
    first: 0x00491e00,
    last: 0x00495dff,
    title: "battery temperature, voltage, current",
  },
  batteryPackSoc: { command: 0x51000200, first: 0x00498f00, last: 0x00498fff, title: "state of charge per battery" },
  batteryPower: { command: 0x51000200, first: 0x00496900, last: 0x00496aff, title: "battery charge/discharge power" },
  batteryEnergy: { command: 0x54000200, first: 0x00496700, last: 0x004968ff, title: "battery charge/discharge totals" },
  gridPower: { command: 0x51000200, first: 0x00463600, last: 0x004637ff, title: "grid feed-in and draw power" },
  gridEnergy: { command: 0x54000200, first: 0x00462400, last: 0x004625ff, title: "grid feed-in and draw totals" },
} as const satisfies Record<string, QueryDef>;

export type QueryName = keyof typeof QUERIES;
export const QUERY_NAMES = Object.keys(QUERIES) as QueryName[];

/** The 16-bit value ids a query covers (first/last carry the class byte in their low 8 bits). */
export function lriRange(q: QueryDef): { from: number; to: number } {
  return { from: (q.first >>> 8) & 0xffff, to: (q.last >>> 8) & 0xffff };
}

/** The answer code of a command: the request's low byte + 1. */
export function answerCode(command: number): number {
  return ((command & 0xffffff00) | ((command + 1) & 0xff)) >>> 0;
}

/** Answers have an odd low byte (request + 1); requests an even one. */
export function isAnswerCode(command: number): boolean {
  return (command & 0xff) % 2 === 1;
}

/** Finds the query a request asks (by command family and range), for the simulator and for logs. */
export function findQuery(command: number, first: number, last: number): QueryName | undefined {
  return QUERY_NAMES.find((n) => {
    const q = QUERIES[n];
    return sameFamily(q.command, command) && q.first === first && q.last === last;
  });
}

/**
 * 0x53800200 and 0x63800200 both ask for DC values: top nibbles 5 and 6 are one family. Every other top nibble is its
 * own (0x0 identify, 0x7 archives and event log), so 0x70000200 is never taken for 0x00000200.
 */
export function sameFamily(a: number, b: number): boolean {
  return familyOf(a) === familyOf(b);
}

function familyOf(command: number): number {
  return (command >>> 28 === 0x6 ? (command & 0x0fffffff) | 0x50000000 : command) >>> 0;
}
