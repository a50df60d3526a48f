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

export class SmaError extends Error {
  readonly code: SmaErrorCode;
  /** Speedwire error code from the device, where there was one (messages print it in hex: 0x0102). */
  readonly deviceCode?: number;
  /** EOTHERDEVICE: the serial number (and SUSyID) of the device that answers at the host. */
  foundSerial?: number;
  foundSusyId?: number;
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
