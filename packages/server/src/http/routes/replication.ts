/**
 * Routes between brokers of a cluster (not for clients; hidden from the API docs):
 *   GET /v1/internal/replicas/:topicId/:partition/fetch      a follower's fetch from the leader, as an HTTP request
 *   GET /v1/internal/replicas/:topicId/:partition/epoch-end  where an epoch ends in the leader's log (KIP-101)
 *   POST /v1/internal/clusters/:cluster/internal-topics/:name  the controller defines an internal topic (`__consumer_offsets`, `__transaction_state`)
 *       or the topic of a Durable Stream (cluster `streams`)
 *   DELETE /v1/internal/clusters/streams/internal-topics/:name  the controller deletes the topic of a Durable Stream
 *   GET /v1/internal/reads/:cluster/:topic/:partition   a group coordinator reads a partition it does not lead
 *   GET /v1/internal/replicas/channel?replica=N   (WebSocket) a follower's fetches from the leader,
 *       for every partition it follows on this broker, on one connection (replication/replica-channel.ts)
 * A fetch's answer is the leader's stored batches from `offset`, as bytes (application/octet-stream),
 * with its high watermark, log end and leader epoch in headers (on the channel: in the frame).
 */
import { setMaxListeners } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { WebkaError } from '../../errors.js';
import { encodeBatch } from '../../storage/record-batch.js';
import { OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIGS, OFFSETS_TOPIC_PARTITIONS } from '../../groups/offset-store.js';
import { TXN_TOPIC, TXN_TOPIC_CONFIGS, TXN_TOPIC_PARTITIONS } from '../../transactions/txn-state-log.js';

/** The internal topics brokers ask the controller to define: partitions and configs. */
const INTERNAL_TOPICS: Record<string, [number, Record<string, string | number>]> = {
  [OFFSETS_TOPIC]: [OFFSETS_TOPIC_PARTITIONS, OFFSETS_TOPIC_CONFIGS],
  [TXN_TOPIC]: [TXN_TOPIC_PARTITIONS, TXN_TOPIC_CONFIGS],
};
import { clientGone } from '../client-gone.js';
import type { ReplicaManager } from '../../replication/replica-manager.js';
import { STREAMS_CLUSTER } from '../../durable-streams/stream-store.js';
import { STREAM_RECORD_OVERHEAD, streamTopicConfigs, streamTopicName } from '../../durable-streams/cluster-streams.js';
import { HEARTBEAT_MS, encodeChannelAnswer, parseChannelFetch } from '../../replication/replica-channel.js';

/**
 * Fetches one replica channel may have in flight: a follower has one per partition it follows on
 * this broker, so this is maxPartitions' own ceiling. Each answer is at most the fetch's maxBytes
 * (1 MiB from a follower), as when each fetch was an HTTP request of its own.
 */
const CHANNEL_MAX_IN_FLIGHT = 1_000_000;

const Count = Type.String({ pattern: '^[0-9]{1,15}$' });

const FetchQuery = Type.Object({ offset: Count, replica: Count, durableEnd: Count, leaderEpoch: Count, maxWaitMs: Type.Optional(Count), maxBytes: Type.Optional(Count) });

const ReadQuery = Type.Object({ offset: Type.String({ pattern: '^(-1|[0-9]{1,15})$' }), isolation: Type.Union([Type.Literal('read_uncommitted'), Type.Literal('read_committed')]), maxWaitMs: Count, maxBytes: Count });

export async function replicationRoutes(app: FastifyInstance): Promise<void> {
  // A consumer's read of the leader's copy, for a broker that does not lead the partition (its
  // group coordinator): one batch of the records from `offset` as the leader reads them (aborted
  // transactions and markers left out for read_committed; each record keeps its offset), and the
  // partition's offsets in headers. Offset -1, or one outside the log, reads no records.
  app.get<{ Params: { cluster: string; topic: string; partition: string }; Querystring: { offset: string; isolation: 'read_uncommitted' | 'read_committed'; maxWaitMs: string; maxBytes: string } }>(
    '/internal/reads/:cluster/:topic/:partition',
    { schema: { hide: true, params: Type.Object({ cluster: Type.String(), topic: Type.String(), partition: Count }), querystring: ReadQuery } },
    async (request, reply) => {
      const { broker } = app.webka;
      const { cluster, topic } = request.params;
      const index = Number(request.params.partition);
      const p = broker.partition(cluster, topic, index);
      if (p.replica !== null && !p.replica.leads) throw new WebkaError('NOT_LEADER', `broker ${app.webka.cluster?.nodeId ?? '?'} does not lead partition ${index} of topic "${topic}"`, { leader: app.webka.replication?.leaderOf(cluster, topic, index) ?? -1 });
      const q = request.query;
      const offset = Number(q.offset);
      let body: Buffer = Buffer.alloc(0);
      let nextOffset = offset;
      if (offset >= p.logStartOffset && offset <= p.logEndOffset) {
        const gone = clientGone(request, reply, app.webka.shutdown);
        try {
          const r = await broker.fetch(cluster, topic, index, {
            offset,
            maxRecords: 100_000,
            maxBytes: Math.min(Math.max(Number(q.maxBytes), 1024), 64 << 20),
            maxWaitMs: Math.min(Number(q.maxWaitMs), 30_000),
            signal: gone.signal,
            isolation: q.isolation,
          });
          nextOffset = r.nextOffset;
          const base = r.records[0]?.offset;
          if (base !== undefined) body = encodeBatch(r.records.map((x) => ({ key: x.key, value: x.value, headers: x.headers, timestamp: x.timestamp, attributes: x.attributes, offsetDelta: x.offset - base })), base);
        } finally {
          gone.release();
        }
      }
      return reply
        .header('x-webka-next-offset', String(nextOffset))
        .header('x-webka-log-start-offset', String(p.logStartOffset))
        .header('x-webka-high-watermark', String(p.highWatermark))
        .header('x-webka-log-end-offset', String(p.logEndOffset))
        .type('application/octet-stream')
        .send(body);
    },
  );

  /** The replica manager, where this broker is the cluster's controller (NOT_CONTROLLER elsewhere). */
  const asController = (): ReplicaManager => {
    const { replication, cluster: member } = app.webka;
    if (replication === undefined || member === undefined) throw new WebkaError('NOT_CONTROLLER', 'this broker is not part of a cluster');
    if (member.term === null) throw new WebkaError('NOT_CONTROLLER', `broker ${member.nodeId} is not the controller; retry`);
    return replication;
  };

  app.post<{ Params: { cluster: string; name: string } }>(
    '/internal/clusters/:cluster/internal-topics/:name',
    { schema: { hide: true, params: Type.Object({ cluster: Type.String(), name: Type.String() }) } },
    async (request, reply) => {
      const { cluster, name } = request.params;
      if (cluster === STREAMS_CLUSTER) {
        // a Durable Stream's topic (durable-streams/cluster-streams.ts)
        await asController().ensureInternalTopic(STREAMS_CLUSTER, streamTopicName(name), 1, streamTopicConfigs(app.webka.config.bodyLimit + STREAM_RECORD_OVERHEAD), false);
        return reply.code(204).send();
      }
      const spec = Object.hasOwn(INTERNAL_TOPICS, name) ? INTERNAL_TOPICS[name] : undefined;
      if (spec === undefined) throw new WebkaError('INVALID_NAME', `the internal topics brokers define this way are ${Object.keys(INTERNAL_TOPICS).join(' and ')}, and the topics of Durable Streams`);
      await asController().ensureInternalTopic(cluster, name, spec[0], spec[1]);
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { cluster: string; name: string } }>(
    '/internal/clusters/:cluster/internal-topics/:name',
    { schema: { hide: true, params: Type.Object({ cluster: Type.String(), name: Type.String() }) } },
    async (request, reply) => {
      if (request.params.cluster !== STREAMS_CLUSTER) throw new WebkaError('INVALID_NAME', `brokers delete only the topics of Durable Streams this way (cluster "${STREAMS_CLUSTER}")`);
      await asController().deleteStreamTopic(STREAMS_CLUSTER, streamTopicName(request.params.name));
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { topicId: string; partition: string }; Querystring: { epoch: string; leaderEpoch: string } }>(
    '/internal/replicas/:topicId/:partition/epoch-end',
    { schema: { hide: true, params: Type.Object({ topicId: Type.String(), partition: Count }), querystring: Type.Object({ epoch: Type.String({ pattern: '^-?[0-9]{1,10}$' }), leaderEpoch: Count }) } },
    async (request) => {
      const replication = app.webka.replication;
      if (replication === undefined) throw new WebkaError('NOT_LEADER', 'this broker is not part of a cluster');
      return replication.leaderEpochEnd(request.params.topicId, Number(request.params.partition), { leaderEpoch: Number(request.query.leaderEpoch), epoch: Number(request.query.epoch) });
    },
  );

  // A follower's fetch as an HTTP request: what a broker of an earlier version sends, and a
  // follower of this version when the leader has no replica channel (a rolling upgrade).
  app.get<{ Params: { topicId: string; partition: string }; Querystring: Record<'offset' | 'replica' | 'durableEnd' | 'leaderEpoch', string> & { maxWaitMs?: string; maxBytes?: string } }>(
    '/internal/replicas/:topicId/:partition/fetch',
    { schema: { hide: true, params: Type.Object({ topicId: Type.String(), partition: Count }), querystring: FetchQuery } },
    async (request, reply) => {
      const replication = app.webka.replication;
      if (replication === undefined) throw new WebkaError('NOT_LEADER', 'this broker is not part of a cluster');
      const gone = clientGone(request, reply, app.webka.shutdown);
      try {
        const q = request.query;
        const a = await replication.leaderFetch(request.params.topicId, Number(request.params.partition), {
          offset: Number(q.offset),
          replica: Number(q.replica),
          durableEnd: Number(q.durableEnd),
          leaderEpoch: Number(q.leaderEpoch),
          maxWaitMs: Math.min(Number(q.maxWaitMs ?? 500), 30_000),
          maxBytes: Math.min(Math.max(Number(q.maxBytes ?? 1 << 20), 1024), 64 << 20),
          signal: gone.signal,
        });
        return reply
          .header('x-webka-high-watermark', String(a.highWatermark))
          .header('x-webka-log-end-offset', String(a.logEndOffset))
          .header('x-webka-leader-epoch', String(a.leaderEpoch))
          .type('application/octet-stream')
          .send(a.data);
      } finally {
        gone.release();
      }
    },
  );

  // DEBUG ONLY (WEBKA_DEBUG_NO_REPLICA_CHANNEL): a leader as a broker of an earlier version, with
  // the HTTP fetch alone (the rolling-upgrade test)
  if (app.webka.config.debugNoReplicaChannel) return;
  // The replica channel: the fetch above, many at once on one WebSocket (decision 0012). A fetch
  // frame the leader cannot read closes the channel (1008): only a broker opens one.
  app.get<{ Querystring: { replica: string } }>(
    '/internal/replicas/channel',
    {
      websocket: true,
      schema: { hide: true, querystring: Type.Object({ replica: Count }) },
      preValidation: async (request) => {
        if (!request.ws) throw new WebkaError('INVALID_REQUEST', '/v1/internal/replicas/channel is a WebSocket endpoint: connect with Upgrade: websocket');
      },
    },
    (socket, request) => {
      const replica = Number(request.query.replica);
      const gone = new AbortController();
      // every parked fetch of the channel listens for its end: one per partition followed here
      setMaxListeners(0, gone.signal);
      let inFlight = 0;
      const onShutdown = (): void => socket.close(1001, 'the broker is shutting down');
      app.webka.shutdown.addEventListener('abort', onShutdown, { once: true });
      // a follower cut off without a close (a link down) is let go after a silent heartbeat
      let heard = true;
      socket.on('pong', () => (heard = true));
      const beat = setInterval(() => {
        if (!heard) {
          socket.terminate();
          return;
        }
        heard = false;
        socket.ping();
      }, HEARTBEAT_MS).unref();
      socket.once('close', () => {
        clearInterval(beat);
        gone.abort();
        app.webka.shutdown.removeEventListener('abort', onShutdown);
      });
      socket.on('message', (data, binary) => {
        heard = true;
        let frame: ReturnType<typeof parseChannelFetch>;
        try {
          if (binary) throw new WebkaError('INVALID_REQUEST', 'a replica fetch is a text frame');
          frame = parseChannelFetch((data as Buffer).toString('utf8'));
        } catch (err) {
          socket.close(1008, (err as Error).message.slice(0, 120));
          return;
        }
        const { id, fetch } = frame;
        // a follower has one fetch in flight per partition, and reads its answers as they come
        if (++inFlight > CHANNEL_MAX_IN_FLIGHT) {
          socket.close(1008, `more than ${CHANNEL_MAX_IN_FLIGHT} fetches in flight on one replica channel`);
          return;
        }
        const replication = app.webka.replication;
        const answer = replication === undefined
          ? Promise.reject(new WebkaError('NOT_LEADER', 'this broker is not part of a cluster'))
          : replication.leaderFetch(fetch.topicId, fetch.partition, { ...fetch, replica, signal: gone.signal });
        answer.then(
          (a) => encodeChannelAnswer({ id, highWatermark: a.highWatermark, logEndOffset: a.logEndOffset, leaderEpoch: a.leaderEpoch }, a.data),
          (err: unknown) => encodeChannelAnswer({ id, error: { code: err instanceof WebkaError ? err.code : 'INTERNAL', message: (err as Error).message } }),
        ).then((bytes) => {
          inFlight--;
          if (socket.readyState === socket.OPEN) socket.send(bytes);
        }, () => undefined);
      });
    },
  );
}
