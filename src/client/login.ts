/**
 * The login of one session: when it is refused, retried or repeated, and what a read sees then. The session calls
 * run() when liveness.ts says a login is due, ask() around every request of a job, paused() before a read, and
 * logoff() when it closes.
 *
 *   device answers                       | outcome
 *   -------------------------------------+-------------------------------------------------------------------------
 *   login 0x0000                         | logged in (Liveness.loginAccepted)
 *   login 0x0100 wrong password          | EAUTH; the back-off starts: reads end at once (paused) until it is over
 *   login 0x0102 busy / starting         | login again after loginBusyRetryMs while the read's time lasts, then
 *                                        | EREFUSED (no back-off: the next read logs in again)
 *   login, another code                  | EPROTOCOL
 *   no answer to the login               | EENCRYPTED: the host sent a key exchange (0x6075) since it last answered
 *                                        | EOTHERDEVICE: never answered, and another serial answers at the host
 *                                        | ETIMEDOUT otherwise ("to login" from one that never answered); the
 *                                        | session's locator may then try another address
 *   request 0xFFFF not logged in,        | log in again and ask again, once per job; 0xFFFF again in that job is
 *   or a job's first 0x0017              | EAUTH noSession with the back-off (0x0017 again: the answer, no values)
 *
 * Everything it needs from the session is in LoginSession: no socket, timer or state of its own beyond the job.
 */
import { Command, ErrorCode, buildLogin, buildLogoff, hexCode, type Address } from "../protocol";
import type { Backoff } from "./backoff";
import { SmaError } from "./errors";
import { identify, pause, type RequestPort } from "./exchange";
import type { Liveness } from "./liveness";
import type { Locator } from "./locator";
import type { ResolvedInverterOptions } from "./session-options";
import type { Transport } from "./transport";

/** One job's re-login: a job logs in again once after "not logged in" (see Login.ask). */
export interface Job {
  relogged: boolean;
}

/** What the login uses of its session. */
export interface LoginSession {
  readonly options: Pick<
    ResolvedInverterOptions,
    "host" | "port" | "serial" | "follow" | "group" | "password" | "timeoutMs" | "retries" | "loginBusyRetryMs"
  >;
  /** The wrong password's back-off (also "not logged in" after a re-login). */
  readonly auth: Backoff;
  readonly live: Liveness;
  readonly where: Pick<Locator, "address" | "where">;
  readonly transport: RequestPort & Pick<Transport, "identity" | "keyExchangeSince">;
  readonly aborts: Set<(e: SmaError) => void>;
  /** When the session began (key exchanges since then count before the device first answers). */
  readonly createdAt: number;
  readonly stats: { logins: number; requests: number };
  isClosed(): boolean;
  /** One request to the device (the session's exchange: link, trace, liveness). */
  exchange(command: number, build: (packetId: number) => Buffer): Promise<{ errorCode: number }>;
  /** The device the requests are addressed to. */
  destination(): Address;
  /** The next request's deadline counts from `at` (a login tried again after 0x0102 ends by the first one's). */
  startsAt(at: number): void;
  /** The trace of a datagram sent without an exchange (the logoff). */
  record(direction: "out", raw: Buffer, address: string, port: number): void;
}

export class Login {
  constructor(private readonly s: LoginSession) {}

  /** The wrong password's back-off still runs: the read ends at once with this EAUTH, nothing is sent. */
  paused(): SmaError | undefined {
    const refused = this.s.auth.blocking();
    if (!refused) return undefined;
    const secs = Math.ceil(this.s.auth.remainingMs() / 1000);
    return new SmaError("EAUTH", `${refused.message}; login paused, next attempt in ${secs} s`, {
      deviceCode: refused.deviceCode,
      paused: true,
    });
  }

  /**
   * Asks, and after 0xFFFF "not logged in" (or a first 0x0017, a session the device forgot) logs in again and asks
   * again, once per job: "not logged in" after that (a device that drops each session, or forged answers) is EAUTH
   * with the wrong password's back-off, so nothing can make the client send the password on every request.
   */
  async ask<A extends { errorCode: number }>(job: Job, ask: () => Promise<A>): Promise<A> {
    const answer = await ask();
    const forgotten =
      answer.errorCode === ErrorCode.NOT_LOGGED_IN || (answer.errorCode === ErrorCode.REFUSED && !job.relogged);
    if (!forgotten) return answer;
    if (job.relogged) throw this.noSession(answer.errorCode);
    job.relogged = true;
    this.s.live.dropSession();
    await this.run();
    const again = await ask();
    if (again.errorCode === ErrorCode.NOT_LOGGED_IN) throw this.noSession(again.errorCode);
    return again;
  }

  private noSession(code: number): SmaError {
    return this.s.auth.fail(
      new SmaError(
        "EAUTH",
        `logged in, but the device answers 'not logged in' (${hexCode(code)}): it keeps no session`,
        { deviceCode: code, noSession: true },
      ),
    );
  }

  /**
   * Logs in. 0x0102 (refused although the password is right: busy, still starting) is tried again after
   * loginBusyRetryMs while the read's time (timeout × (retries + 1)) lasts, then EREFUSED, without the wrong
   * password's back-off. No answer: see once.
   */
  async run(): Promise<void> {
    const { group, timeoutMs, retries, loginBusyRetryMs } = this.s.options;
    const started = Date.now();
    const deadline = started + timeoutMs * (retries + 1);
    for (let refusals = 1; ; refusals++) {
      const { errorCode } = await this.once().catch((e: unknown) => {
        // After refusals the device is there: a login left with little of the read's time (a late timer on a busy
        // machine) that got no answer is still a refusal, not "no answer".
        if (refusals > 1 && e instanceof SmaError && e.code === "ETIMEDOUT")
          throw this.refused(refusals - 1, started, e);
        throw e;
      });
      if (errorCode === ErrorCode.WRONG_PASSWORD) {
        throw this.s.auth.fail(
          new SmaError(
            "EAUTH",
            `login as ${group} refused: wrong password (${hexCode(errorCode)}); devices with ` +
              'firmware 4.x ("PUK 2.0") take the RID / WPA2 key printed on the type plate as the initial password',
            errorCode,
          ),
        );
      }
      if (errorCode === ErrorCode.LOGIN_BUSY && Date.now() + loginBusyRetryMs < deadline) {
        await pause(loginBusyRetryMs, this.s.aborts);
        // The next login ends by this deadline, not a budget of its own (a device refusing, then silent, held the read 1.9x its time).
        this.s.startsAt(started);
        continue;
      }
      if (errorCode === ErrorCode.LOGIN_BUSY) throw this.refused(refusals, started);
      if (errorCode !== 0)
        throw new SmaError("EPROTOCOL", `login answered with error ${hexCode(errorCode)}`, errorCode);
      this.s.live.loginAccepted();
      return;
    }
  }

  /** EREFUSED after `refusals` logins answered 0x0102 (and, with `silent`, no answer to the one after them). */
  private refused(refusals: number, started: number, silent?: SmaError): SmaError {
    const code = ErrorCode.LOGIN_BUSY;
    return new SmaError(
      "EREFUSED",
      `login refused (busy): ${this.s.options.host || this.s.where.address} answered ${hexCode(code)} to ` +
        `${refusals} login(s) in ${Date.now() - started} ms${silent ? ", then not the last one" : ""}, although the ` +
        "password may be right (device busy or starting); the next read logs in again",
      silent ? { deviceCode: code, cause: silent } : code,
    );
  }

  /** One login exchange; no answer: see noAnswer. */
  private async once(): Promise<{ errorCode: number }> {
    const { s } = this;
    s.stats.logins++;
    const { group, password } = s.options;
    try {
      return await s.exchange(Command.LOGIN, (packetId) =>
        buildLogin({
          source: s.transport.identity,
          destination: s.destination(),
          packetId,
          group,
          password,
          time: Math.floor(Date.now() / 1000),
        }),
      );
    } catch (e) {
      if (!(e instanceof SmaError && e.code === "ETIMEDOUT")) throw e;
      throw await this.noAnswer(e);
    }
  }

  /**
   * What no answer to a login (`e`, ETIMEDOUT) means: EENCRYPTED when the host sent a Speedwire encryption key
   * exchange meanwhile; from a device that answered before, `e` itself; EOTHERDEVICE when another serial number
   * answers at the host; else ETIMEDOUT "to login".
   */
  private async noAnswer(e: SmaError): Promise<SmaError> {
    const { s } = this;
    const host = s.options.host || s.where.address;
    const address = s.where.address;
    // A key exchange from the host since it last answered plain Speedwire (or since this session began), to this
    // socket or on the multicast group (meter listener): it speaks encrypted Speedwire only.
    // (From the device's address and port: another device behind the address says nothing about this one.)
    if (address && s.transport.keyExchangeSince(address, s.live.lastAnswerAt || s.createdAt, s.options.port)) {
      return new SmaError(
        "EENCRYPTED",
        `Speedwire encryption is on at ${host}: it answered the login with a key exchange ` +
          "(protocol 0x6075), which nothing public decrypts; read it with Modbus or through its web interface",
        { cause: e },
      );
    }
    if (s.live.lastAnswerAt !== 0) return e;
    const other = await this.otherDevice();
    if (other) {
      return new SmaError(
        "EOTHERDEVICE",
        `device at ${host} is SN ${other.serial}, not ${s.options.serial}: check the serial number (or the host)`,
        { cause: e, found: other },
      );
    }
    return new SmaError(
      "ETIMEDOUT",
      `no answer from ${s.where.where()} to login ` +
        "(asleep, wrong address, or a device that does not speak plain Speedwire such as ennexOS / Speedwire encryption)",
      { cause: e },
    );
  }

  /** With a host and a serial number (not following it): the device at the host when another serial answers there. */
  private async otherDevice(): Promise<Address | undefined> {
    const { serial, host, follow, port, timeoutMs } = this.s.options;
    const address = this.s.where.address;
    if (serial === undefined || host === "" || follow || !address || this.s.isClosed()) return undefined;
    this.s.stats.requests++;
    const device = await identify(this.s.transport, address, port, timeoutMs, this.s.aborts);
    return device && device.serial !== serial ? device : undefined;
  }

  /** Logs off at address (no answer is expected), in at most timeoutMs. */
  async logoff(address: string, timeoutMs: number): Promise<void> {
    const { s } = this;
    s.live.dropSession();
    const logoff = buildLogoff({
      source: s.transport.identity,
      destination: s.destination(),
      packetId: s.transport.nextPacketId(),
    });
    s.record("out", logoff, address, s.options.port);
    await Promise.race([
      s.transport.send(logoff, address, s.options.port).catch(() => undefined),
      new Promise((r) => setTimeout(r, timeoutMs).unref()),
    ]);
  }
}
