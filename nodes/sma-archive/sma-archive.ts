/**
 * sma-archive: reads the inverter's own history for a time range: 5-minute yields (day archive), daily yields
 * (month archive) or the event log of the user or installer group. Range from the node (last N hours / days) or from
 * msg.payload.from / .to; one message with an array, or one message per record.
 */
import type { ArchiveReadResult } from "../../src/client";
import { type DroppedRecords, type EventGroup, type EventRecord, type YieldRecord } from "../../src/protocol";
import type { Node, NodeAPI, NodeDef } from "node-red";
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

export = (RED: NodeAPI): void => {
  RED.nodes.registerType("sma-archive", function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const c = def as ArchiveDef;
    const archive: Archive = c.archive === "month" || c.archive === "events" ? c.archive : "day";
    const group: EventGroup = c.group === "installer" ? "installer" : "user";
    const span = wholeNumber(c.span, ARCHIVE_SPAN[archive]) ?? SPANS[archive].def;
    const each = c.output === "each";
    const bound = bindSession(RED, this, c, `@speedwire/node-red-sma/sma-archive:label.default.${archive}`);
    if (!bound) return;
    const { session } = bound;

    this.on("input", (msg, send, done) => {
      let range: { from: number; to: number };
      bound.start();
      try {
        range = rangeOf(msg.payload, archive, span);
      } catch (e) {
        return bound.fail(e, done);
      }
      const wanted = seconds(range);
      const read: Promise<{
        result: ArchiveReadResult<YieldRecord | EventRecord>;
        payload: unknown[];
        dropped?: DroppedRecords;
      }> =
        archive === "events"
          ? session
              .readEvents(group, wanted)
              .then((result) => ({ result, payload: result.records.map((e) => eventPayload(e, group)) }))
          : session
              .readArchive(archive, wanted, { dailyAtNextMidnight: c.nextMidnight === true, detectDailyStamp: true })
              .then((result) => ({ result, ...yieldPayload(result, archive, range) }));
      read.then(
        ({ result, payload, dropped }) => {
          if (bound.closed()) return done();
          const topic = c.topic || `sma/${result.device.serial}/archive/${archive}`;
          const sma = {
            serial: result.device.serial,
            susyId: result.device.susyId,
            address: session.address,
            archive,
            group: archive === "events" ? group : undefined,
            from: range.from,
            to: range.to,
            count: payload.length,
            held: ms(result.held),
            dropped,
            dailyStamp: "dailyStamp" in result ? result.dailyStamp : undefined,
          };
          bound.ok();
          if (each) {
            if (payload.length > 0) send([payload.map((p) => ({ ...msg, payload: p, topic, sma }))]);
          } else send({ ...msg, payload, topic, sma });
          done();
        },
        (e: unknown) =>
          bound.fail(e, done, (err) => {
            // "null" mode: one message without records (payload null, whatever the output setting), saying why.
            const serial = session.identity?.serial ?? null;
            send({
              ...msg,
              payload: null,
              topic: c.topic || `sma/${serial ?? "unknown"}/archive/${archive}`,
              sma: {
                serial,
                susyId: session.identity?.susyId ?? null,
                address: session.address,
                archive,
                group: archive === "events" ? group : undefined,
                from: range.from,
                to: range.to,
                count: null,
                held: null,
                ...failureInfo(session, err),
              },
            });
          }),
      );
    });
  });
};
