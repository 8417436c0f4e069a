/**
 * Produce and fetch. Produce bodies are checked by hand (produce-body.ts) rather than by the JSON
 * schema validator: a body can hold thousands of records and this is the hottest route; the
 * schema still documents it in /openapi.json. Fetch answers are written as JSON bytes directly
 * (record-json.ts JsonBytes), stored JSON values copied in as they are.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ProduceBody, ProduceResponse, ProduceBatchResponse, FetchQuery, FetchResponse, PartitionInfoSchema } from '@webka/protocol';
import type { Acks, FetchResult, ProducedRecord } from '../../broker.js';
import type { TxnJoin } from '../../partitions/produce-path.js';
import { WebkaError } from '../../errors.js';
import { JsonBytes, readFormat, renderedSizeHint, writeRecord, type KeyFormat, type ValueFormat } from '../record-json.js';
import { parseProduceBody, scanProduceBody, ScannedProduce } from '../produce-body.js';
import { IdempotencyCache, type StoredAnswer } from '../idempotency.js';
import { toWebkaError, errorBody } from '../error-handler.js';
import { streamPartition, wantsEventStream } from '../streaming/sse-records.js';
import { forward, isForwarded } from '../forward.js';
import { SPLIT_SHARE, TXN_SHARE, splitProduce, splitProduceEncoded, type SplitContext } from '../produce-split.js';
import { forwardTo, txnCoordinatorElsewhere } from '../txn-routing.js';
import { installJsonParser } from '../json-body.js';
import { parseBinaryProduce } from '../record-batch-body.js';
import { RECORD_BATCH_CONTENT_TYPE } from '@webka/protocol';
import { clientGone } from '../client-gone.js';
import { DEFAULT_SCAN_RECORDS, recordMatcher, search } from '../record-match.js';

const TopicParams = Type.Object({ cluster: Type.String(), topic: Type.String() });
/** With the examples the docs page prefills: the default cluster and the topic its create-topic example makes. */
const ProduceParams = Type.Object({ cluster: Type.String({ examples: ['default'] }), topic: Type.String({ examples: ['events'] }) });
const PartitionParams = Type.Object({ cluster: Type.String(), topic: Type.String(), partition: Type.String({ pattern: '^[0-9]{1,9}$' }) });
const err = { $ref: 'Error#' };

function parseAcks(raw: unknown): Acks {
  if (raw === undefined || raw === 'all' || raw === '-1') return 'all';
  if (raw === '1') return 1;
  if (raw === '0') return 0;
  throw new WebkaError('INVALID_ACKS', `acks must be 0, 1 or all, got ${JSON.stringify(raw)}`);
}

function int(raw: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new WebkaError('INVALID_REQUEST', `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * The produce answer, {"records":[{"partition","offset","timestamp"}, ...]}, written by hand: the
 * same text as JSON.stringify gives (every field is a safe integer), several times faster for a
 * request of thousands of records.
 */
function renderProduced(results: readonly ProducedRecord[]): string {
  let out = '{"records":[';
  // Neighbouring records mostly share a partition and a timestamp: their text is built once.
  let partition = -1;
  let head = '';
  let timestamp = NaN;
  let tail = '';
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    if (r.partition !== partition) head = `{"partition":${(partition = r.partition)},"offset":`;
    if (r.timestamp !== timestamp) tail = `,"timestamp":${(timestamp = r.timestamp)}}`;
    out += (i > 0 ? ',' : '') + head + r.offset + tail;
  }
  return out + ']}';
}

/** Runs a transactional produce's shares once its partitions have joined the transaction, then releases the join (after the answer's durability). */
async function joined<T>(join: Promise<TxnJoin>, run: () => Promise<T>): Promise<T> {
  const j = await join;
  try {
    const out = await run();
    await j.durable();
    return out;
  } finally {
    j.release();
  }
}

export async function recordRoutes(app: FastifyInstance): Promise<void> {
  const { broker, config, idempotency, shutdown } = app.webka;
  // In this plugin's scope only: a JSON body is read from its bytes to its records in one pass
  // (scanProduceBody), and only a body that this declines is parsed, without the scans for
  // "__proto__" and "constructor" keys, which read a 1 MB produce body twice more. Produce bodies
  // are read field by field and any key other than the documented ones is refused
  // (parseProduceBody), so such a key can reach nothing. Errors (bad JSON, empty body, bodyLimit)
  // are the default parser's; the depth limit is checked as for every JSON body (json-body.ts).
  installJsonParser(app, 'ignore', 'ignore', (bytes) => scanProduceBody(bytes, config.maxRecordsPerRequest));
  // The binary produce body: its bytes as they came (record-batch-body.ts checks them).
  app.addContentTypeParser(RECORD_BATCH_CONTENT_TYPE, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  async function produce(request: FastifyRequest<{ Params: { cluster: string; topic: string }; Querystring: { acks?: string; transactionalId?: string } }>): Promise<StoredAnswer> {
    try {
      const acks = parseAcks(request.query.acks);
      const body = request.body;
      if (Buffer.isBuffer(body)) return await produceBinary(request, body, acks);
      if (request.query.transactionalId !== undefined) throw new WebkaError('INVALID_REQUEST', 'transactionalId goes in the JSON body; the query parameter is for binary bodies');
      const parsed = body instanceof ScannedProduce ? body.parsed : parseProduceBody(body, config.maxRecordsPerRequest);
      const { cluster, topic } = request.params;
      const tid = parsed.transactionalId;
      const txns = app.webka.transactions;
      const producer = parsed.producer;
      let results: ProducedRecord[];
      if (tid === undefined || producer === undefined || txns === undefined) {
        const split = splitContext(request, acks);
        results =
          (split === null ? null : await splitProduce(split, parsed.records, producer)) ??
          (await broker.produce(cluster, topic, parsed.records, { acks, producer, caller: request.principal, splitShare: isSplitShare(request) }));
      } else {
        // in a cluster the transaction's coordinator takes it, and sends the shares other brokers lead
        const coordinator = await txnCoordinatorElsewhere(app, request, cluster, tid);
        if (coordinator !== undefined) return { status: 0, body: '', coordinator };
        const txnProducer = { ...producer, transactional: true };
        const split = txnSplitContext(request, acks, tid);
        const partitions = split === null ? [] : [...new Set(broker.routeRecords(cluster, topic, parsed.records, txnProducer))];
        results =
          split !== null && partitions.some((p) => app.webka.replication!.leaderOf(cluster, topic, p) !== split.member.nodeId)
            ? await joined(txns.join(cluster, tid, producer, request.principal, topic, partitions), async () => (await splitProduce(split, parsed.records, txnProducer))!)
            : await broker.produce(cluster, topic, parsed.records, {
                acks,
                caller: request.principal,
                producer: txnProducer,
                joinTransaction: (partitions) => txns.join(cluster, tid, producer, request.principal, topic, partitions),
              });
      }
      if (acks === 0) return { status: 202, body: JSON.stringify({ accepted: results.length }) };
      return { status: 200, body: renderProduced(results) };
    } catch (e) {
      const w = toWebkaError(e);
      if (w.code === 'INTERNAL') request.log.error({ err: e }, 'produce failed');
      // forwarded only when nothing was written here (a batch written before this broker lost the
      // leadership is not stored a second time on the new leader: the client decides)
      const leader = w.code === 'NOT_LEADER' && w.details?.written !== true && typeof w.details?.leader === 'number' && w.details.leader >= 0 ? w.details.leader : undefined;
      return { status: w.status, body: errorBody(w.code, w.message, w.details), leader };
    }
  }

  /**
   * A binary body: RecordBatch v2 per partition, checked and appended as they are. The answer
   * names each partition's base offset (record i of its batch is at baseOffset + i) and, on a
   * LogAppendTime topic, the time every record got (else -1: records keep their own).
   */
  async function produceBinary(request: FastifyRequest<{ Params: { cluster: string; topic: string }; Querystring: { transactionalId?: string } }>, body: Buffer, acks: Acks): Promise<StoredAnswer> {
    const parsed = parseBinaryProduce(body, config.maxRecordsPerRequest);
    const { cluster, topic } = request.params;
    const tid = request.query.transactionalId;
    const txns = app.webka.transactions;
    const producer = parsed.producer;
    if (parsed.transactional !== (tid !== undefined)) {
      throw new WebkaError('INVALID_REQUEST', parsed.transactional ? 'transactional batches need ?transactionalId= (from POST /v1/clusters/{cluster}/transactions)' : 'with ?transactionalId= the batches are transactional (attributes bit 4) and carry the transaction\'s producer');
    }
    let results: Map<number, { baseOffset: number; logAppendTime: number }>;
    if (tid === undefined || producer === undefined || txns === undefined) {
      const split = splitContext(request, acks);
      results =
        (split === null ? null : await splitProduceEncoded(split, parsed.batches, producer)) ??
        (await broker.produceEncoded(cluster, topic, parsed.batches, { acks, producer, caller: request.principal, splitShare: isSplitShare(request) }));
    } else if (isForwarded(request) && request.headers[TXN_SHARE] === '1') {
      // a share that the transaction's coordinator sends, its partitions joined there: checked
      // with the coordinator all the same (a client can send these headers too), as a Kafka
      // client's batch is, so no batch opens a transaction that the coordinator does not know of
      results = await broker.produceEncoded(cluster, topic, parsed.batches, {
        acks,
        caller: request.principal,
        producer: { ...producer, transactional: true },
        splitShare: true,
        joinTransaction: (partitions) => txns.joinAtLeader(cluster, tid, producer, request.principal, topic, partitions),
      });
    } else {
      const coordinator = await txnCoordinatorElsewhere(app, request, cluster, tid);
      if (coordinator !== undefined) return { status: 0, body: '', coordinator };
      const split = txnSplitContext(request, acks, tid);
      const partitions = [...parsed.batches.keys()];
      results =
        split !== null && partitions.some((p) => app.webka.replication!.leaderOf(cluster, topic, p) !== split.member.nodeId)
          ? await joined(txns.join(cluster, tid, producer, request.principal, topic, partitions), async () => (await splitProduceEncoded(split, parsed.batches, { ...producer, transactional: true }))!)
          : await broker.produceEncoded(cluster, topic, parsed.batches, {
              acks,
              caller: request.principal,
              producer: { ...producer, transactional: true },
              joinTransaction: (partitions) => txns.join(cluster, tid, producer, request.principal, topic, partitions),
            });
    }
    if (acks === 0) return { status: 202, body: JSON.stringify({ accepted: parsed.records }) };
    let out = '{"partitions":[';
    let first = true;
    for (const [p, r] of results) {
      out += `${first ? '' : ','}{"partition":${p},"baseOffset":${r.baseOffset},"count":${parsed.batches.get(p)!.count},"logAppendTime":${r.logAppendTime}}`;
      first = false;
    }
    return { status: 200, body: out + ']}' };
  }

  app.post<{ Params: { cluster: string; topic: string }; Querystring: { acks?: string; transactionalId?: string } }>(
    '/clusters/:cluster/topics/:topic/records',
    {
      schema: {
        tags: ['records'],
        summary: 'Produce records (acks=all by default: answered once fsynced)',
        description:
          'Records go to their partition, else by key (murmur2, as Kafka clients), else to a sticky partition. Each partition\'s share is one atomic batch. ' +
          'Send Idempotency-Key to make a plain retry safe, or producerId/producerEpoch/sequence for exactly-once producing across restarts. ' +
          `With Content-Type ${RECORD_BATCH_CONTENT_TYPE} the body is binary: frames of a 4-byte big-endian partition number and one Kafka RecordBatch v2, ` +
          'appended as sent after their check (CRC-32C, lengths, record count, timestamps, producer fields); the producer fields are the request\'s producerId, producerEpoch and sequence (baseSequence); ' +
          'transactional batches name their transactional id in ?transactionalId=. The answer then gives each partition\'s baseOffset (docs/http-api.md#binary-produce).',
        params: ProduceParams,
        querystring: Type.Object({
          acks: Type.Optional(Type.String({ description: '0, 1 or all (default)' })),
          transactionalId: Type.Optional(Type.String({ description: `binary bodies only: the transactional id of transactional batches (a JSON body names it in "transactionalId")` })),
        }),
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ maxLength: 255 })) }),
        // the docs page prefills this; it must work as given (a test sends it)
        body: {
          content: {
            'application/json': { schema: { ...ProduceBody, examples: [{ records: [{ key: 'user-1', value: { page: '/home', ms: 132 } }] }] } },
            [RECORD_BATCH_CONTENT_TYPE]: { schema: { type: 'string', format: 'binary', description: 'partition frames: int32 partition, then a RecordBatch v2 (magic 2; uncompressed, gzip, snappy, lz4 or zstd)' } },
          },
        },
        response: { 200: Type.Union([ProduceResponse, ProduceBatchResponse]), 202: Type.Object({ accepted: Type.Integer() }), 400: err, 404: err, 409: err, 413: err, 415: err, 422: err, 503: err, 507: err },
      },
      // Checked by hand in parseProduceBody (see the file comment).
      validatorCompiler: () => () => true,
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      let answer: StoredAnswer;
      if (typeof key === 'string') {
        const body = request.body instanceof ScannedProduce ? request.body.json() : request.body;
        const fingerprint = IdempotencyCache.fingerprint('POST', request.url, body);
        answer = await idempotency.run(request.principal.name, key, fingerprint, () => produce(request));
      } else {
        answer = await produce(request);
      }
      // in a cluster a transaction's produce goes to its coordinator
      if (answer.coordinator !== undefined) return forwardTo(app, request, reply, answer.coordinator);
      // in a cluster a partition this broker does not lead: nothing was written, the leader answers
      if (answer.leader !== undefined) {
        const to = await leaderUrl(answer.leader, request);
        if (to !== undefined) return forward(request, reply, to, app.webka.cluster!.nodeId);
      }
      if (answer.status === 429 || answer.status === 503) reply.header('retry-after', '1');
      // A 200 answer is ASCII (renderProduced): sent as bytes copied from the text, it needs no
      // UTF-8 length scan and no encoding on the way to the socket (tens of KB per request).
      const body = answer.status === 200 ? Buffer.from(answer.body, 'latin1') : answer.body;
      return reply.code(answer.status).type('application/json; charset=utf-8').send(body);
    },
  );

  app.get<{ Params: { cluster: string; topic: string; partition: string }; Querystring: FetchQuery }>(
    '/clusters/:cluster/topics/:topic/partitions/:partition/records',
    {
      schema: {
        tags: ['records'],
        summary: 'Fetch records from one partition; with maxWaitMs, a long poll woken by the next append',
        params: PartitionParams,
        querystring: FetchQuery,
        response: { 200: FetchResponse, 400: err, 404: err, 416: err, 503: err },
      },
    },
    // Accept: text/event-stream turns the fetch into a stream (streaming/sse-records.ts).
    async (request, reply) => {
      if (!wantsEventStream(request)) return fetchPartition(request, reply);
      // in a cluster a stream is served from this broker's replica; one that holds none relays the leader's
      const to = await noReplicaHere(request.params.cluster, request.params.topic, Number(request.params.partition), request);
      return to !== undefined ? forward(request, reply, to, app.webka.cluster!.nodeId) : streamPartition(app.webka, request, reply, request.query);
    },
  );

  /** A share of a request another broker split by leader (it weakens only checks of the caller's own producer). */
  function isSplitShare(request: FastifyRequest): boolean {
    return isForwarded(request) && request.headers[SPLIT_SHARE] === '1';
  }

  /** In a cluster, for a request not forwarded already: what splitting it by partition leader needs. */
  function splitContext(request: FastifyRequest<{ Params: { cluster: string; topic: string } }>, acks: Acks): SplitContext | null {
    const { cluster: member, replication } = app.webka;
    if (member === undefined || replication === undefined || isForwarded(request)) return null;
    return { broker, member, replication, request, cluster: request.params.cluster, topic: request.params.topic, acks };
  }

  /**
   * In a cluster, at a transaction's coordinator: what splitting its produce by leader needs
   * (the request may have been forwarded here: the shares it sends are a second hop, and the last).
   */
  function txnSplitContext(request: FastifyRequest<{ Params: { cluster: string; topic: string } }>, acks: Acks, transactionalId: string): SplitContext | null {
    const { cluster: member, replication } = app.webka;
    if (member === undefined || replication === undefined) return null;
    return { broker, member, replication, request, cluster: request.params.cluster, topic: request.params.topic, acks, transactionalId };
  }

  /** In a cluster, the leader's URL when this broker holds no replica of the partition (its copy stays empty). */
  async function noReplicaHere(cluster: string, topic: string, partition: number, request: FastifyRequest): Promise<string | undefined> {
    const { replication, cluster: member } = app.webka;
    const t = replication === undefined ? undefined : broker.catalog.findTopic(cluster, topic);
    const state = t === undefined ? undefined : replication!.partitionState(t.id, partition);
    if (state === undefined || state.replicas.includes(member!.nodeId) || state.leader < 0) return undefined;
    return leaderUrl(state.leader, request);
  }

  /** The leader's URL to forward a request to: in a cluster, for a request not forwarded already. */
  async function leaderUrl(leader: number, request: FastifyRequest): Promise<string | undefined> {
    const member = app.webka.cluster;
    if (member === undefined || isForwarded(request) || leader === member.nodeId) return undefined;
    return member.brokerUrl(leader);
  }

  async function fetchPartition(
    request: FastifyRequest<{ Params: { cluster: string; topic: string; partition: string }; Querystring: FetchQuery }>,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    const q = request.query;
    const partition = Number(request.params.partition);
    // in a cluster the leader answers reads of a partition this broker does not lead
    const hooks = broker.partition(request.params.cluster, request.params.topic, partition).replica;
    if (hooks !== null && !hooks.leads) {
      const leader = app.webka.replication?.leaderOf(request.params.cluster, request.params.topic, partition);
      const to = leader === undefined ? undefined : await leaderUrl(leader, request);
      if (to !== undefined) return forward(request, reply, to, app.webka.cluster!.nodeId);
    }
    const maxRecords = int(q.maxRecords, 'maxRecords', 1, config.maxFetchRecords, 500);
    const maxBytes = int(q.maxBytes, 'maxBytes', 1, config.maxFetchBytes, config.defaultFetchBytes);
    const maxWaitMs = Math.min(int(q.maxWaitMs, 'maxWaitMs', 0, 1e9, 0), config.maxLongPollMs);
    if (q.offset !== undefined && q.timestamp !== undefined) throw new WebkaError('INVALID_REQUEST', 'give offset or timestamp, not both');
    const offset = q.offset === undefined ? undefined : q.offset === 'earliest' || q.offset === 'latest' ? q.offset : int(q.offset, 'offset', 0, Number.MAX_SAFE_INTEGER, 0);
    const timestamp = q.timestamp === undefined ? undefined : int(q.timestamp, 'timestamp', 0, 8_640_000_000_000_000, 0);
    const isolation = q.isolation;
    if (q.match === undefined && (q.matchIn !== undefined || q.maxScan !== undefined)) throw new WebkaError('INVALID_REQUEST', 'matchIn and maxScan go with match (the text to search for)');
    const maxScan = int(q.maxScan, 'maxScan', 1, config.maxFetchScanRecords, Math.min(DEFAULT_SCAN_RECORDS, config.maxFetchScanRecords));
    const gone = clientGone(request, reply, shutdown);
    try {
      const { cluster, topic } = request.params;
      let r: FetchResult;
      let scanned: number | undefined;
      if (q.match === undefined) r = await broker.fetch(cluster, topic, partition, { offset, timestamp, maxRecords, maxBytes, maxWaitMs, signal: gone.signal, isolation });
      else {
        // a search: steps of reads from the fetch's start (the first one waits as a fetch would)
        const read = (from: number | undefined, n: number): Promise<FetchResult> =>
          from === undefined
            ? broker.fetch(cluster, topic, partition, { offset, timestamp, maxRecords: n, maxBytes: config.maxFetchBytes, maxWaitMs, signal: gone.signal, isolation })
            : broker.fetch(cluster, topic, partition, { offset: from, maxRecords: n, maxBytes: config.maxFetchBytes, maxWaitMs: 0, signal: gone.signal, isolation });
        const found = await search(read, recordMatcher(q.match, q.matchIn ?? 'any'), { maxRecords, maxBytes, maxScan }, () => gone.signal.aborted);
        r = { ...found.last, records: found.records, nextOffset: found.nextOffset };
        scanned = found.scanned;
      }
      const keyFormat = (q.keyFormat ?? 'text') as KeyFormat;
      const valueFormat = readFormat(q.valueFormat);
      const out = new JsonBytes(renderedSizeHint(r.records));
      out.ascii('{"records":[');
      for (let i = 0; i < r.records.length; i++) {
        if (i > 0) out.ascii(',');
        writeRecord(out, r.records[i], keyFormat, valueFormat);
      }
      out.ascii(`],"nextOffset":${r.nextOffset},"highWatermark":${r.highWatermark},"lastStableOffset":${r.lastStableOffset},"logStartOffset":${r.logStartOffset}`);
      out.ascii(scanned === undefined ? '}' : `,"scanned":${scanned}}`);
      return reply.type('application/json; charset=utf-8').send(out.finish());
    } finally {
      gone.release();
    }
  }

  app.get<{ Params: { cluster: string; topic: string } }>(
    '/clusters/:cluster/topics/:topic/partitions',
    { schema: { tags: ['records'], summary: 'List a topic\'s partitions with their offsets', params: TopicParams, response: { 200: Type.Object({ partitions: Type.Array(PartitionInfoSchema) }), 404: err } } },
    async (request) => {
      const d = broker.describeTopic(request.params.cluster, request.params.topic);
      // in a cluster each partition's leader, epoch, replicas and ISR are the controller's (as the topic's description gives them)
      const replication = app.webka.replication;
      return { partitions: replication === undefined ? d.partitions : d.partitions.map((p) => ({ ...p, ...replication.view(d.topic.id, p.partition) })) };
    },
  );

  app.get<{ Params: { cluster: string; topic: string; partition: string }; Querystring: { timestamp?: string } }>(
    '/clusters/:cluster/topics/:topic/partitions/:partition/offsets',
    {
      schema: {
        tags: ['records'],
        summary: 'Earliest and latest offsets of a partition, and the first offset at or after a timestamp',
        params: PartitionParams,
        querystring: Type.Object({ timestamp: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}$' })) }),
        response: { 200: Type.Object({ earliest: Type.Integer(), latest: Type.Integer(), offsetForTimestamp: Type.Optional(Type.Integer()) }), 404: err },
      },
    },
    async (request) => {
      const ts = request.query.timestamp === undefined ? undefined : Number(request.query.timestamp);
      return broker.listOffsets(request.params.cluster, request.params.topic, Number(request.params.partition), ts);
    },
  );

}
