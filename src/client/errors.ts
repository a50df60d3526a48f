/** Typed errors of the client: every failed read ends with one of these, with a code users can branch on. */
export type SmaErrorCode =
  | "ETIMEDOUT" // no answer within timeout x (retries + 1)
  | "EAUTH" // wrong password (0x0100), or no session kept; reads fail fast during the back-off
  | "EREFUSED" // login refused although the password may be right (0x0102: busy, starting): no back-off, next read tries again
  | "EENCRYPTED" // the device speaks only encrypted Speedwire (it sent a 0x6075 key exchange): not readable this way
  | "EOTHERDEVICE" // another device answers at the host: its serial (foundSerial) is not the configured one
  | "ENOTSUPPORTED" // the device has none of the values asked for (deviceCode 0x0014: it does not know the object)
  | "EUNREACHABLE" // host name does not resolve, or the network refuses to send
  | "ENOTFOUND" // no device with the configured serial answered the search, or the host name has no address (lookup set)
  | "EAMBIGUOUS" // two addresses answered the search with the configured serial: neither is taken
  | "EPROTOCOL" // the device answered with an error code we cannot act on, or with nonsense
  | "ECLOSED" // the client was closed (redeploy, stop) while the read waited
  | "EBUSY" // too many different reads already wait for this inverter
  | "EINVAL" // bad configuration (password too long, port out of range ...)
  | "ESOCKET" // a UDP socket could not be bound, joined to a group or used: systemCode says why (EADDRINUSE ...)
  | "EHANDLER"; // an event handler threw; the socket keeps serving the others

/** What an SmaError carries beside its code and message, given when it is made (each field is for the codes named). */
export interface SmaErrorDetails {
  /** Speedwire error code from the device, where there was one (messages print it in hex: 0x0102). */
  deviceCode?: number;
  cause?: unknown;
  /** A failure that repeats a known outage: log it once, not on every poll. */
  quiet?: boolean;
  /** EAUTH while the login back-off lasts: no login was tried for this read. */
  paused?: boolean;
  /** EAUTH: the login was accepted but the device answers "not logged in" to the next request. */
  noSession?: boolean;
  /** EOTHERDEVICE: the device that answers at the host. */
  found?: { serial: number; susyId: number };
  /** ESOCKET: the operating system's code (EADDRINUSE ...). */
  systemCode?: string;
  /** ENOTFOUND of a host name: the name has no address, or DNS did not answer in time. */
  lookup?: "notFound" | "timeout";
  /** EBUSY: which kind of read filled its queue. */
  lane?: "live" | "archive";
  /** EINVAL: the setting that is wrong. */
  field?: string;
  /** EINVAL: the setting is not set at all (no password). */
  missing?: boolean;
}

export class SmaError extends Error {
  readonly code: SmaErrorCode;
  /** Speedwire error code from the device, where there was one (messages print it in hex: 0x0102). */
  readonly deviceCode?: number;
  /** EOTHERDEVICE: the serial number (and SUSyID) of the device that answers at the host. */
  readonly foundSerial?: number;
  readonly foundSusyId?: number;
  /** The operating system's code behind an ESOCKET (EADDRINUSE, EACCES, ENODEV ...), where there was one. */
  readonly systemCode?: string;
  /**
   * True when this error repeats a known outage (inverter asleep): log it once, not on every poll. The one flag the
   * session may set on an error made below it: only the session knows whether the same failure came before.
   */
  quiet = false;
  /** EAUTH while the login back-off lasts: no login was tried for this read. */
  readonly paused: boolean = false;
  /** EAUTH: the login was accepted but the device answers "not logged in" to the next request (keeps no session). */
  readonly noSession: boolean = false;
  /** ENOTFOUND of a host name: "notFound" (the name has no address) or "timeout" (no DNS answer in time). */
  readonly lookup?: "notFound" | "timeout";
  /** EBUSY: which kind of read filled its queue ("live" reads or "archive" reads). */
  readonly lane?: "live" | "archive";
  /** EINVAL: the setting that is wrong (host, serial, port, ...). */
  readonly field?: string;
  /** EINVAL: the setting (field) is not set at all, not just wrong (no password): the status says so. */
  readonly missing: boolean = false;

  /**
   * details: what the error carries (SmaErrorDetails), or, as before, the device's error code (then `options` may
   * hold the cause).
   */
  constructor(code: SmaErrorCode, message: string, details?: number | SmaErrorDetails, options?: { cause?: unknown }) {
    const d: SmaErrorDetails =
      typeof details === "number" ? { deviceCode: details, ...options } : { ...options, ...details };
    super(message, d.cause === undefined ? undefined : { cause: d.cause });
    this.name = "SmaError";
    this.code = code;
    if (d.deviceCode !== undefined) this.deviceCode = d.deviceCode;
    if (d.found) {
      this.foundSerial = d.found.serial;
      this.foundSusyId = d.found.susyId;
    }
    if (d.systemCode !== undefined) this.systemCode = d.systemCode;
    if (d.lookup !== undefined) this.lookup = d.lookup;
    if (d.lane !== undefined) this.lane = d.lane;
    if (d.field !== undefined) this.field = d.field;
    this.quiet = d.quiet ?? false;
    this.paused = d.paused ?? false;
    this.noSession = d.noSession ?? false;
    this.missing = d.missing ?? false;
  }

  /** Any thrown value as an SmaError: itself when it is one, else EPROTOCOL with its text (the one conversion). */
  static from(e: unknown): SmaError {
    return e instanceof SmaError ? e : new SmaError("EPROTOCOL", String(e));
  }

  /** The error of a read the session's close() ended. */
  static closed(): SmaError {
    return new SmaError("ECLOSED", "inverter connection closed");
  }

  /** EINVAL naming the setting that is wrong (missing: not set at all). */
  static invalid(field: string, message: string, missing = false): SmaError {
    return new SmaError("EINVAL", message, { field, missing });
  }
}
