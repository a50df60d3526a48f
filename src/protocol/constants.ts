/** Numbers of the Speedwire protocol, each named once. */

export const SPEEDWIRE_PORT = 9522;
export const MULTICAST_GROUP = "239.12.255.254";

/** "SMA\0" */
export const SIGNATURE = 0x534d4100;

/** Tag numbers of the SMA tag list (each tag: u16 BE length, u16 BE tag, data). */
export const Tag = {
  END: 0x0000,
  GROUP: 0x02a0,
  NET2: 0x0010,
  DISCOVERY: 0x0020,
  IP_ADDRESS: 0x0030,
} as const;

/** Protocol ids in the first two bytes of the SMA Net 2 tag. */
export const Protocol = {
  INVERTER: 0x6065,
  METER: 0x6069,
  /** Newer Home Manager / Energy Meter frames: 2 extra bytes after the id, then the meter layout. */
  METER_EXTENDED: 0x6081,
  /** Speedwire encryption (SEC) key exchange: a plant that speaks only encrypted Speedwire (see encryption.ts). */
  KEY_EXCHANGE: 0x6075,
} as const;

/** Error / status codes at offset 36 of an inverter answer. */
export const ErrorCode = {
  OK: 0x0000,
  WRONG_PASSWORD: 0x0100,
  NOT_LOGGED_IN: 0xffff,
  UNKNOWN_COMMAND: 0x0014,
  NOT_SUPPORTED: 0x0015,
  /** "Not authenticated" (or "no values" when it repeats after a fresh login). */
  REFUSED: 0x0017,
  /**
   * Login refused although the password is right: the device is busy or still starting (a Sunny Boy answered it
   * 28 times over about 70 s, then took the same request). Try again a few seconds later; never a wrong password.
   */
  LOGIN_BUSY: 0x0102,
} as const;

/** A device error code as the sources print it: 0x0102. */
export function hexCode(code: number): string {
  return "0x" + (code >>> 0).toString(16).padStart(4, "0");
}

/**
 * Error codes that mean "this device has no such values": remember per device, do not retry. 0x0014: the device
 * does not know the object at all (ennexOS-style ids, another family's command); 0x0015: a known object it has no
 * value for (battery values of a PV inverter); 0x0017 only when it repeats after a fresh login (it may also mean
 * "not authenticated").
 */
export const NO_SUCH_VALUES: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_COMMAND,
  ErrorCode.NOT_SUPPORTED,
  ErrorCode.REFUSED,
]);

export const Command = {
  LOGIN: 0xfffd040c,
  LOGOFF: 0xfffd010e,
  IDENTIFY: 0x00000200,
} as const;

/** Archive requests: first/last are a time range in Unix seconds, the answers have their own record layouts. */
export const ArchiveCommand = {
  /** 5-minute total-yield counters, 12-byte records. */
  DAY: 0x70000200,
  /** Daily total-yield counters, 12-byte records. */
  MONTH: 0x70200200,
  /** Event log of the user group, 48-byte records. */
  EVENTS_USER: 0x70100200,
  /** Event log of the installer group, 48-byte records. */
  EVENTS_INSTALLER: 0x70120200,
} as const;

/** Destination/source control words (LE) of login and logoff requests: bytes 00 01 and 00 03. */
export const SessionControl = {
  LOGIN: 0x0100,
  LOGOFF: 0x0300,
} as const;

/** Control byte at offset 19 of requests. */
export const Control = {
  /** As SBFspot and libspeedwire send it; some clients send 0xE0, which inverters (and the simulator) answer too. */
  REQUEST: 0xa0,
} as const;

export const UserGroup = {
  user: 0x07,
  installer: 0x0a,
} as const;
export type UserGroupName = keyof typeof UserGroup;

/** Added to each password character (and used for unused bytes) in the login request. */
export const PASSWORD_KEY: Record<UserGroupName, number> = { user: 0x88, installer: 0xbb };
export const PASSWORD_LENGTH = 12;

/** SUSyID/serial meaning "any device" in a destination. */
export const ANY_SUSY_ID = 0xffff;
export const ANY_SERIAL = 0xffffffff;

/** Session timeout asked for at login, in seconds (what the reference clients send). */
export const LOGIN_TIMEOUT_S = 900;

/** High bit of the packet id in requests and answers. */
export const PACKET_ID_FLAG = 0x8000;

/** Record data types (byte 3 of a record). */
export const DataType = {
  UNSIGNED: 0x00,
  STATUS: 0x08,
  STRING: 0x10,
  SIGNED: 0x40,
} as const;

/** "No value" sentinels. */
export const NAN_S32 = 0x80000000;
export const NAN_U32 = 0xffffffff;
/** Some devices fill unused unsigned words with this. */
export const NAN_U32_ALT = 0xfffffffe;
export const NAN_U64 = 0xffffffffffffffffn;
export const NAN_S64 = 0x8000000000000000n;
/** End of a status/enum attribute list. */
export const ENUM_END = 0x00fffffe;
/** Placeholder tag in attribute lists (no value). */
export const ENUM_NAN = 0x00fffffd;
export const ENUM_SELECTED = 0x01000000;
