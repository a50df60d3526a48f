/** Reading editor fields, which arrive as strings (or numbers from older flows). */

/** A whole number from an editor field, or the fallback when it is empty, not a number or out of range. */
export function intOr(v: unknown, fallback: number | undefined, min: number, max: number): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isInteger(n) && n >= min && n <= max ? n : fallback;
}
