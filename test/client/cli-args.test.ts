/** The diagnose command's --meter argument, whose value is optional: what parseArgs gets. */
import { it } from "node:test";
import assert from "node:assert/strict";
import { meterArgs } from "../../src/cli/sma-speedwire";

it("--meter takes the next argument only when it looks like ADDRESS:PORT; a HOST after it stays the host", () => {
  assert.deepEqual(meterArgs(["--meter", "192.168.1.5:9522", "inv.local"]), ["--meter=192.168.1.5:9522", "inv.local"]);
  assert.deepEqual(meterArgs(["--meter", "192.168.1.5"]), ["--meter=", "192.168.1.5"]);
  assert.deepEqual(meterArgs(["inv.local", "--meter"]), ["inv.local", "--meter="]);
  assert.deepEqual(meterArgs(["--meter", "--json", "h"]), ["--meter=", "--json", "h"]);
  assert.deepEqual(meterArgs(["--meter=239.12.255.254:9522", "h"]), ["--meter=239.12.255.254:9522", "h"]);
});
