/**
 * The datagrams of one answer. An answer may span several datagrams whose fragment counter (offset 38) counts
 * down to 0; the first one carries the packet id with bit 15 set, later ones may not. Complete only when the
 * datagram marked first and every counter from it down to 0 are there: a lost first datagram is seen as a
 * lower counter without the mark, a lost middle one as a gap. Never partial data.
 */
import type { InverterAnswer } from "../protocol";

/**
 * Most datagrams one answer may span: 64 × the 2 KB a reader expects per datagram (§7) is 128 KB, far more than
 * the longest answers known (a status list in 5 datagrams; a day of 5-minute archive records is 3.5 KB), and it
 * bounds what a broken or hostile sender can make one read collect.
 */
export const MAX_FRAGMENTS = 64;
/** Most bytes one answer may hold (64 datagrams of 2 KB): a hostile sender's 64 KB datagrams would otherwise pin 4 MB per read. */
export const MAX_ANSWER_BYTES = MAX_FRAGMENTS * 2048;

export type FragmentVerdict = "new" | "repeat" | "invalid";

export class FragmentSet {
  /** Keyed by counter: a datagram that arrives again after a resend replaces itself. */
  private readonly parts = new Map<number, InverterAnswer>();
  /** Counter of the highest datagram marked first (-1 before one arrives). */
  private first = -1;
  private bytes = 0;
  /** Why the last datagram was "invalid". */
  problem = "";

  /** Takes one datagram of the answer: "new" when it brought a counter not seen before. */
  add(answer: InverterAnswer): FragmentVerdict {
    const h = answer.header;
    if (h.fragment >= MAX_FRAGMENTS) {
      this.problem = `fragment counter ${h.fragment}: more than ${MAX_FRAGMENTS} datagrams`;
      return "invalid";
    }
    const bytes = this.bytes - (this.parts.get(h.fragment)?.payload.length ?? 0) + answer.payload.length;
    if (bytes > MAX_ANSWER_BYTES) {
      this.problem = `more than ${MAX_ANSWER_BYTES} bytes`;
      return "invalid";
    }
    this.bytes = bytes;
    // Devices that mark every datagram: the highest marked counter is the first one seen.
    if (h.packetIdFlag && h.fragment > this.first) this.first = h.fragment;
    const seen = this.parts.has(h.fragment);
    this.parts.set(h.fragment, answer);
    return seen ? "repeat" : "new";
  }

  get complete(): boolean {
    if (this.first < 0) return false;
    for (let c = this.first; c >= 0; c--) if (!this.parts.has(c)) return false;
    return true;
  }

  get empty(): boolean {
    return this.parts.size === 0;
  }

  /** Datagrams seen / expected, for error messages ("2 of 4"); expected is unknown before the first. */
  get progress(): string {
    const have = [...this.parts.keys()].filter((c) => this.first < 0 || c <= this.first).length;
    return this.first < 0 ? `${have} datagram(s), not the first` : `${have} of ${this.first + 1} datagrams`;
  }

  /** The datagrams in the device's order: from the first down to counter 0. */
  answers(): InverterAnswer[] {
    const out: InverterAnswer[] = [];
    for (let c = this.first; c >= 0; c--) {
      const a = this.parts.get(c);
      if (a) out.push(a);
    }
    return out;
  }
}
