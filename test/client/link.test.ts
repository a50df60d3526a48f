/** The link estimator alone: RFC 6298 arithmetic, Karn, back-off, copies on lossy links, the silence rule. */
import { it } from "node:test";
import assert from "node:assert/strict";
import { Link, MAX_COPIES, RTO_FLOOR_MS } from "../../src/client";

const rule = { attempts: 8, ms: 60_000 };

it("RTO as RFC 6298: 1 s before the first sample, SRTT + 4 RTTVAR after, floor and ceiling", () => {
  const l = new Link(1500, rule);
  assert.equal(l.rtoMs, 1000);
  l.answered(0, 200);
  assert.equal(l.rtoMs, 200 + 4 * 100); // SRTT 200, RTTVAR 100
  l.answered(0, 200);
  assert.equal(l.rtoMs, 200 + 4 * 75);
  assert.equal(new Link(300, rule).rtoMs, 300, "a timeout below 1 s is the first wait");
  const fast = new Link(1500, rule);
  for (let i = 0; i < 20; i++) fast.answered(0, 3);
  assert.equal(fast.rtoMs, RTO_FLOOR_MS);
  const slow = new Link(1500, rule);
  slow.answered(0, 1400);
  assert.equal(slow.rtoMs, 1500, "never above the configured timeout");
});

it("back-off doubles on each lost attempt up to the ceiling; an answer without a sample (Karn) keeps it, a sample ends it", () => {
  const l = new Link(1500, rule);
  for (let i = 0; i < 20; i++) l.answered(0, 10);
  assert.equal(l.rtoMs, 100);
  l.timedOut();
  l.timedOut();
  assert.equal(l.rtoMs, 400);
  l.answered(0); // the answer to a resent request: no sample
  assert.equal(l.rtoMs, 400);
  for (let i = 0; i < 5; i++) l.timedOut();
  assert.equal(l.rtoMs, 1500);
  l.answered(0, 10);
  assert.ok(l.rtoMs < 400);
});

it("copies: one on a clean link, more while half the round trips are lost, back to one when the link heals", () => {
  const l = new Link(1500, rule);
  for (let i = 0; i < 50; i++) l.completed(1, l.copies);
  assert.equal(l.copies, 1);
  assert.equal(l.figures().resentPct, 0);
  // Every other attempt lost (about 30 % loss each way): attempts 2, 1, 2, 1 ...
  for (let i = 0; i < 200; i++) l.completed(i % 2 === 0 ? 2 : 1, l.copies);
  assert.equal(l.copies, MAX_COPIES);
  assert.ok(l.poor && l.figures().resentPct > 90);
  for (let i = 0; i < 300; i++) l.completed(1, l.copies);
  assert.equal(l.copies, 1);
  assert.ok(!l.poor);
});

it("silent only after enough unanswered attempts over enough time; any answer ends it", () => {
  const l = new Link(1500, rule);
  l.answered(0, 10);
  for (let i = 0; i < 20; i++) {
    l.sent(i * 100);
    l.timedOut();
  }
  assert.equal(l.silent(2000), false, "20 attempts in 2 s: not a minute");
  assert.equal(l.silent(61_000), true);
  l.answered(61_000);
  assert.equal(l.silent(61_000), false);
  l.sent(61_000);
  l.timedOut();
  assert.equal(l.silent(200_000), false, "one attempt over a long time is not silence");
  assert.equal(l.figures().lastAnswer, 61_000);
});
