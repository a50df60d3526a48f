/** Repeating log lines: once per interval per source and kind. */
import { it } from "node:test";
import assert from "node:assert/strict";
import { LogLimit } from "../../nodes/shared/log-limit";

it("lets one line per source and kind through per interval", () => {
  const limit = new LogLimit(60_000);
  const a = {};
  const b = {};
  assert.equal(limit.allow(a, "socketError", 0), true);
  assert.equal(limit.allow(a, "socketError", 59_999), false);
  assert.equal(limit.allow(a, "handlerError", 59_999), true, "another kind");
  assert.equal(limit.allow(b, "socketError", 59_999), true, "another source");
  assert.equal(limit.allow(a, "socketError", 60_000), true, "a minute later");
  assert.equal(limit.allow(a, "socketError", 60_001), false);
});
