/**
 * What one inverter's link is like, learnt from its answers: the round-trip time and the wait before a resend
 * (RTO, as TCP's: RFC 6298 with Karn's rule and back-off), the share of datagrams lost (which decides how many
 * copies of a request one attempt sends), and how long the device has been silent.
 */

/** Shortest wait before a resend: below it a busy inverter's own answer time (tens of ms) would trigger resends. */
export const RTO_FLOOR_MS = 100;
const INITIAL_RTO_MS = 1000;
/** RFC 6298's clock granularity G: the least margin over the smoothed RTT (timers and event loop are this coarse). */
const GRANULARITY_MS = 20;
/** Most copies of a request one attempt sends (on a link that loses half the round trips, 3 get 87 % through). */
export const MAX_COPIES = 3;
/** One attempt should get through this often; more copies are sent while the estimated loss says it would not. */
const ATTEMPT_SUCCESS = 0.95;
/** Weights of the running averages (per attempt for loss, per request for the resent share); plain means until then. */
const LOSS_GAIN = 1 / 32;
const RESENT_GAIN = 1 / 16;
/** Share of round trips lost from which the link counts as poor (status hint): about 10 % each way. */
export const POOR_LINK_LOSS = 0.2;

export interface LinkFigures {
  /** Smoothed round-trip time in ms; null before the first unambiguous answer. */
  rttMs: number | null;
  /** Share of recent requests that had to be sent more than once (resends and copies), %. */
  resentPct: number;
  /** Time of the last answer, ms since epoch; null before the first. */
  lastAnswer: number | null;
}

export interface SilenceRule {
  /** Unanswered attempts in a row ... */
  attempts: number;
  /** ... spread over at least this long. */
  ms: number;
}

export class Link {
  private srtt?: number;
  private rttvar = 0;
  /** RTO with back-off applied; before the first sample 1 s (RFC 6298 2.1) or the ceiling when that is lower. */
  private rto: number;
  /** Estimated share of copies that get no answer (request or answer lost). */
  private loss = 0;
  private resent = 0;
  /** Attempts and requests averaged so far: the first ones count fully, so a new session learns its link at once. */
  private attemptsSeen = 0;
  private requestsSeen = 0;
  private lastAnswerAt = 0;
  /** Attempts without an answer since the last answer, and when the first of them was sent. */
  private unanswered = 0;
  private quietSince?: number;

  constructor(
    private readonly ceilingMs: number,
    private readonly silence: SilenceRule,
  ) {
    this.rto = Math.min(ceilingMs, INITIAL_RTO_MS);
  }

  /** How long to wait for an attempt's answer before resending. */
  get rtoMs(): number {
    return this.rto;
  }

  /** Copies of a request one attempt sends: 1 on a clean link, up to MAX_COPIES while the link loses many. */
  get copies(): number {
    if (this.loss <= 1 - ATTEMPT_SUCCESS) return 1;
    return Math.min(MAX_COPIES, Math.ceil(Math.log(1 - ATTEMPT_SUCCESS) / Math.log(this.loss)));
  }

  /** An attempt is sent (at `now`). */
  sent(now: number): void {
    this.quietSince ??= now;
  }

  /** A datagram of an answer arrived; rttMs only when it answers a request sent once (Karn: a resend's is ambiguous). */
  answered(now: number, rttMs?: number): void {
    this.lastAnswerAt = now;
    this.unanswered = 0;
    this.quietSince = undefined;
    if (rttMs === undefined) return;
    // RFC 6298 2.2 / 2.3 (alpha 1/8, beta 1/4, K = 4); a valid sample also ends the back-off.
    if (this.srtt === undefined) {
      this.srtt = rttMs;
      this.rttvar = rttMs / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rttMs);
      this.srtt = 0.875 * this.srtt + 0.125 * rttMs;
    }
    this.rto = this.clamp(this.srtt + Math.max(GRANULARITY_MS, 4 * this.rttvar));
  }

  /** An attempt's wait ran out: back off (RFC 6298 5.5) and count the silence. */
  timedOut(): void {
    this.rto = this.clamp(this.rto * 2);
    this.unanswered++;
  }

  /**
   * A request was answered after `attempts` attempts of `copies` datagrams each. Requests that were never
   * answered do not count: a device that is off says nothing about the link's loss.
   */
  completed(attempts: number, copies: number): void {
    // The loss per copy is kept; per attempt it is loss^copies, averaged over attempts and converted back.
    let attemptLoss = this.loss ** copies;
    for (let i = 0; i < attempts; i++) {
      const gain = Math.max(LOSS_GAIN, 1 / ++this.attemptsSeen);
      attemptLoss += gain * ((i < attempts - 1 ? 1 : 0) - attemptLoss);
    }
    this.loss = attemptLoss ** (1 / copies);
    const gain = Math.max(RESENT_GAIN, 1 / ++this.requestsSeen);
    this.resent += gain * ((attempts * copies > 1 ? 100 : 0) - this.resent);
  }

  /** No answer to the last `silence.attempts` attempts or more, over at least `silence.ms`: asleep or off. */
  silent(now: number): boolean {
    return (
      this.unanswered >= this.silence.attempts &&
      this.quietSince !== undefined &&
      now - this.quietSince >= this.silence.ms
    );
  }

  get poor(): boolean {
    return this.loss >= POOR_LINK_LOSS;
  }

  figures(): LinkFigures {
    return {
      rttMs: this.srtt === undefined ? null : Math.round(this.srtt),
      resentPct: Math.round(this.resent),
      lastAnswer: this.lastAnswerAt > 0 ? this.lastAnswerAt : null,
    };
  }

  private clamp(ms: number): number {
    return Math.min(this.ceilingMs, Math.max(RTO_FLOOR_MS, ms));
  }
}
