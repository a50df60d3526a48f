/**
 * The simulator's answers have the byte layout of the real ones. For every real inverter answer in
 * test/fixtures/captures.json, a simulator shaped like that device (serial, strings, values, record index base)
 * gets the same request from the same client address, and the two answers are compared byte for byte apart from
 * the control bytes and the record timestamps. Where the simulator differs on purpose, a rule below says why;
 * each rule must be used by some capture, so the list cannot rot.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { bytes, loadCaptures, type Capture } from "../harness/fixtures";
import {
  Command,
  DataType,
  ENUM_END,
  ENUM_SELECTED,
  ErrorCode,
  QUERIES,
  QUERY_NAMES,
  buildDiscovery,
  buildIdentify,
  buildLogin,
  buildQuery,
  decodeAnswer,
  decodeInverterDatagram,
  findQuery,
  readTags,
  readingsOf,
  sameFamily,
  valueByLri,
  type Address,
  type EnumValue,
  type InverterAnswer,
  type QueryName,
  type UserGroupName,
} from "../../src/protocol";
import { SimulatedInverter, type SimulatedInverterOptions } from "../../src/simulator";

const sims: SimulatedInverter[] = [];
let client: dgram.Socket | undefined;
after(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  client?.close();
});

/** Header offsets that legitimately differ: control byte, destination and source control words. */
const CONTROL = [19, 26, 27, 34, 35];
/** Value ids real devices send that the value table does not know: the simulator cannot send them. */
const UNKNOWN_LRIS = [0x464e];
/** Identify record words whose meaning is unknown and which differ between devices (lsw: 0 and 0, ny: 0x1FFFD5EC and 3). */
const IDENTIFY_VARYING_WORDS = [0, 6];
const used = new Set<string>();

async function send(buf: Buffer, port: number): Promise<Buffer[]> {
  if (!client) {
    client = dgram.createSocket("udp4");
    await new Promise<void>((r) => client?.bind(0, "127.0.0.1", () => r()));
  }
  const c = client;
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const on = (m: Buffer): void => {
      got.push(m);
      // Discovery answers are tag lists without the inverter header; inverter answers end with fragment 0.
      if (m.length < 40 || m.readUInt16BE(16) !== 0x6065 || m.readUInt16LE(38) === 0) done();
    };
    const done = (): void => {
      clearTimeout(timer);
      c.off("message", on);
      resolve(got);
    };
    const timer = setTimeout(done, 500);
    c.on("message", on);
    c.send(buf, port, "127.0.0.1");
  });
}

const byId = new Map(loadCaptures().map((c) => [c.id, c]));
const isInverterAnswer = (c: Capture): boolean =>
  (c.kind === "inverter-response" || c.kind === "discovery-response") && c.hex.slice(32, 36) === "6065";
const requestCommand = (answerCmd: number): number => ((answerCmd & 0xffffff00) | ((answerCmd - 1) & 0xff)) >>> 0;

/** Attribute words of a record as a list (placeholders kept), the selected one marked: what the simulator is told to send. */
function rawEnum(rec: Buffer): EnumValue {
  const tags: number[] = [];
  let selected: number | null = null;
  for (let off = 8; off + 4 <= 40; off += 4) {
    const w = rec.readUInt32LE(off);
    if ((w & 0xffffff) === ENUM_END) break;
    tags.push(w & 0xffffff);
    if ((w & 0xff000000) === ENUM_SELECTED) selected = w & 0xffffff;
  }
  return { selected, tags };
}

/** Options for a simulator that is the captured device: same address, channels and values. */
function twin(real: InverterAnswer, buf: Buffer, query: QueryName | undefined): SimulatedInverterOptions {
  const values: Record<string, EnumValue | number | string | null> = {};
  const merged = new Map<string, EnumValue>();
  real.records.forEach((r, i) => {
    const def = valueByLri(r.lri);
    if (!def) return;
    const name = readingsOf(real.records.slice(0, i + 1)).at(-1)?.name ?? def.name;
    if (def.type !== "enum") return void (values[name] = readingsOf([r])[0].value as number | string | null);
    const e = rawEnum(buf.subarray(54 + i * r.size, 54 + (i + 1) * r.size));
    const m = merged.get(name) ?? { selected: null, tags: [] };
    merged.set(name, { selected: m.selected ?? e.selected, tags: [...m.tags, ...e.tags] });
  });
  for (const [k, v] of merged) values[k] = v;
  const strings = Math.max(1, ...real.records.filter((r) => valueByLri(r.lri)?.group === "dc").map((r) => r.cls));
  const h = real.header;
  const night = Object.keys(values).length > 0 && Object.values(values).every((v) => v === null);
  return {
    serial: h.source.serial,
    susyId: h.source.susyId,
    strings,
    phases: 3,
    night,
    profile: h.errorCode === ErrorCode.REFUSED ? "battery" : "pv",
    values: night ? {} : values,
    legacyCurrentIds: real.records.some((r) => r.lri === 0x4650),
    recordIndexBase: query ? { [query]: h.first } : undefined,
    clock: () => new Date((real.records[0]?.timestamp ?? 1_700_000_000) * 1000),
  };
}

/** The request a capture answers: its paired request, or rebuilt from the answer (error answers echo first/last). */
function requestFor(
  c: Capture,
  real: InverterAnswer,
): { command: number; first: number; last: number; source: Address; destination: Address; packetId: number } {
  const h = real.header;
  const base = { source: h.destination, packetId: h.packetId, command: requestCommand(h.command) };
  const pair = c.pairs_with ? byId.get(c.pairs_with) : undefined;
  if (pair) {
    const q = decodeInverterDatagram(bytes(pair)).header;
    return { ...base, command: q.command, first: q.first, last: q.last, destination: q.destination };
  }
  if (h.errorCode !== 0) return { ...base, first: h.first, last: h.last, destination: h.source };
  const lris = real.records.map((r) => r.lri);
  const name = QUERY_NAMES.find(
    (n) =>
      sameFamily(QUERIES[n].command, base.command) &&
      lris.every((l) => l >= QUERIES[n].first >>> 8 && l <= QUERIES[n].last >>> 8),
  );
  assert.ok(name, `${c.id}: no query covers ${lris.map((l) => l.toString(16))}`);
  return { ...base, first: QUERIES[name].first, last: QUERIES[name].last, destination: h.source };
}

function compareRecords(id: string, real: Buffer, ours: Buffer, isIdentify: boolean): void {
  assert.equal(ours.subarray(0, 4).toString("hex"), real.subarray(0, 4).toString("hex"), `${id}: class/id/type`);
  const type = real[3];
  if (type === DataType.STRING) {
    // Real text fields may hold bytes after the NUL that ends the text (ny-typelabel-resp: fe ff ff 00); ours are zero.
    const end = real.indexOf(0, 8);
    assert.equal(ours.subarray(8, end).toString("latin1"), real.subarray(8, end).toString("latin1"), `${id}: text`);
    if (real.subarray(end, 40).some((b) => b !== 0)) used.add("string tail");
    assert.ok(
      ours.subarray(end, 40).every((b) => b === 0),
      `${id}: text padding`,
    );
    return;
  }
  for (let w = 0; 8 + 4 * w < real.length; w++) {
    if (isIdentify && IDENTIFY_VARYING_WORDS.includes(w)) {
      if (ours.readUInt32LE(8 + 4 * w) !== real.readUInt32LE(8 + 4 * w)) used.add("identify words");
      continue;
    }
    assert.equal(ours.readUInt32LE(8 + 4 * w), real.readUInt32LE(8 + 4 * w), `${id}: record word ${w}`);
  }
}

describe("simulated answers have the layout of real ones", () => {
  for (const c of loadCaptures().filter((x) => isInverterAnswer(x) && !decodeAnswer(bytes(x)).isLogin)) {
    it(`${c.id} (${c.device.slice(0, 40)})`, async () => {
      const realBuf = bytes(c);
      const real = decodeAnswer(realBuf);
      const req = requestFor(c, real);
      const isIdentify = sameFamily(req.command, Command.IDENTIFY);
      const query = findQuery(req.command, req.first, req.last);
      const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, ...twin(real, realBuf, query) });
      sims.push(s);
      const { port } = await s.start();
      if (real.header.errorCode !== ErrorCode.NOT_LOGGED_IN && !isIdentify) {
        const ok = await send(
          buildLogin({
            source: req.source,
            destination: req.destination,
            packetId: 1,
            group: "user",
            password: "0000",
            time: 1,
          }),
          port,
        );
        assert.equal(decodeAnswer(ok[0]).header.errorCode, ErrorCode.OK, `${c.id}: login`);
      }
      const build = isIdentify ? buildIdentify(req) : buildQuery({ ...req, query: req });
      const got = await send(build, port);
      assert.equal(got.length, 1, `${c.id}: one datagram`);
      const ours = got[0];
      const size = real.records[0]?.size ?? 0;
      const recs = (b: Buffer) =>
        Array.from({ length: (b.length - 58) / (size || 1) }, (_, i) => b.subarray(54 + i * size, 54 + (i + 1) * size));
      const realRecs = size ? recs(realBuf).filter((r) => !UNKNOWN_LRIS.includes(r.readUInt16LE(1))) : [];
      const ourRecs = size ? recs(ours) : [];
      if (realRecs.length < real.records.length) used.add("unknown lri");
      const unknown = real.records.filter((r) => !valueByLri(r.lri) && !isIdentify).map((r) => r.lri);
      assert.deepEqual(
        unknown.filter((l) => !UNKNOWN_LRIS.includes(l)),
        [],
        `${c.id}: value ids neither in the table nor excused`,
      );
      const sameCount = realRecs.length === real.records.length;
      // With records left out, the length fields and the last record index differ too.
      const skip = new Set([...CONTROL, ...(sameCount ? [] : [12, 13, 18, 50, 51, 52, 53])]);
      if (sameCount) assert.equal(ours.length, realBuf.length, `${c.id}: length`);
      for (let i = 0; i < 54 && i < realBuf.length; i++) {
        if (!skip.has(i))
          assert.equal(ours[i], realBuf[i], `${c.id}: header byte ${i}: ours ${ours.subarray(0, 54).toString("hex")}`);
      }
      if (!sameCount)
        assert.equal(decodeAnswer(ours).header.last - decodeAnswer(ours).header.first + 1, realRecs.length);
      assert.equal(ourRecs.length, realRecs.length, `${c.id}: record count`);
      // An attribute list spread over several records of one id is compared as one list (see enumSplit).
      const lriOf = (r: Buffer): number => r.readUInt16LE(1);
      const ofLri = (rs: Buffer[], l: number): Buffer[] => rs.filter((r) => lriOf(r) === l);
      const split = [...new Set(realRecs.map(lriOf))].filter(
        (l) => ofLri(realRecs, l).length > 1 && ofLri(realRecs, l)[0][3] === DataType.STATUS,
      );
      for (const l of split) {
        const [theirs, mine] = [ofLri(realRecs, l), ofLri(ourRecs, l)];
        if (theirs.every((r, i) => r.subarray(8).equals(mine[i].subarray(8)))) continue;
        assert.fail(`${c.id}: attribute list 0x${l.toString(16)} differs from the real one`);
      }
      const rest = (rs: Buffer[]): Buffer[] => rs.filter((r) => !split.includes(lriOf(r)));
      rest(realRecs).forEach((r, i) => compareRecords(c.id, r, rest(ourRecs)[i], isIdentify));
    });
  }

  it("each exception above is needed by some capture", () => {
    assert.deepEqual([...used].sort(), ["identify words", "string tail", "unknown lri"]);
  });
});

describe("simulated login answers have the layout of real ones", () => {
  for (const c of loadCaptures().filter((x) => x.kind === "inverter-response" && decodeAnswer(bytes(x)).isLogin)) {
    it(`${c.id}: same bytes apart from the control byte`, async () => {
      const realBuf = bytes(c);
      const { header: h, payload } = decodeInverterDatagram(realBuf);
      const echo = payload.length >= 20 ? payload.subarray(8, 20) : undefined;
      const group: UserGroupName = h.first === 0x0a ? "installer" : "user";
      const key = group === "user" ? 0x88 : 0xbb;
      const password = echo
        ? String.fromCharCode(...[...echo].filter((b) => b !== key).map((b) => b - key))
        : h.errorCode === ErrorCode.WRONG_PASSWORD
          ? "9999"
          : "0000";
      const s = new SimulatedInverter({
        port: 0,
        serial: h.source.serial,
        susyId: h.source.susyId,
        shortLoginAnswer: !echo,
        refuseLoginsMs: h.errorCode === ErrorCode.LOGIN_BUSY ? 60_000 : undefined,
      });
      sims.push(s);
      const { port } = await s.start();
      const pair = c.pairs_with ? decodeInverterDatagram(bytes(byId.get(c.pairs_with) as Capture)).header : undefined;
      const got = await send(
        buildLogin({
          source: h.destination,
          destination: pair?.destination,
          packetId: h.packetId,
          group,
          password,
          time: payload.readUInt32LE(0),
          timeoutS: h.last,
        }),
        port,
      );
      assert.equal(got[0].length, realBuf.length);
      for (let i = 0; i < realBuf.length; i++) if (i !== 19) assert.equal(got[0][i], realBuf[i], `byte ${i}`);
    });
  }
});

describe("simulated discovery answers have the layout of real ones", () => {
  it("the same tag sequence as a real discovery answer", async () => {
    const s = new SimulatedInverter({ port: 0 });
    sims.push(s);
    const got = await send(buildDiscovery(), (await s.start()).port);
    const tagsOf = (b: Buffer) =>
      readTags(b)
        .map((t) => `${t.tag}:${t.data.length}`)
        .join(",");
    const real = loadCaptures()
      .filter((c) => c.kind === "discovery-response" && !isInverterAnswer(c))
      .map((c) => tagsOf(bytes(c)));
    assert.ok(real.includes(tagsOf(got[0])), `${tagsOf(got[0])} not among ${real.join(" | ")}`);
  });
});
