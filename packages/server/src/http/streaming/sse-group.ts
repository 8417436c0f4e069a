/**
 * The SSE stream of a consumer-group member: GET .../groups/{group}/members/{member}/records with
 * Accept: text/event-stream (negotiated on the poll route in routes/groups.ts). The member joins
 * over REST first; the stream then delivers its partitions' records, announces its assignment in
 * an `event: rebalance` first and after every rebalance, and keeps its session alive.
 *
 * Record ids are group positions (protocol/src/sse.ts): an at-least-once member that reconnects
 * with Last-Event-ID carries on exactly after the last record the client received; it commits
 * with POST .../members/{member}/offsets (the stream does not commit for it; join it with
 * autoCommit false, or the poll's auto-commit will commit what was only sent).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeGroupPosition, encodeGroupPosition, SseEvent, type GroupPositionEntry } from '@webka/protocol';
import type { AppContext } from '../app.js';
import type { GroupCoordinator } from '../../groups/group-coordinator.js';
import type { Isolation } from '../../partitions/partition.js';
import { tpKey } from '../../groups/assignor.js';
import { WebkaError } from '../../errors.js';
import { readFormat, renderRecord, type KeyFormat } from '../record-json.js';
import { GroupFollower } from './group-follower.js';
import { dataLine, sseEvent, type SseStream } from './sse-stream.js';
import { streamingHub } from './streaming-hub.js';

export interface GroupStreamQuery {
  maxRecords?: string;
  keyFormat?: string;
  valueFormat?: string;
  isolation?: Isolation;
}

export function streamGroupMember(
  ctx: AppContext,
  coordinator: GroupCoordinator,
  request: FastifyRequest<{ Params: { cluster: string; group: string; member: string } }>,
  reply: FastifyReply,
  q: GroupStreamQuery,
): FastifyReply {
  const { cluster, group, member } = request.params;
  const hub = streamingHub(ctx);
  if (hub.stopping) throw new WebkaError('SHUTTING_DOWN', 'the broker is shutting down');
  const keyFormat = (q.keyFormat ?? 'text') as KeyFormat;
  const valueFormat = readFormat(q.valueFormat);
  const positions = new Map<string, GroupPositionEntry>();
  let stream: SseStream | undefined;
  const follower = new GroupFollower(coordinator, cluster, group, member, {
    rebalance(m) {
      // the id names the partitions the member owns now, where it stands in each
      const owner = follower.member();
      positions.clear();
      for (const tp of m.assignment) {
        const at = owner.positions.get(tpKey(tp.topic, tp.partition));
        if (at !== undefined) positions.set(tpKey(tp.topic, tp.partition), { topic: tp.topic, partition: tp.partition, offset: at });
      }
      stream!.write(sseEvent(SseEvent.rebalance, JSON.stringify(m)));
    },
    deliver(records) {
      let out = '';
      for (const { topic, partition, record } of records) {
        const key = tpKey(topic, partition);
        positions.set(key, { topic, partition, offset: record.offset + 1 });
        const json = renderRecord(record, keyFormat, valueFormat, `"topic":${JSON.stringify(topic)},"partition":${partition},`);
        out += `id: ${encodeGroupPosition([...positions.values()])}\nevent: ${SseEvent.record}\ndata: ${dataLine(json)}\n\n`;
      }
      const ok = stream!.write(out);
      if (!ok) stream!.whenDrained(() => follower.resume());
      return ok;
    },
    fail: (err) => stream!.fail(err),
  }, { maxRecords: Number(q.maxRecords ?? 0), maxBytes: hub.config.streamReadBytes, maxWaitMs: Math.max(1000, hub.config.maxLongPollMs), isolation: q.isolation });

  // Everything that can fail does so before the stream starts, with a status.
  follower.member();
  const last = request.headers['last-event-id'];
  if (typeof last === 'string' && last.trim() !== '') {
    const entries = decodeGroupPosition(last.trim());
    if (entries === null) throw new WebkaError('INVALID_OFFSET', `Last-Event-ID ${JSON.stringify(last.slice(0, 40))} is not a group stream position ("g:" and topic:partition:offset entries)`);
    follower.resumeAt(entries);
  }
  stream = hub.openSseStream(request.ip, reply);
  stream.onClose(() => follower.close());
  follower.start();
  return reply;
}
