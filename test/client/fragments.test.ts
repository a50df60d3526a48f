import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FragmentSet, MAX_ANSWER_BYTES, MAX_FRAGMENTS } from "../../src/client/fragments";
import type { InverterAnswer } from "../../src/protocol";

/** One datagram of an answer: only the fields FragmentSet reads. */
function part(fragment: number, first: boolean, bytes: number): InverterAnswer {
  return {
    header: { fragment, packetIdFlag: first },
    payload: Buffer.alloc(bytes),
    records: [],
    isLogin: false,
  } as unknown as InverterAnswer;
}

describe("the datagrams of one answer", () => {
  it("complete only with the first-marked datagram and every counter down to 0", () => {
    const f = new FragmentSet();
    assert.equal(f.add(part(1, false, 100)), "new");
    assert.equal(f.add(part(0, false, 100)), "new");
    assert.equal(f.complete, false, "the first datagram is missing");
    assert.equal(f.add(part(2, true, 100)), "new");
    assert.equal(f.complete, true);
    assert.deepEqual(
      f.answers().map((a) => a.header.fragment),
      [2, 1, 0],
    );
  });

  it(`a hostile sender cannot make one answer hold more than ${MAX_ANSWER_BYTES} bytes (64 KB datagrams)`, () => {
    const f = new FragmentSet();
    let verdict = "";
    for (let c = MAX_FRAGMENTS - 1; c >= 0 && verdict !== "invalid"; c--)
      verdict = f.add(part(c, c === MAX_FRAGMENTS - 1, 65_000));
    assert.equal(verdict, "invalid");
    assert.match(f.problem, /more than \d+ bytes/);
    assert.ok(f.answers().reduce((n, a) => n + a.payload.length, 0) <= MAX_ANSWER_BYTES);
  });

  it("a resent datagram replaces itself and does not count its bytes twice", () => {
    const f = new FragmentSet();
    for (let i = 0; i < 100; i++) assert.notEqual(f.add(part(0, true, 2000)), "invalid");
    assert.equal(f.add(part(0, true, 2000)), "repeat");
    assert.equal(f.complete, true);
  });
});
