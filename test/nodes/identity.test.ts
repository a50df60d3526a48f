/**
 * The client's Speedwire identity comes from the Node-RED user dir: two instances started from the same
 * working directory differ (they would log each other off on every redeploy), a restart keeps it.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as os from "node:os";
import * as path from "node:path";
import { helper, load, settings } from "../harness/red-helper";
import { SpeedwireClient, clientIdentity, instanceSeed } from "../../src/client";
import inverterNode = require("../../nodes/sma-inverter/sma-inverter");

const flow = [
  {
    id: "inv",
    type: "sma-inverter",
    host: "127.0.0.1",
    port: "9522",
    serial: "",
    group: "user",
    timeout: "200",
    retries: "0",
  },
];

/** The identity of the shared client while a flow with an sma-inverter runs under that user dir. */
async function identityUnder(userDir: string): Promise<number> {
  settings({ userDir });
  await load([inverterNode], flow, { inv: { password: "0000" } });
  const c = SpeedwireClient.acquire();
  const serial = c.transport.identity.serial;
  await SpeedwireClient.release();
  await helper.unload();
  return serial;
}

describe("client identity", () => {
  afterEach(() => void settings({}));

  it("differs between user dirs, is the same for the same one, and stays in the package's serial range", () => {
    const a = clientIdentity(instanceSeed("/srv/node-red-a"));
    assert.notEqual(a.serial, clientIdentity(instanceSeed("/srv/node-red-b")).serial);
    assert.deepEqual(clientIdentity(instanceSeed("/srv/node-red-a")), a);
    assert.equal(a.susyId, 0x7d);
    assert.equal(a.serial >>> 24, 0x3b);
  });

  it("two Node-RED instances started from one working directory get different identities; a restart keeps each", async () => {
    const dirA = path.join(os.tmpdir(), "nr-instance-a");
    const dirB = path.join(os.tmpdir(), "nr-instance-b");
    const a = await identityUnder(dirA);
    const b = await identityUnder(dirB);
    assert.notEqual(a, b, "same working directory, other user dir: another identity");
    assert.equal(await identityUnder(dirA), a, "restarted: the same identity");
    assert.equal(a, clientIdentity(instanceSeed(dirA)).serial);
  });
});
