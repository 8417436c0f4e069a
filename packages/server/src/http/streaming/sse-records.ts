/**
 * SSE streams of records: one partition from an offset, or a whole topic (every partition,
 * including ones added while the stream is open). Each record is one `event: record` whose
 * `data:` is the fetch API's record JSON and whose `id:` is the position to resume from
 * (protocol/src/sse.ts): for a partition the next offset, for a topic every partition's.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SseEvent, TOPIC_POSITION_PREFIX } from '@webka/protocol';
import type { AppContext } from '../app.js';
import { topicReader } from '../topic-reader.js';
import type { Isolation, Partition, PartitionRead } from '../../partitions/partition.js';
import { WebkaError } from '../../errors.js';
import { readFormat, type KeyFormat, type ReadValueFormat } from '../record-json.js';
import { Follower } from './follower.js';
import { partitionStart, topicStart, type StartRequest } from './positions.js';
import type { SseStream } from './sse-stream.js';
import { renderedRecords, sharedBytes } from './shared-reads.js';
import { acceptsEventStream } from '../accept.js';
import { streamingHub } from './streaming-hub.js';

/** Records per read: with streamReadBytes, bounds one delivery's text. */
const READ_RECORDS = 1000;

export interface StreamQuery {
  offset?: string;
  timestamp?: string;
  keyFormat?: string;
  valueFormat?: string;
  isolation?: Isolation;
}

/** True when the client asked for an event stream (EventSource sends Accept: text/event-stream). */
export function wantsEventStream(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  // HEAD gets the plain answer's headers: a stream without a body would never end
  return request.method === 'GET' && acceptsEventStream(accept);
}

function lastEventId(request: FastifyRequest): string | undefined {
  const h = request.headers['last-event-id'];
  const v = Array.isArray(h) ? h[0] : h;
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function startRequest(request: FastifyRequest, q: StreamQuery): StartRequest {
  const offset = q.offset === undefined || q.offset === 'earliest' || q.offset === 'latest' || q.offset.startsWith(TOPIC_POSITION_PREFIX) ? q.offset : Number(q.offset);
  return { offset, timestamp: q.timestamp === undefined ? undefined : Number(q.timestamp), resume: lastEventId(request) };
}

/**
 * `id: <position>\nevent: record\ndata: <record>\n\n` for every record of a read. Ids are
 * `idHead + next offset + idTail` (both empty for a partition stream), so streams at the same
 * position share one Buffer (shared-reads.ts).
 */
function recordEvents(read: PartitionRead, keyFormat: KeyFormat, valueFormat: ReadValueFormat, prefix: string, idHead: string, idTail: string, base: number): Buffer {
  return sharedBytes(read, `sse ${keyFormat} ${valueFormat} ${prefix} ${idHead} ${idTail}`, () => {
    const json = renderedRecords(read, keyFormat, valueFormat, prefix);
    let out = '';
    const last = read.records.length - 1;
    for (let i = 0; i <= last; i++) {
      // The last event's id is the read's next offset, which also skips offsets the log lacks.
      const next = i === last ? read.nextOffset : read.records[i].offset + 1;
      out += `id: ${idHead}${next.toString(base)}${idTail}\nevent: ${SseEvent.record}\ndata: ${json[i]}\n\n`;
    }
    return out;
  });
}

interface Begun {
  stream: SseStream;
  follow(partitions: readonly Partition[], positions: number[], render: (p: Partition, read: PartitionRead, positions: readonly number[]) => Buffer): Follower;
}

/** Checks the limits, then takes the response over; nothing is streamed before this passes. */
function begin(ctx: AppContext, request: FastifyRequest<{ Params: { cluster: string; topic: string } }>, reply: FastifyReply, isolation: Isolation | undefined): Begun {
  const hub = streamingHub(ctx);
  if (hub.stopping) throw new WebkaError('SHUTTING_DOWN', 'the broker is shutting down');
  const stream = hub.openSseStream(request.ip, reply);
  const reader = topicReader(request.server, request);
  const mayRead = reader === undefined ? undefined : () => reader(request.params.topic);
  return {
    stream,
    follow(partitions, positions, render) {
      const follower = new Follower(partitions, positions, {
        deliver(p, read, pos) {
          const ok = stream.write(render(p, read, pos));
          if (!ok) stream.whenDrained(() => follower.resume());
          return ok;
        },
        fail: (err) => stream.fail(err),
      }, { maxBytes: hub.config.streamReadBytes, maxRecords: READ_RECORDS, isolation, mayRead });
      stream.onClose(() => follower.close());
      follower.start();
      return follower;
    },
  };
}

function formats(q: StreamQuery): [KeyFormat, ReadValueFormat] {
  return [(q.keyFormat ?? 'text') as KeyFormat, readFormat(q.valueFormat)];
}

/** GET .../partitions/{p}/records with Accept: text/event-stream. */
export function streamPartition(
  ctx: AppContext,
  request: FastifyRequest<{ Params: { cluster: string; topic: string; partition: string } }>,
  reply: FastifyReply,
  q: StreamQuery,
): FastifyReply {
  const { cluster, topic } = request.params;
  const p = ctx.broker.partition(cluster, topic, Number(request.params.partition));
  const start = partitionStart(ctx.broker, p, startRequest(request, q));
  const [keyFormat, valueFormat] = formats(q);
  const { follow } = begin(ctx, request, reply, q.isolation);
  // partition ids are the next offset in decimal (protocol/src/sse.ts encodePartitionPosition)
  follow([p], [start], (_p, read) => recordEvents(read, keyFormat, valueFormat, '', '', '', 10));
  return reply;
}

/** GET .../topics/{t}/records with Accept: text/event-stream. */
export function streamTopic(ctx: AppContext, request: FastifyRequest<{ Params: { cluster: string; topic: string } }>, reply: FastifyReply, q: StreamQuery): FastifyReply {
  const { cluster, topic } = request.params;
  const partitions = ctx.broker.topicPartitions(cluster, topic);
  const start = topicStart(ctx.broker, partitions, startRequest(request, q));
  const [keyFormat, valueFormat] = formats(q);
  const { stream, follow } = begin(ctx, request, reply, q.isolation);
  const follower = follow(partitions, start, (p, read, positions) => {
    // The id names every partition; only this partition's entry changes along the read.
    let head = TOPIC_POSITION_PREFIX;
    for (let i = 0; i < p.index; i++) head += positions[i].toString(36) + '.';
    let tail = '';
    for (let i = p.index + 1; i < positions.length; i++) tail += '.' + positions[i].toString(36);
    return recordEvents(read, keyFormat, valueFormat, `"partition":${p.index},`, head, tail, 36);
  });
  // A topic that gains partitions is announced as a change of its cluster's topics.
  const unwatch = ctx.broker.onTopicsChanged((changed) => {
    if (changed === cluster) follower.addPartitions();
  });
  stream.onClose(unwatch);
  return reply;
}
