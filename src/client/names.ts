/**
 * Host names of inverters (e.g. `sunnyboy.fritz.box`, whose address the router gives by DHCP): looked up with a
 * DNS resolver (c-ares: UDP, a timeout, not libuv's thread pool, so a slow DNS server cannot hold up the other
 * lookups of the process), every IPv4 address of the name, cached for the answer's TTL (within bounds), looked up
 * again when the device stops answering. One lookup per name at a time, shared by every session that uses it.
 * Names in the hosts file (`localhost`, names set there by hand) are taken from it first, without DNS; names the
 * DNS server does not know fall back to the system's lookup (dns.lookup: mDNS ...), at most one per name at a time. A failed lookup is cached briefly and is its own error
 * (ENOTFOUND with `lookup` set), never a timeout of the device.
 */
import * as dns from "node:dns";
import * as fs from "node:fs";
import * as path from "node:path";
import { SmaError } from "./errors";
import { isUnicast } from "./settings-rules";

/** One A record: the address and its TTL in seconds (undefined when not known). */
export interface NameRecord {
  address: string;
  ttl?: number;
}

/** A DNS resolver's A query (dns.Resolver's resolve4 with {ttl:true} by default); injectable for tests. */
export type Resolve4 = (host: string) => Promise<NameRecord[]>;
/** The system's lookup of a name's IPv4 addresses (dns.lookup by default). */
export type Lookup4 = (host: string) => Promise<string[]>;

export interface NameOptions {
  /** DNS servers ("127.0.0.1:5353"); default the system's (/etc/resolv.conf). */
  servers?: string[];
  resolve4?: Resolve4;
  lookup4?: Lookup4;
  /** The hosts file read before DNS (default the system's; null: none). */
  hostsFile?: string | null;
  /** Longest one lookup may take before it counts as failed (the resolver's own timeout is below it). */
  lookupTimeoutMs?: number;
  /** Bounds of the time an answer is kept (its TTL within them; answers without TTL: defaultTtlS). */
  minTtlS?: number;
  maxTtlS?: number;
  defaultTtlS?: number;
  /** How long a failed lookup is kept: reads in that time fail at once with the same error. */
  failTtlS?: number;
  /** After the device stopped answering, the name is looked up again when its answer is at least this old. */
  refreshAfterSilenceMs?: number;
}

export const NAME_DEFAULTS = {
  lookupTimeoutMs: 5000,
  minTtlS: 10,
  maxTtlS: 300,
  defaultTtlS: 60,
  failTtlS: 10,
  refreshAfterSilenceMs: 30_000,
} as const;

/** Resolver error codes that mean "asked, and no answer will come": the system's lookup is not tried then. */
const NO_FALLBACK = new Set(["ETIMEOUT", "ECANCELLED", "EDESTRUCTION"]);

interface Entry {
  addresses: string[];
  /** When it was looked up and when it expires (ms since epoch). */
  at: number;
  expires: number;
  error?: SmaError;
}

/** A name's addresses, how they were found, and the error when none could be. */
export interface NameAnswer {
  addresses: string[];
  /** True when these are the addresses of an earlier lookup (the new one failed or is slow). */
  stale: boolean;
}

export class HostNames {
  readonly options: Required<Omit<NameOptions, "servers" | "resolve4" | "lookup4" | "hostsFile">>;
  private readonly hostsFile: string | null;
  private hosts?: { at: number; names: Promise<Map<string, string[]>> };
  private readonly resolve4: Resolve4;
  private readonly lookup4: Lookup4;
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Entry>>();
  /** System lookups still running (dns.lookup cannot be cancelled): a name never has two. */
  private readonly systemLookups = new Map<string, Promise<string[]>>();
  /** Counted for tests: DNS queries, system lookups. */
  readonly stats = { queries: 0, systemLookups: 0 };

  constructor(options: NameOptions = {}) {
    this.options = {
      ...NAME_DEFAULTS,
      ...Object.fromEntries(
        Object.entries(options).filter(
          ([k, v]) => v !== undefined && !["servers", "resolve4", "lookup4", "hostsFile"].includes(k),
        ),
      ),
    } as HostNames["options"];
    this.resolve4 = options.resolve4 ?? dnsResolve4(options.servers, this.options.lookupTimeoutMs);
    this.lookup4 = options.lookup4 ?? systemLookup4;
    this.hostsFile = options.hostsFile === undefined ? systemHostsFile() : options.hostsFile;
  }

  /**
   * The addresses of `host`, within `waitMs`: from the cache while its answer is fresh, else from a lookup (shared
   * with any other caller of the same name). When the lookup fails or takes longer than the wait and an earlier
   * answer exists, that one is used (stale); without one the read fails with ENOTFOUND (`lookup` says why).
   */
  async resolve(host: string, waitMs: number, now = Date.now()): Promise<NameAnswer> {
    const known = this.entries.get(host);
    if (known && now < known.expires) {
      if (known.error) throw known.error;
      return { addresses: known.addresses, stale: false };
    }
    const fresh = this.lookup(host);
    // With an earlier answer, a slow DNS costs at most half the read's time: the rest is the device's.
    const old = known && known.addresses.length > 0 ? known : undefined;
    const entry = await within(fresh, old ? waitMs / 2 : waitMs);
    if (entry && !entry.error) return { addresses: entry.addresses, stale: false };
    if (old) return { addresses: old.addresses, stale: true };
    throw entry?.error ?? lookupError("timeout", `no DNS answer for ${host} within ${Math.round(waitMs)} ms`);
  }

  /** The device stopped answering: the next resolve() looks the name up again (unless it was looked up just now). */
  stale(host: string, now = Date.now()): boolean {
    const e = this.entries.get(host);
    if (!e || now - e.at < this.options.refreshAfterSilenceMs) return false;
    e.expires = 0;
    return true;
  }

  /** The addresses last found for `host` (empty when none). */
  known(host: string): string[] {
    return this.entries.get(host)?.addresses ?? [];
  }

  private lookup(host: string): Promise<Entry> {
    let p = this.inflight.get(host);
    if (p) return p;
    p = this.ask(host)
      .then((entry) => {
        const old = this.entries.get(host);
        // A failed lookup keeps the addresses that worked before (a DNS outage must not stop a working inverter).
        this.entries.set(
          host,
          entry.error && old && old.addresses.length > 0 ? { ...old, at: entry.at, expires: entry.expires } : entry,
        );
        return entry;
      })
      .finally(() => this.inflight.delete(host));
    this.inflight.set(host, p);
    return p;
  }

  private async ask(host: string): Promise<Entry> {
    const o = this.options;
    const started = Date.now();
    const keep = (addresses: string[], ttlS: number): Entry => {
      const s = Math.min(o.maxTtlS, Math.max(o.minTtlS, ttlS));
      return { addresses: [...new Set(addresses)], at: started, expires: Date.now() + s * 1000 };
    };
    const failed = (error: SmaError): Entry => ({
      addresses: [],
      at: started,
      expires: Date.now() + o.failTtlS * 1000,
      error,
    });
    // Addresses no single device has (0.0.0.0, multicast, broadcast: from a hostile or broken DNS server, an ad-block
    // hosts file) are dropped: a login sent there hands the password to a local program or to every host of a group.
    const noUnicast = (addresses: string[]): Entry =>
      failed(
        lookupError(
          "notFound",
          `host name ${host} gives ` + `${addresses.slice(0, 3).join(", ")}: no address of one device`,
        ),
      );
    const inFile = (await this.hostsNames()).get(host.toLowerCase());
    const fromFile = inFile?.filter(isUnicast);
    if (inFile && fromFile?.length === 0) return noUnicast(inFile);
    if (fromFile) return keep(fromFile, o.defaultTtlS);
    let code: string;
    try {
      this.stats.queries++;
      const records = await within(this.resolve4(host), o.lookupTimeoutMs);
      if (!records) return failed(lookupError("timeout", `no DNS answer for ${host} within ${o.lookupTimeoutMs} ms`));
      const ipv4 = records.filter((r) => isUnicast(r.address));
      if (ipv4.length === 0 && records.some((r) => isIPv4(r.address))) return noUnicast(records.map((r) => r.address));
      if (ipv4.length > 0) {
        const ttls = ipv4.map((r) => r.ttl).filter((t): t is number => typeof t === "number" && Number.isFinite(t));
        return keep(
          ipv4.map((r) => r.address),
          ttls.length > 0 ? Math.min(...ttls) : o.defaultTtlS,
        );
      }
      code = "ENODATA";
    } catch (e) {
      code = String((e as NodeJS.ErrnoException).code ?? e);
    }
    if (NO_FALLBACK.has(code)) return failed(lookupError("timeout", `no DNS answer for ${host} (${code})`));
    // Not in DNS (or no DNS server): the system may know it (/etc/hosts, mDNS); one such lookup per name at a time.
    try {
      const addresses = await within(this.system(host), Math.max(0, o.lookupTimeoutMs - (Date.now() - started)));
      if (addresses === undefined)
        return failed(lookupError("timeout", `no answer for ${host} from the system's lookup`));
      const ipv4 = addresses.filter(isUnicast);
      if (ipv4.length === 0 && addresses.some(isIPv4)) return noUnicast(addresses.filter(isIPv4));
      if (ipv4.length > 0) return keep(ipv4, o.defaultTtlS);
    } catch {
      // Not found there either: the DNS server's answer stands.
    }
    return failed(lookupError("notFound", `host name ${host} not found (${code})`));
  }

  /** The IPv4 names of the hosts file, read again when the last read is 10 s old (an unreadable file: none). */
  private hostsNames(): Promise<Map<string, string[]>> {
    const file = this.hostsFile;
    if (file === null) return Promise.resolve(new Map());
    if (!this.hosts || Date.now() - this.hosts.at > 10_000) {
      this.hosts = { at: Date.now(), names: fs.promises.readFile(file, "utf8").then(parseHosts, () => new Map()) };
    }
    return this.hosts.names;
  }

  private system(host: string): Promise<string[]> {
    let p = this.systemLookups.get(host);
    if (p) return p;
    this.stats.systemLookups++;
    p = this.lookup4(host).finally(() => this.systemLookups.delete(host));
    this.systemLookups.set(host, p);
    return p;
  }
}

/** name -> IPv4 addresses of a hosts file ("127.0.0.1 localhost loopback # comment"). */
export function parseHosts(text: string): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    const [address, ...aliases] = line.replace(/#.*/, "").trim().split(/\s+/);
    if (!address || !isIPv4(address)) continue;
    for (const a of aliases) {
      const key = a.toLowerCase();
      names.set(key, [...(names.get(key) ?? []), address]);
    }
  }
  return names;
}

function systemHostsFile(): string {
  return process.platform === "win32"
    ? path.join(process.env.SystemRoot ?? "C:\\Windows", "System32", "drivers", "etc", "hosts")
    : "/etc/hosts";
}

function isIPv4(a: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(a);
}

/** ENOTFOUND for a host name: `lookup` is "notFound" (the name has no address) or "timeout" (no DNS answer). */
export function lookupError(why: "notFound" | "timeout", message: string): SmaError {
  return new SmaError("ENOTFOUND", message, { lookup: why });
}

/** The promise's value, or undefined when it takes longer than ms (its rejection is passed on). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** dns.Resolver's A query with TTLs: UDP with its own timeout, outside libuv's thread pool. */
export function dnsResolve4(servers: string[] | undefined, timeoutMs: number): Resolve4 {
  // c-ares waits `timeout` for the first try and doubles it for the next: two tries fit in timeoutMs.
  const resolver = new dns.promises.Resolver({ timeout: Math.max(1, Math.floor(timeoutMs / 3)), tries: 2 });
  if (servers && servers.length > 0) resolver.setServers(servers);
  return (host) => resolver.resolve4(host, { ttl: true });
}

function systemLookup4(host: string): Promise<string[]> {
  return dns.promises.lookup(host, { family: 4, all: true }).then((list) => list.map((a) => a.address));
}

/** The process's names: every session without its own HostNames shares this cache and its lookups. */
export const sharedNames = new HostNames();
