/** Editor fields as the runtime reads them: whole numbers where the editor asks for them, decimals for seconds. */
import { it } from "node:test";
import assert from "node:assert/strict";
import { intOr, numberOr } from "../../nodes/shared/fields";

it("intOr takes whole numbers in range, else the fallback", () => {
  assert.equal(intOr("1500", undefined, 200, 30000), 1500);
  assert.equal(intOr(1500, undefined, 200, 30000), 1500);
  for (const bad of ["", " ", "1.5", "abc", "100", "30001", null, undefined]) assert.equal(intOr(bad, undefined, 200, 30000), undefined, String(bad));
});

it("numberOr takes decimals (the energy meter's 0.5 s throttle), else the fallback", () => {
  assert.equal(numberOr("0.5", 5, 0, 86400), 0.5);
  assert.equal(numberOr("2.5", 10, 0, 86400), 2.5);
  for (const bad of ["", "x", "-1", "86401", "Infinity"]) assert.equal(numberOr(bad, 5, 0, 86400), 5, bad);
});
