/**
 * The client's own SUSyID and serial. The serial is stable for one Node-RED instance (host + its user dir, the
 * folder with its flows) and lies in a range of its own, away from the fixed serials other tools use, so that
 * two tools (or two Node-RED instances) polling the same inverter do not share (and end) each other's sessions.
 */
import * as crypto from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import type { Address } from "../protocol";

/** SUSyID 125 is what SBFspot, libspeedwire and nymea send; every inverter accepts it. */
export const CLIENT_SUSY_ID = 0x007d;
/** Our serials: 0x3B000000 .. 0x3BFFFFFF (other tools use 900000000 + random and 0x3A28BExx). */
const SERIAL_BASE = 0x3b000000;

/** What tells this instance apart: the host and the Node-RED user dir (the working directory without one). */
export function instanceSeed(userDir?: string): string {
  return os.hostname() + "|" + path.resolve(userDir || process.cwd());
}

export function clientIdentity(seed: string = instanceSeed()): Address {
  const h = crypto.createHash("sha256").update(seed).digest();
  return { susyId: CLIENT_SUSY_ID, serial: (SERIAL_BASE + (h.readUInt32BE(0) & 0x00ffffff)) >>> 0 };
}
