/** Why a datagram could not be decoded. Every decoder in src/protocol throws only this. */
export type DecodeErrorCode =
  | "ESHORT" // fewer bytes than the structure needs
  | "ESIGNATURE" // does not start with "SMA\0"
  | "ELENGTH" // a length field points outside the datagram
  | "EPROTOCOL" // a protocol id this decoder does not handle (0x6081, 0x6073, ...)
  | "ERECORD" // the record list cannot be cut into records of a known size
  | "EENCODE"; // a value cannot be encoded (password too long, bad character, out of range)

export class DecodeError extends Error {
  readonly code: DecodeErrorCode;
  constructor(code: DecodeErrorCode, message: string) {
    super(message);
    this.name = "DecodeError";
    this.code = code;
  }
}
