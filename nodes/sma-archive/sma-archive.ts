/**
 * sma-archive: reads the inverter's own history for a time range: 5-minute yields (day archive), daily yields
 * (month archive) or the event log of the user or installer group. Range from the node (last N hours / days) or from
 * msg.payload.from / .to; one message with an array, or one message per record.
 *
 * The node is its settings (archiveSettings), one read of the range (readRange), msg.sma of a read (smaOf) or of a
 * failed one (failureSma), and the messages it sends (sendRecords).
 */
import type { ArchiveReadResult, InverterSession, SmaError } from "../../src/client";
import { type DroppedRecords, type EventGroup, type EventRecord, type YieldRecord } from "../../src/protocol";
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { ARCHIVE_SPAN, wholeNumber } from "../../src/client/settings-rules";
import { bindSession, failureInfo } from "../shared/query-node";
import { SPANS, eventPayload, ms, rangeOf, seconds, yieldPayload, type Archive } from "../shared/archive";

interface ArchiveDef extends NodeDef {
  inverter?: string;
  topic?: string;
  archive?: string;
  group?: string;
  span?: string | number;
  output?: string;
  nextMidnight?: boolean;
  outage?: string;
}

/** The node's settings, read. */
interface ArchiveSettings {
  archive: Archive;
  group: EventGroup;
  /** The default range: the last `span` hours (day archive) or days. */
  span: number;
  /** One message per record (else one with the array). */
  each: boolean;
  topic?: string;
  nextMidnight: boolean;
}

/** One read: the device's answer, the records as payloads and what the day archive dropped. */
interface ArchiveRead {
  result: ArchiveReadResult<YieldRecord | EventRecord>;
  payload: unknown[];
  dropped?: DroppedRecords;
}

type Range = { from: number; to: number };
type Send = (msg: NodeMessage | NodeMessage[][]) => void;

function archiveSettings(c: ArchiveDef): ArchiveSettings {
  const archive: Archive = c.archive === "month" || c.archive === "events" ? c.archive : "day";
  return {
    archive,
    group: c.group === "installer" ? "installer" : "user",
    span: wholeNumber(c.span, ARCHIVE_SPAN[archive]) ?? SPANS[archive].def,
    each: c.output === "each",
    topic: c.topic,
    nextMidnight: c.nextMidnight === true,
  };
}

/** Reads the range: the event log of the group, or the yields of the archive (with the daily stamp detected). */
function readRange(session: InverterSession, s: ArchiveSettings, range: Range): Promise<ArchiveRead> {
  const { archive, group } = s;
  const wanted = seconds(range);
  return archive === "events"
    ? session
        .readEvents(group, wanted)
        .then((result) => ({ result, payload: result.records.map((e) => eventPayload(e, group)) }))
    : session
        .readArchive(archive, wanted, { dailyAtNextMidnight: s.nextMidnight, detectDailyStamp: true })
        .then((result) => ({ result, ...yieldPayload(result, archive, range) }));
}

/** msg.sma of a read. */
function smaOf(session: InverterSession, s: ArchiveSettings, range: Range, read: ArchiveRead): Record<string, unknown> {
  const { result, payload, dropped } = read;
  return {
    serial: result.device.serial,
    susyId: result.device.susyId,
    address: session.address,
    archive: s.archive,
    group: s.archive === "events" ? s.group : undefined,
    from: range.from,
    to: range.to,
    count: payload.length,
    held: ms(result.held),
    dropped,
    dailyStamp: "dailyStamp" in result ? result.dailyStamp : undefined,
  };
}

/** msg.topic and msg.sma of a failed read ("null" mode): no records, the state and error saying why. */
function failureSma(
  session: InverterSession,
  s: ArchiveSettings,
  range: Range,
  err: SmaError,
): { topic: string; sma: Record<string, unknown> } {
  const serial = session.identity?.serial ?? null;
  return {
    topic: s.topic || `sma/${serial ?? "unknown"}/archive/${s.archive}`,
    sma: {
      serial,
      susyId: session.identity?.susyId ?? null,
      address: session.address,
      archive: s.archive,
      group: s.archive === "events" ? s.group : undefined,
      from: range.from,
      to: range.to,
      count: null,
      held: null,
      ...failureInfo(session, err),
    },
  };
}

/** One message with the records, or one per record (none when there is none). */
function sendRecords(send: Send, msg: NodeMessageInFlow, s: ArchiveSettings, read: ArchiveRead, sma: unknown): void {
  const topic = s.topic || `sma/${read.result.device.serial}/archive/${s.archive}`;
  if (s.each) {
    if (read.payload.length > 0) send([read.payload.map((p) => ({ ...msg, payload: p, topic, sma }))]);
  } else send({ ...msg, payload: read.payload, topic, sma });
}

export = (RED: NodeAPI): void => {
  RED.nodes.registerType("sma-archive", function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const c = def as ArchiveDef;
    const s = archiveSettings(c);
    const bound = bindSession(RED, this, c, `@speedwire/node-red-sma/sma-archive:label.default.${s.archive}`);
    if (!bound) return;
    const { session } = bound;

    this.on("input", (msg, send, done) => {
      let range: Range;
      bound.start();
      try {
        range = rangeOf(msg.payload, s.archive, s.span);
      } catch (e) {
        return bound.fail(e, done);
      }
      readRange(session, s, range).then(
        (read) => {
          if (bound.closed()) return done();
          const sma = smaOf(session, s, range, read);
          bound.ok();
          sendRecords(send, msg, s, read, sma);
          done();
        },
        (e: unknown) =>
          bound.fail(e, done, (err) => send({ ...msg, payload: null, ...failureSma(session, s, range, err) })),
      );
    });
  });
};
