/**
 * The editor's endpoints of this package need the editor's permissions: with adminAuth set, the search
 * (which sends datagrams on the LAN), the trace download and Diagnose need sma-inverter.write, the value list
 * sma-inverter.read.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { startNodeRed } from "../harness/nodered";
import { assertAvailable, runtimes, skipLocally } from "../harness/runtimes";
import { packPackage } from "../harness/pack";

// bcryptjs ships with node-red (its adminAuth hashes passwords with it).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bcrypt = require("bcryptjs") as { hashSync(pw: string, rounds: number): string };

const rt = runtimes()[0];

test(
  "admin endpoints: no token 401, read-only user may list values but not search (401), admin may search",
  { skip: skipLocally(rt.missing), timeout: 120_000 },
  async (t) => {
    assertAvailable(rt.missing);
    const hash = bcrypt.hashSync("Secret-123", 8);
    const nr = await startNodeRed({
      nodeBinary: rt.node,
      nodeRedDir: rt.nodeRedDir,
      installPackageTgz: await packPackage(),
      logLevel: "warn",
      settings: {
        adminAuth: {
          type: "credentials",
          users: [
            { username: "admin", password: hash, permissions: "*" },
            { username: "viewer", password: hash, permissions: "read" },
          ],
        },
        smaSpeedwire: { discoveryTargets: ["127.0.0.1:9"], discoveryTimeout: 300 },
      },
    });
    t.after(async () => void (await nr.stop()));
    const token = async (username: string, scope: string): Promise<string> => {
      const res = await fetch(nr.url + "auth/token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          client_id: "node-red-admin",
          grant_type: "password",
          scope,
          username,
          password: "Secret-123",
        }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      return ((await res.json()) as { access_token: string }).access_token;
    };
    const get = (p: string, tok?: string): Promise<Response> =>
      fetch(nr.url + p, { headers: tok ? { Authorization: "Bearer " + tok } : {} });

    assert.equal((await get("sma-speedwire/discover")).status, 401);
    assert.equal((await get("sma-speedwire/values")).status, 401);
    const viewer = await token("viewer", "read");
    assert.equal((await get("sma-speedwire/values", viewer)).status, 200);
    // Node-RED answers a token without the permission as it answers no token: 401.
    assert.equal((await get("sma-speedwire/discover", viewer)).status, 401);
    // The trace download needs the same permission as the search.
    assert.equal((await get("sma-speedwire/trace/nothere")).status, 401);
    assert.equal((await get("sma-speedwire/trace/nothere", viewer)).status, 401);
    const admin = await token("admin", "*");
    assert.equal((await get("sma-speedwire/trace/nothere", admin)).status, 404, "no deployed inverter with that id");
    // Diagnose sends the password to a host: the same permission as the search.
    const post = (p: string, body: unknown, tok?: string): Promise<Response> =>
      fetch(nr.url + p, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", ...(tok ? { Authorization: "Bearer " + tok } : {}) },
      });
    const bad = { host: "not a host", password: "x" };
    assert.equal((await post("sma-speedwire/diagnose", bad)).status, 401);
    assert.equal((await post("sma-speedwire/diagnose", bad, viewer)).status, 401);
    assert.equal(
      (await post("sma-speedwire/diagnose", bad, admin)).status,
      400,
      "admin gets through to the settings check",
    );
    const found = await get("sma-speedwire/discover", admin);
    assert.equal(found.status, 200);
    assert.deepEqual(await found.json(), [], "nothing answers at 127.0.0.1:9");
  },
);
