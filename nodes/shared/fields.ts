/** Reading editor fields, which arrive as strings (or numbers from older flows). */

function numberOf(v: unknown): number {
  return typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
}

/** A whole number from an editor field, or the fallback when it is empty, not a number or out of range. */
export function intOr(v: unknown, fallback: number | undefined, min: number, max: number): number | undefined {
  const n = numberOf(v);
  return Number.isInteger(n) && n >= min && n <= max ? n : fallback;
}

/** A number (decimals allowed, e.g. seconds) from an editor field, or the fallback. */
export function numberOr(v: unknown, fallback: number, min: number, max: number): number {
  const n = numberOf(v);
  return Number.isFinite(n) && n >= min && n <= max ? n : fallback;
}
