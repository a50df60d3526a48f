/**
 * What the session knows of the device being there, in one place: four phases and what moves between them.
 *
 *   phase      | means                                               | requests   | entered by
 *   -----------+-----------------------------------------------------+------------+----------------------------------
 *   loggedOut  | no session (start, moved address, session dropped)  | resends    | start, dropSession(), answered()
 *              |                                                     |            | from outage / silent
 *   loggedIn   | the last login was accepted                         | resends    | loggedIn()
 *   outage     | the last read ended without an answer: later        | resends    | readTimedOut(), link not silent
 *              | failures are quiet, queued reads end at once        |            |
 *   silent     | an outage the link calls silence (asleep at night,  | one probe  | readTimedOut(), link silent
 *              | switched off): one datagram per read                |            |
 *
 *   any ──readTimedOut──▶ outage | silent ──answered──▶ loggedOut ──loggedIn──▶ loggedIn ──dropSession──▶ loggedOut
 *
 * Beside the phase: when the device last answered (0: never), and how many reads ended without an answer (a read
 * queued before the last of them ends at once, quietly).
 */
export type LivenessPhase = "loggedOut" | "loggedIn" | "outage" | "silent";

export class Liveness {
  private _phase: LivenessPhase = "loggedOut";
  /** ms since epoch of the last datagram from the device; 0 until it first answers. */
  lastAnswerAt = 0;
  /** Reads that ended with no answer. */
  timedOutReads = 0;

  get phase(): LivenessPhase {
    return this._phase;
  }

  get loggedIn(): boolean {
    return this._phase === "loggedIn";
  }

  /** The last read ended without an answer (silent included). */
  get outage(): boolean {
    return this._phase === "outage" || this._phase === "silent";
  }

  /** Requests go out as one probe each, without resends. */
  get silent(): boolean {
    return this._phase === "silent";
  }

  /** A login is due: none held, or the last answer is older than idleMs (the device may have dropped the session). */
  needsLogin(now: number, idleMs: number): boolean {
    return !this.loggedIn || now - this.lastAnswerAt > idleMs;
  }

  /** A datagram from the device: an outage is over (the session, if any, stays). */
  answered(now: number): void {
    this.lastAnswerAt = now;
    if (this.outage) this._phase = "loggedOut";
  }

  loginAccepted(): void {
    this._phase = "loggedIn";
  }

  /** The session is gone (moved address, "not logged in", logoff); an outage stays an outage. */
  dropSession(): void {
    if (this._phase === "loggedIn") this._phase = "loggedOut";
  }

  /** A read ended without an answer; silent tells whether the link now counts the device as silent. */
  readTimedOut(silent: boolean): void {
    this._phase = silent ? "silent" : "outage";
    this.timedOutReads++;
  }
}
