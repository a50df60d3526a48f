/** Log lines that may repeat fast (a broken socket fails every datagram), at most once per interval per kind. */

/** Per source (one shared transport for many config nodes) and kind: when a line was last let through. */
export class LogLimit {
  private readonly last = new WeakMap<object, Map<string, number>>();

  constructor(private readonly intervalMs = 60_000) {}

  /** True when a line of this kind from this source may be logged now (and then counts as logged). */
  allow(source: object, kind: string, now = Date.now()): boolean {
    let kinds = this.last.get(source);
    if (!kinds) this.last.set(source, (kinds = new Map()));
    const at = kinds.get(kind);
    if (at !== undefined && now - at < this.intervalMs) return false;
    kinds.set(kind, now);
    return true;
  }
}
