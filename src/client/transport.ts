/**
 * One UDP socket for every inverter of the process. Answers are matched to the request waiting for them
 * by packet id, then checked against the address, serial and answer code that request expects.
 * Anything else (other hosts, stale ids, wrong serials, garbage) is dropped and counted, never thrown.
 */
import { randomInt } from "node:crypto";
import * as dgram from "node:dgram";
import { EventEmitter } from "node:events";
import {
  ANY_SERIAL,
  PACKET_ID_FLAG,
  decodeAnswer,
  isDeviceTimeHeader,
  type Address,
  type InverterAnswer,
} from "../protocol";
import { keyExchangeSince, noteKeyExchange } from "./key-exchanges";
import { clientIdentity } from "./identity";
import { answerable, guarded } from "./guard";

export interface Expectation {
  packetId: number;
  address: string;
  port: number;
  answerCommand: number;
  /** When set, the answer's source serial must be this one. */
  serial?: number;
  /** raw: the datagram as received (for the session's trace). */
  onAnswer(answer: InverterAnswer, raw: Buffer): void;
}

/** A datagram a device sent without being asked (the device-time record), for the sessions to claim by address. */
export interface PushedDatagram {
  answer: InverterAnswer;
  raw: Buffer;
  address: string;
  port: number;
}

export interface TransportStats {
  sent: number;
  received: number;
  matched: number;
  malformed: number;
  unmatched: number;
  rejected: number;
  sendErrors: number;
  /** Device-time records (sent unasked to logged-in clients), handed to the sessions as "push" events. */
  pushed: number;
  /** Speedwire encryption key exchanges (protocol 0x6075) received: a plant with encryption on. */
  keyExchanges: number;
}

export class Transport extends EventEmitter {
  readonly identity: Address;
  readonly stats: TransportStats = {
    sent: 0,
    received: 0,
    matched: 0,
    malformed: 0,
    unmatched: 0,
    rejected: 0,
    sendErrors: 0,
    pushed: 0,
    keyExchanges: 0,
  };
  private socket?: dgram.Socket;
  private opening?: Promise<dgram.Socket>;
  private readonly waiting = new Map<number, Expectation>();
  private closed = false;
  private readonly recentIds = new Set<number>();
  private readonly recentOrder: number[] = [];

  constructor(
    identity: Address = clientIdentity(),
    private readonly bindAddress?: string,
  ) {
    super();
    // One "push" listener per inverter session.
    this.setMaxListeners(0);
    this.identity = identity;
  }

  /**
   * A random 15-bit packet id, never 0, never one still waiting for an answer nor one of the last 1024 given
   * out (so a late answer to an old request cannot pass for a new one). Random, so that an attacker who
   * cannot see the traffic cannot guess the id an answer must carry (answers are also checked for address,
   * port and serial).
   */
  nextPacketId(): number {
    const id = randomPacketId((n) => this.waiting.has(n) || this.recentIds.has(n));
    this.recentIds.add(id);
    this.recentOrder.push(id);
    if (this.recentOrder.length > 1024) this.recentIds.delete(this.recentOrder.shift() as number);
    return id;
  }

  get port(): number | undefined {
    return this.socket?.address().port;
  }

  open(): Promise<dgram.Socket> {
    if (this.closed) return Promise.reject(new Error("transport closed"));
    if (this.socket) return Promise.resolve(this.socket);
    this.opening ??= new Promise<dgram.Socket>((resolve, reject) => {
      const s = dgram.createSocket({ type: "udp4" });
      s.on(
        "message",
        guarded(
          (msg: Buffer, rinfo: dgram.RemoteInfo) => this.receive(msg, rinfo),
          (e) => this.emit("handlerError", e),
        ),
      );
      const failed = (err: Error): void => {
        s.close();
        reject(err);
      };
      s.once("error", failed);
      s.bind({ port: 0, address: this.bindAddress }, () => {
        s.off("error", failed);
        // A socket error must never become an uncaught exception in Node-RED.
        s.on(
          "error",
          guarded((err: Error) => void this.emit("socketError", err)),
        );
        this.socket = s;
        resolve(s);
      });
    }).finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  expect(e: Expectation): void {
    this.waiting.set(e.packetId, e);
  }

  forget(packetId: number): void {
    this.waiting.delete(packetId);
  }

  async send(buf: Buffer, address: string, port: number): Promise<void> {
    const s = await this.open();
    await new Promise<void>((resolve, reject) => {
      s.send(buf, port, address, (err) => {
        if (err) {
          this.stats.sendErrors++;
          reject(err);
        } else {
          this.stats.sent++;
          resolve();
        }
      });
    });
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.stats.received++;
    // No request of ours goes to port 0: nothing from there can be an answer.
    if (!answerable(rinfo)) {
      this.stats.rejected++;
      return;
    }
    let answer: InverterAnswer;
    try {
      answer = decodeAnswer(msg);
    } catch {
      if (noteKeyExchange(msg, rinfo.address, rinfo.port)) {
        this.stats.keyExchanges++;
        return void this.emit("keyExchange", rinfo.address);
      }
      this.stats.malformed++;
      return;
    }
    const h = answer.header;
    // A device-time record is a "request" to destination any, pushed to every logged-in client: never an answer.
    // The session whose device sent it (by address and port) keeps it; nothing is sent back.
    if (isDeviceTimeHeader(h)) {
      this.stats.pushed++;
      this.emit("push", { answer, raw: msg, address: rinfo.address, port: rinfo.port } satisfies PushedDatagram);
      return;
    }
    const e = this.waiting.get(h.packetId);
    if (!e) {
      this.stats.unmatched++;
      return;
    }
    const forUs = h.destination.serial === this.identity.serial || h.destination.serial === ANY_SERIAL;
    const fromIt = rinfo.address === e.address && rinfo.port === e.port;
    const serialOk = e.serial === undefined || h.source.serial === e.serial;
    if (!forUs || !fromIt || !serialOk || h.command !== e.answerCommand) {
      this.stats.rejected++;
      return;
    }
    this.stats.matched++;
    e.onAnswer(answer, msg);
  }

  /**
   * True when `address`:`port` sent a Speedwire encryption key exchange (0x6075) at or after `since` (ms since epoch),
   * to this socket or to any other of the process that listens for them (the meter listener's on the multicast group).
   */
  keyExchangeSince(address: string, since: number, port: number): boolean {
    return keyExchangeSince(address, port, since);
  }

  /** Closes the socket for good: a closed transport never opens another one. */
  async close(): Promise<void> {
    this.closed = true;
    const s = this.socket ?? (this.opening ? await this.opening.catch(() => undefined) : undefined);
    this.socket = undefined;
    this.waiting.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** A random packet id (1 to 0x7FFF, the 15 bits below the flag) for which taken() is false. */
export function randomPacketId(taken: (id: number) => boolean): number {
  let id: number;
  do id = randomInt(1, PACKET_ID_FLAG);
  while (taken(id));
  return id;
}
