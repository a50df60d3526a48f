/**
 * Where the session's requests go: the configured host (an IPv4 address, or a host name and its addresses), or the
 * address that answers a search for the configured serial (empty host, or `follow` after the host stopped answering).
 *
 *   host is an address  ── the address, always (following: back to it once a background look finds it again)
 *   host is a name      ── its addresses (HostNames), the one in use kept while the name still has it; no answer:
 *                          the next address, or a fresh lookup's new one (DHCP moved it)
 *   host empty / follow ── search by serial (back-off per failed search): the configured host when it answers,
 *                          else the one address that claims the serial; two claimants: EAMBIGUOUS, neither is used
 *
 * Every move to another address tells the session (`moved`), which then logs in anew and tells the nodes.
 */
import * as net from "node:net";
import type { Address } from "../protocol";
import { Backoff } from "./backoff";
import { discover, type DiscoverOptions } from "./discovery";
import { SmaError } from "./errors";
import type { HostNames } from "./names";

/** Addresses of a host name tried in one read (each with the read's full deadline) before it fails. */
export const MAX_ADDRESSES_PER_READ = 4;

export interface LocatorOptions {
  host: string;
  port: number;
  serial?: number;
  follow: boolean;
  timeoutMs: number;
  retries: number;
  discovery?: Pick<DiscoverOptions, "targets" | "devicePort" | "timeoutMs">;
  discoveryBackoffMs: number;
  discoveryBackoffMaxMs: number;
}

export interface LocatorHooks {
  /** The client's own identity (the search's source). */
  identity: Address;
  isClosed(): boolean;
  /** A search for the serial begins (state "searching"). */
  searching(): void;
  /** Requests go to another address from now on: "found" by the serial's search, or the host name's next "address". */
  moved(event: "found" | "address", address: string, previous: string | undefined): void;
}

export class Locator {
  /** The host is a name (not an IPv4 address): its addresses come from `names`. */
  readonly byName: boolean;
  private addressInUse?: string;
  /** The configured host's address; following the serial returns to it when it answers again. */
  private hostAddress?: string;
  private foundAt?: string;
  private readonly search: Backoff;
  /** Following, moved away from the host: when the next look for the host at its address may start. */
  private nextCheckBack = 0;
  private checkingBack = false;
  private hostIsBack = false;
  /** The host name's addresses (last lookup), the first one read in this session, the last failed lookup. */
  private nameAddresses: string[] = [];
  private firstNameAddress?: string;
  private lookupFailure?: SmaError;

  constructor(
    private readonly o: LocatorOptions,
    private readonly names: HostNames,
    private readonly hooks: LocatorHooks,
  ) {
    this.byName = typeof o.host === "string" && o.host !== "" && !net.isIPv4(o.host);
    this.search = new Backoff(o.discoveryBackoffMs, o.discoveryBackoffMaxMs);
  }

  /** The IPv4 address requests go to (undefined before the first read resolves it). */
  get address(): string | undefined {
    return this.addressInUse;
  }

  /** The address the device was found at by its serial (empty host, or the host stopped answering). */
  get foundAddress(): string | undefined {
    return this.foundAt;
  }

  /** A host name now used at another address than the one it was first read at (status and log show it). */
  get nameMoved(): boolean {
    return (
      this.byName &&
      this.addressInUse !== undefined &&
      this.addressInUse !== this.firstNameAddress &&
      this.foundAt === undefined
    );
  }

  /** "host:port", with the address in use for a host name ("sunnyboy.fritz.box (192.168.178.23):9522"). */
  where(address = this.addressInUse): string {
    const host = this.o.host || address;
    return `${this.byName && address ? `${host} (${address})` : host}:${this.o.port}`;
  }

  /** Before each read: the address to use (looked up, searched for, or the host's again after following). */
  async resolve(): Promise<void> {
    if (this.byName) return this.resolveName();
    if (this.addressInUse) return this.checkBack();
    const host = this.o.host;
    if (host === "") {
      if (this.o.serial === undefined) throw new SmaError("EINVAL", "neither a host nor a serial number is set");
      const address = await this.locate();
      if (!address)
        throw (
          this.search.error ??
          new SmaError("ENOTFOUND", `no SMA device with serial number ${this.o.serial} answered the search`)
        );
      return;
    }
    this.addressInUse = this.hostAddress = host;
  }

  /**
   * The host name's addresses, within the read's deadline (cached for their TTL, looked up again after a silence:
   * see HostNames). The address in use stays while the name still has it; otherwise the name's first address.
   * No address: ENOTFOUND (`lookup` says whether the name is unknown or DNS did not answer).
   */
  private async resolveName(): Promise<void> {
    let addresses: string[];
    try {
      addresses = (await this.names.resolve(this.o.host, this.readMs())).addresses;
    } catch (e) {
      if (!(e instanceof SmaError)) throw e;
      // The same failed lookup again (cached briefly): quiet, as a known outage.
      const err = new SmaError(e.code, e.message, { lookup: e.lookup, quiet: this.lookupFailure === e });
      this.lookupFailure = e;
      throw err;
    }
    this.lookupFailure = undefined;
    if (this.hooks.isClosed()) throw SmaError.closed();
    this.nameAddresses = addresses;
    if (!this.hostAddress || !addresses.includes(this.hostAddress)) this.hostAddress = addresses[0];
    // Following the serial away from the host: checkBack looks at the host's (new) address.
    if (this.foundAt !== undefined && this.addressInUse) return this.checkBack();
    this.useNameAddress(this.hostAddress);
  }

  /**
   * After a timeout: true when the read should be tried again at another address: a host name's next address not
   * yet tried in this read (or a fresh lookup's new one), or the serial found elsewhere (empty host, or follow on:
   * otherwise the password goes to the configured host and nowhere else).
   */
  async another(tried: Set<string>): Promise<"name" | "serial" | undefined> {
    if (await this.nextNameAddress(tried)) return "name";
    return (await this.relocate()) ? "serial" : undefined;
  }

  private async nextNameAddress(tried: Set<string>): Promise<boolean> {
    if (!this.byName || this.foundAt !== undefined || !this.addressInUse || this.hooks.isClosed()) return false;
    tried.add(this.addressInUse);
    if (tried.size >= MAX_ADDRESSES_PER_READ) return false;
    let next = this.nameAddresses.find((a) => !tried.has(a));
    if (!next && this.names.stale(this.o.host)) {
      try {
        this.nameAddresses = (await this.names.resolve(this.o.host, this.readMs())).addresses;
      } catch {
        return false;
      }
      next = this.nameAddresses.find((a) => !tried.has(a));
    }
    if (!next || this.hooks.isClosed()) return false;
    this.hostAddress = next;
    this.useNameAddress(next);
    return true;
  }

  private async relocate(): Promise<boolean> {
    if (this.o.serial === undefined || (this.o.host !== "" && !this.o.follow)) return false;
    const before = this.addressInUse;
    const address = await this.locate();
    return address !== undefined && address !== before;
  }

  private readMs(): number {
    return this.o.timeoutMs * (this.o.retries + 1);
  }

  /** Requests go to this address of the host name from now on. */
  private useNameAddress(address: string): void {
    if (address === this.addressInUse) return;
    const previous = this.addressInUse;
    this.addressInUse = address;
    this.foundAt = undefined;
    this.hostIsBack = false;
    this.firstNameAddress ??= address;
    if (previous) this.hooks.moved("address", address, previous);
  }

  private moveTo(address: string): void {
    if (address === this.addressInUse) return;
    const previous = this.addressInUse;
    this.addressInUse = address;
    this.foundAt = address === this.hostAddress ? undefined : address;
    this.hostIsBack = false;
    this.hooks.moved("found", address, previous);
  }

  /** The addresses that answered the search with the configured serial (each address once). */
  private async claimants(): Promise<string[]> {
    const serial = this.o.serial as number;
    const devices = await discover({
      ...this.o.discovery,
      identity: this.hooks.identity,
      byAddress: true,
      // The configured host answering with the serial settles it; otherwise wait for every answer (two claimants?).
      stopWhen: this.hostAddress ? (d) => d.serial === serial && d.address === this.hostAddress : undefined,
    }).catch(() => []);
    return [...new Set(devices.filter((d) => d.serial === serial).map((d) => d.address))];
  }

  /**
   * Searches for the configured serial (at most once per back-off window; a failed search doubles the
   * window) and switches to the address it answers from: the configured host whenever it is among them,
   * otherwise the one address that claims the serial. Two claimants: EAMBIGUOUS, neither gets a login.
   */
  private async locate(): Promise<string | undefined> {
    const serial = this.o.serial as number;
    const refused = this.search.blocking();
    if (refused) {
      // The search's failure again within its back-off: a known outage.
      refused.quiet = true;
      if (refused.code === "EAMBIGUOUS") throw refused;
      return undefined;
    }
    this.hooks.searching();
    const claimants = await this.claimants();
    if (this.hooks.isClosed()) throw SmaError.closed();
    const address =
      this.hostAddress && claimants.includes(this.hostAddress)
        ? this.hostAddress
        : claimants.length === 1
          ? claimants[0]
          : undefined;
    if (claimants.length > 1 && !address) {
      throw this.search.fail(
        new SmaError(
          "EAMBIGUOUS",
          `serial number ${serial} answered the search from ${claimants.length} ` +
            `addresses (${claimants.join(", ")}): none is used; another device may be claiming it`,
        ),
      );
    }
    if (!address) {
      this.search.fail(new SmaError("ENOTFOUND", `no SMA device with serial number ${serial} answered the search`));
      return undefined;
    }
    this.search.reset();
    this.moveTo(address);
    return address;
  }

  /**
   * Following the serial away from the configured host: look in the background (once per search back-off
   * window) whether the host answers with the serial again, and go back to it on the next read when it does.
   */
  private checkBack(): void {
    const home = this.hostAddress;
    if (!home || this.addressInUse === home) return;
    if (this.hostIsBack) return this.moveTo(home);
    if (this.checkingBack || Date.now() < this.nextCheckBack) return;
    this.checkingBack = true;
    this.nextCheckBack = Date.now() + this.o.discoveryBackoffMs;
    void this.claimants()
      .then((claimants) => {
        if (!this.hooks.isClosed() && this.addressInUse !== home && claimants.includes(home)) this.hostIsBack = true;
      })
      .finally(() => {
        this.checkingBack = false;
      });
  }
}
