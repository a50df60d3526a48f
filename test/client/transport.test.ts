/** Packet ids: random 15-bit, never 0, never repeated within the last 1024, never one in flight. */
import { it } from "node:test";
import assert from "node:assert/strict";
import { Transport } from "../../src/client";

it("packet ids are random 15-bit numbers that do not repeat within 1024 requests", () => {
  const t = new Transport({ susyId: 125, serial: 0x3b000001 });
  const ids = Array.from({ length: 5000 }, () => t.nextPacketId());
  for (const id of ids) assert.ok(Number.isInteger(id) && id >= 1 && id <= 0x7fff, String(id));
  for (let i = 1024; i < ids.length; i++) {
    assert.equal(new Set(ids.slice(i - 1024, i + 1)).size, 1025, `a repeat within 1024 ids at ${i}`);
  }
  const steps = ids.slice(1).filter((id, i) => id === ids[i] + 1).length;
  assert.ok(steps < 25, `${steps} of 5000 ids follow their predecessor: not random`);
});
