/**
 * The process-wide Speedwire client: one socket shared by every inverter session of a Node-RED instance.
 * Config nodes acquire it on start and release it on close; the socket closes with the last release.
 */
import { Transport } from "./transport";
import { InverterSession, type InverterOptions } from "./session";
import type { Address } from "../protocol";

export interface ClientOptions {
  identity?: Address;
  /** Local address to bind the socket to (default all). */
  bindAddress?: string;
}

export class SpeedwireClient {
  readonly transport: Transport;
  private readonly sessions = new Set<InverterSession>();

  constructor(options: ClientOptions = {}) {
    this.transport = new Transport(options.identity, options.bindAddress);
  }

  /** A new session for one inverter; close it when done. */
  inverter(options: InverterOptions): InverterSession {
    const s = new InverterSession(this.transport, options);
    this.sessions.add(s);
    s.on("state", (state: string) => {
      if (state === "closed") this.sessions.delete(s);
    });
    return s;
  }

  async close(): Promise<void> {
    await Promise.all([...this.sessions].map((s) => s.close()));
    await this.transport.close();
  }

  private static sharedClient?: SpeedwireClient;
  private static users = 0;

  /** The shared client of this process (options apply when it is created); every acquire needs one release. */
  static acquire(options: ClientOptions = {}): SpeedwireClient {
    SpeedwireClient.users++;
    SpeedwireClient.sharedClient ??= new SpeedwireClient(options);
    return SpeedwireClient.sharedClient;
  }

  static async release(): Promise<void> {
    SpeedwireClient.users = Math.max(0, SpeedwireClient.users - 1);
    const c = SpeedwireClient.sharedClient;
    if (SpeedwireClient.users === 0 && c) {
      SpeedwireClient.sharedClient = undefined;
      await c.close();
    }
  }
}
