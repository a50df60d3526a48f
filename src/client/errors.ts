/** Typed errors of the client: every failed read ends with one of these, with a code users can branch on. */
export type SmaErrorCode =
  | "ETIMEDOUT" // no answer within timeout x (retries + 1)
  | "EAUTH" // wrong password (or login refused); reads fail fast during the back-off
  | "ENOTSUPPORTED" // the device has none of the values asked for
  | "EUNREACHABLE" // host name does not resolve, or the network refuses to send
  | "ENOTFOUND" // no device with the configured serial answered the search, or the host name has no address (lookup set)
  | "EAMBIGUOUS" // two addresses answered the search with the configured serial: neither is taken
  | "EPROTOCOL" // the device answered with an error code we cannot act on, or with nonsense
  | "ECLOSED" // the client was closed (redeploy, stop) while the read waited
  | "EBUSY" // too many different reads already wait for this inverter
  | "EINVAL" // bad configuration (password too long, port out of range ...)
  | "ESOCKET" // a UDP socket could not be bound, joined to a group or used: systemCode says why (EADDRINUSE ...)
  | "EHANDLER"; // an event handler threw; the socket keeps serving the others

export class SmaError extends Error {
  readonly code: SmaErrorCode;
  /** Speedwire error code from the device, where there was one. */
  readonly deviceCode?: number;
  /** The operating system's code behind an ESOCKET (EADDRINUSE, EACCES, ENODEV ...), where there was one. */
  systemCode?: string;
  /** True when this error repeats a known outage (inverter asleep): log it once, not on every poll. */
  quiet = false;
  /** EAUTH while the login back-off lasts: no login was tried for this read. */
  paused = false;
  /** EAUTH: the login was accepted but the device answers "not logged in" to the next request (keeps no session). */
  noSession = false;
  /** ENOTFOUND of a host name: "notFound" (the name has no address) or "timeout" (no DNS answer in time). */
  lookup?: "notFound" | "timeout";
  /** EBUSY: which kind of read filled its queue ("live" reads or "archive" reads). */
  lane?: "live" | "archive";
  /** EINVAL: the setting that is wrong (host, serial, port, ...). */
  field?: string;
  /** EINVAL: the setting (field) is not set at all, not just wrong (no password): the status says so. */
  missing = false;
  constructor(code: SmaErrorCode, message: string, deviceCode?: number, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SmaError";
    this.code = code;
    if (deviceCode !== undefined) this.deviceCode = deviceCode;
  }
}
