/**
 * Every trace in test/fixtures/traces replays: a full read from ReplayInverter succeeds and gives, for each value,
 * what the trace's latest answer holding it said. A trace added there (a bug report) is checked without a new test.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../harness/fixtures";
import { SpeedwireClient, parseTrace } from "../../src/client";
import { ReplayInverter } from "../../src/simulator";
import {
  NO_SUCH_VALUES,
  QUERY_NAMES,
  decodeAnswer,
  isAnswerCode,
  readingsOf,
  valuesOf,
  type ReadingValue,
} from "../../src/protocol";

const dir = path.join(repoRoot(), "test", "fixtures", "traces");
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort();
const client = new SpeedwireClient({ identity: { susyId: 0x7d, serial: 1900001234 } });
const replays: ReplayInverter[] = [];
after(async () => {
  await client.close();
  await Promise.all(replays.map((r) => r.stop()));
});

/** Values by name from the traced answers, later answers over earlier ones. */
function tracedValues(text: string): { values: Record<string, ReadingValue>; refusals: number } {
  const values: Record<string, ReadingValue> = {};
  let refusals = 0;
  // Records of one answer's fragments, by packet id: battery records are numbered by position across the whole answer.
  const parts = new Map<number, Parameters<typeof readingsOf>[0][number][]>();
  for (const e of parseTrace(text).entries) {
    if (e.dir !== "in") continue;
    try {
      const a = decodeAnswer(Buffer.from(e.hex, "hex"));
      if (!isAnswerCode(a.header.command)) continue;
      if (NO_SUCH_VALUES.has(a.header.errorCode)) refusals++;
      const records = [...(parts.get(a.header.packetId) ?? []), ...a.records];
      if (a.header.fragment > 0) {
        parts.set(a.header.packetId, records);
        continue;
      }
      parts.delete(a.header.packetId);
      Object.assign(values, valuesOf(readingsOf(records)));
    } catch {
      // Not an answer the codec reads: the replay serves it as it is.
    }
  }
  return { values, refusals };
}

describe("traces in test/fixtures/traces replay", () => {
  it("there is at least one", () => assert.ok(files.length > 0));
  for (const f of files) {
    it(`${f}: a full read gives the traced values`, async () => {
      const text = fs.readFileSync(path.join(dir, f), "utf8");
      const replay = new ReplayInverter(text);
      replays.push(replay);
      await replay.start();
      const got = await client
        .inverter({ host: "127.0.0.1", port: replay.port, password: "x", timeoutMs: 300 })
        .read(QUERY_NAMES);
      const want = tracedValues(text);
      for (const [name, v] of Object.entries(got.values)) {
        if (v !== null) assert.deepEqual(v, want.values[name], name);
      }
      assert.ok(
        Object.values(got.values).some((v) => v !== null),
        "some value",
      );
      if (want.refusals === 0)
        assert.deepEqual(got.unsupported, [], "nothing refused in the trace, nothing unsupported");
    });
  }
});
