/** Speedwire encryption key exchanges (protocol 0x6075) are recognised by their protocol id, and nothing else is. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DecodeError,
  KeyExchangeType,
  Protocol,
  decodeAnswer,
  decodeKeyExchange,
  hexCode,
  isKeyExchange,
  writeNet2Datagram,
} from "../../src/protocol";
import { buildKeyExchange } from "../../src/simulator/answer-builders";
import { bytes, loadCaptures } from "../harness/fixtures";

describe("key exchange (0x6075)", () => {
  it("is recognised by its protocol id and read as the protocol notes describe it (type, source, destination)", () => {
    const buf = buildKeyExchange({
      type: KeyExchangeType.REQUEST_KEYS,
      source: { susyId: 342, serial: 1992064811 },
      destination: { susyId: 0x7d, serial: 3999000001 },
    });
    assert.equal(isKeyExchange(buf), true);
    assert.deepEqual(decodeKeyExchange(buf), {
      type: 1,
      source: { susyId: 342, serial: 1992064811 },
      destination: { susyId: 0x7d, serial: 3999000001 },
    });
    // Not an inverter answer: a client that only decodes 0x6065 drops it as malformed.
    assert.throws(
      () => decodeAnswer(buf),
      (e: unknown) => e instanceof DecodeError && e.code === "EPROTOCOL",
    );
  });

  it("a short one is still recognised (only the protocol id is relied on); one without a type is ESHORT", () => {
    const typeOnly = Buffer.alloc(4);
    typeOnly.writeUInt16BE(Protocol.KEY_EXCHANGE, 0);
    typeOnly.writeUInt16BE(KeyExchangeType.RESPONSE_KEYS, 2);
    assert.equal(isKeyExchange(writeNet2Datagram(typeOnly)), true);
    assert.deepEqual(decodeKeyExchange(writeNet2Datagram(typeOnly)), { type: 2 });
    assert.throws(
      () => decodeKeyExchange(writeNet2Datagram(typeOnly.subarray(0, 2))),
      (e: unknown) => e instanceof DecodeError && e.code === "ESHORT",
    );
  });

  it("no real captured packet is taken for one, and garbage never throws", () => {
    for (const c of loadCaptures()) assert.equal(isKeyExchange(bytes(c)), false, c.id);
    for (const junk of [
      Buffer.alloc(0),
      Buffer.from("534d4100", "hex"),
      Buffer.from("534d4100000402a00000000100020010", "hex"),
    ]) {
      assert.equal(isKeyExchange(junk), false);
    }
  });
});

describe("device codes", () => {
  it("are printed in hex as the sources print them", () => {
    assert.equal(hexCode(0x0102), "0x0102");
    assert.equal(hexCode(0x14), "0x0014");
    assert.equal(hexCode(0xffff), "0xffff");
  });
});
