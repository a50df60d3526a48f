/** Builders of the requests a client sends to an inverter, and the discovery datagrams. */
import { DecodeError } from "./errors";
import {
  ANY_SERIAL,
  ANY_SUSY_ID,
  Command,
  SessionControl,
  Control,
  LOGIN_TIMEOUT_S,
  PASSWORD_KEY,
  PASSWORD_LENGTH,
  Tag,
  UserGroup,
  type UserGroupName,
} from "./constants";
import { encodeInverterDatagram, type Address } from "./net2";
import { writeTags } from "./framing";
import type { QueryDef } from "./queries";

export const ANY_DEVICE: Address = { susyId: ANY_SUSY_ID, serial: ANY_SERIAL };

export interface RequestBase {
  /** The client's own SUSyID and serial. */
  source: Address;
  /** The inverter, or ANY_DEVICE. */
  destination?: Address;
  /** 15-bit packet id; the 0x8000 bit is added. */
  packetId: number;
}

/** Why a password cannot be sent, or undefined when it can. */
export function passwordProblem(password: string): string | undefined {
  if (password.length > PASSWORD_LENGTH) return `password longer than ${PASSWORD_LENGTH} characters`;
  if (!/^[\x20-\x7e]*$/.test(password)) return "password has characters other than printable ASCII";
  return undefined;
}

/** 12 bytes: each character's code plus the group's key (mod 256), unused bytes the key itself. */
export function encodePassword(password: string, group: UserGroupName): Buffer {
  const problem = passwordProblem(password);
  if (problem) throw new DecodeError("EENCODE", problem);
  const key = PASSWORD_KEY[group];
  const out = Buffer.alloc(PASSWORD_LENGTH, key);
  for (let i = 0; i < password.length; i++) out[i] = (password.charCodeAt(i) + key) & 0xff;
  return out;
}

export interface LoginRequest extends RequestBase {
  group: UserGroupName;
  password: string;
  /** Unix seconds. */
  time: number;
  timeoutS?: number;
}

/** Login payload: client time (u32 LE) at 0, the encoded password at 8 (answers echo both). */
export const LOGIN_PASSWORD_OFFSET = 8;

export function buildLogin(r: LoginRequest): Buffer {
  const payload = Buffer.alloc(LOGIN_PASSWORD_OFFSET + PASSWORD_LENGTH);
  payload.writeUInt32LE(r.time >>> 0, 0);
  encodePassword(r.password, r.group).copy(payload, LOGIN_PASSWORD_OFFSET);
  return encodeInverterDatagram({
    control: Control.REQUEST,
    destination: r.destination ?? ANY_DEVICE,
    destinationControl: SessionControl.LOGIN,
    source: r.source,
    sourceControl: SessionControl.LOGIN,
    packetId: r.packetId,
    command: Command.LOGIN,
    first: UserGroup[r.group],
    last: r.timeoutS ?? LOGIN_TIMEOUT_S,
    payload,
  });
}

export function buildLogoff(r: RequestBase): Buffer {
  return encodeInverterDatagram({
    control: Control.REQUEST,
    destination: r.destination ?? ANY_DEVICE,
    destinationControl: SessionControl.LOGOFF,
    source: r.source,
    sourceControl: SessionControl.LOGOFF,
    packetId: r.packetId,
    command: Command.LOGOFF,
    first: 0xffffffff,
    omitLast: true,
  });
}

export function buildQuery(r: RequestBase & { query: Pick<QueryDef, "command" | "first" | "last"> }): Buffer {
  return encodeInverterDatagram({
    control: Control.REQUEST,
    destination: r.destination ?? ANY_DEVICE,
    destinationControl: 0x0000,
    source: r.source,
    sourceControl: 0x0000,
    packetId: r.packetId,
    command: r.query.command,
    first: r.query.first,
    last: r.query.last,
  });
}

/** Unauthenticated unicast query that makes a device tell its SUSyID and serial. */
export function buildIdentify(r: RequestBase): Buffer {
  return buildQuery({ ...r, query: { command: Command.IDENTIFY, first: 0, last: 0 } });
}

/** The 20-byte multicast discovery request. */
export function buildDiscovery(): Buffer {
  return writeTags([
    { tag: Tag.GROUP, data: Buffer.from([0xff, 0xff, 0xff, 0xff]) },
    { tag: Tag.DISCOVERY, data: Buffer.alloc(0) },
  ]);
}

/** The payload of a login request (what an inverter reads): client time and the encoded password bytes. */
export function decodeLoginRequest(payload: Buffer): { time: number; encodedPassword: Buffer } {
  if (payload.length < LOGIN_PASSWORD_OFFSET + PASSWORD_LENGTH) {
    throw new DecodeError("ESHORT", `login payload of ${payload.length} bytes`);
  }
  return {
    time: payload.readUInt32LE(0),
    encodedPassword: payload.subarray(LOGIN_PASSWORD_OFFSET, LOGIN_PASSWORD_OFFSET + PASSWORD_LENGTH),
  };
}
