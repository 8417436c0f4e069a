/**
 * The authorisation matrix's ownership dimension: for every HTTP route (REST, SSE, WebSocket,
 * Durable Streams) and every Kafka API, a second principal presents the ids the first one
 * obtained -- group member id, producer id and name, Idempotency-Key, transactional id, Durable
 * Streams Producer-Id, Kafka fetch session id -- and is refused, and the first principal's state
 * (its member, generation and offsets, its transaction, the topic's ends, its stream) is what it
 * was. Ids cross transports too: a member joined over REST is presented to the Kafka listener, a
 * transactional id initialised over REST to InitProducerId.
 *
 * Driven by the route table: every route of src/http/route-permissions.ts and every Kafka API
 * of src/kafka/apis/index.ts is either in OWNED (with its probes) or in NO_OWNED_ID (with why
 * it takes no id another principal could present), so a new route cannot be added without an
 * entry. Principals are those of teams.ts: team-a owns; team-b (write on orders-1) and the
 * intruder (read on every group, write on the cluster) present team-a's ids, each where its ACLs
 * let the request through to the ownership check.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RecordBatchBuilder, RECORD_BATCH_CONTENT_TYPE } from '@webka/protocol';
import { startTeams, type Teams } from './teams.js';
import { SseClient } from '../support/sse-client.js';
import { WsClient } from '../support/ws-client.js';
import { RawKafka } from '../support/raw-kafka.js';
import { ROUTE_PERMISSIONS } from '../../src/http/route-permissions.js';
import { API_HANDLERS } from '../../src/kafka/apis/index.js';
import { Fetch, InitProducerId, Produce } from '../../src/kafka/messages-core.js';
import { Heartbeat, JoinGroup, LeaveGroup, OffsetCommit, SyncGroup } from '../../src/kafka/messages-groups.js';
import { DescribeGroups } from '../../src/kafka/messages-admin.js';
import { AddOffsetsToTxn, AddPartitionsToTxn, EndTxn, TxnOffsetCommit } from '../../src/kafka/messages-txn.js';
import type { Message } from '../../src/kafka/schema.js';

const C = '/v1/clusters/default';
const RECORDS = `${C}/topics/orders-1/records`;
const GROUP_NAME = 'orders-x';
const GROUP = `${C}/groups/${GROUP_NAME}`;
const TXN = 'billing-tx';
const STREAM = '/v1/stream/owned-log';

/** What team-a obtained. */
interface Owned {
  memberId: string;
  generation: number;
  producerId: number;
  producerEpoch: number;
  /** team-a's next sequence for producerId */
  nextSeq: number;
  named: { producerId: number; producerEpoch: number };
  idemKey: string;
  idemAnswer: string;
  txn: { producerId: number; producerEpoch: number };
  fetchSessionId: number;
}

let t: Teams;
let o: Owned;
let kafkaA: RawKafka;
let kafkaIntruder: RawKafka;
let kafkaB: RawKafka;

before(async () => {
  t = await startTeams();
  const must = async (r: Promise<{ status: number; text: string; body: any }>, status: number): Promise<any> => {
    const a = await r;
    assert.equal(a.status, status, a.text);
    return a.body;
  };
  // a stream every principal may use, so that only ownership refuses
  await must(t.call(t.admin, 'POST', '/v1/acls', { principal: '*', operations: ['read', 'write', 'describe'], resource: { type: 'topic', name: '*', cluster: 'streams' } }), 201);
  await must(t.call(t.admin, 'PUT', STREAM, undefined, { 'content-type': 'text/plain' }), 201);
  const dsA = await t.call(t.teamA, 'POST', STREAM, 'a0|', { 'content-type': 'text/plain', 'producer-id': 'writer', 'producer-epoch': '0', 'producer-seq': '0' });
  assert.equal(dsA.status, 200, dsA.text);

  const join = await must(t.call(t.teamA, 'POST', `${GROUP}/members`, { topics: ['orders-1'], autoOffsetReset: 'earliest', autoCommit: false, clientId: 'team-a-app' }), 201);
  const polled = await must(t.call(t.teamA, 'GET', `${GROUP}/members/${join.memberId}/records?maxWaitMs=2000&maxRecords=1`), 200);
  assert.equal(polled.records.length, 1);
  await must(t.call(t.teamA, 'POST', `${GROUP}/members/${join.memberId}/offsets`, {}), 200);
  const generation = (await must(t.call(t.admin, 'GET', GROUP), 200)).generation as number;

  const p = await must(t.call(t.teamA, 'POST', `${C}/producers`), 201);
  await must(t.call(t.teamA, 'POST', RECORDS, { producerId: p.producerId, producerEpoch: p.producerEpoch, sequence: 0, records: [{ value: 'a-seq0', partition: 0 }] }), 200);
  const named = await must(t.call(t.teamA, 'POST', `${C}/producers`, { name: 'billing-x' }), 201);
  const idem = await t.call(t.teamA, 'POST', RECORDS, { records: [{ value: 'a-idem', partition: 0 }] }, { 'idempotency-key': 'x-key' });
  assert.equal(idem.status, 200, idem.text);
  const txn = await must(t.call(t.teamA, 'POST', `${C}/transactions`, { transactionalId: TXN }), 200);
  await must(t.call(t.teamA, 'POST', RECORDS, { transactionalId: TXN, producerId: txn.producerId, producerEpoch: txn.producerEpoch, sequence: 0, records: [{ value: 'a-txn', partition: 1 }] }), 200);

  const port = t.broker.server.kafkaPort!;
  kafkaA = await RawKafka.connect(port, 'team-a', t.teamA);
  kafkaB = await RawKafka.connect(port, 'team-b', t.teamB);
  kafkaIntruder = await RawKafka.connect(port, 'intruder', t.intruder);
  const session = await kafkaA.call(Fetch, 11, fetchBody(0, 0));
  assert.equal(session.errorCode, 0);
  assert.notEqual(session.sessionId, 0);

  o = {
    memberId: join.memberId,
    generation,
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    nextSeq: 1,
    named: { producerId: named.producerId, producerEpoch: named.producerEpoch },
    idemKey: 'x-key',
    idemAnswer: idem.text,
    txn: { producerId: txn.producerId, producerEpoch: txn.producerEpoch },
    fetchSessionId: session.sessionId,
  };
});

after(async () => {
  kafkaA?.close();
  kafkaB?.close();
  kafkaIntruder?.close();
  await t.broker.close();
});

function fetchBody(sessionId: number, sessionEpoch: number): Message {
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId,
    sessionEpoch,
    topics: [{ topic: 'orders-1', partitions: [0, 1].map((partition) => ({ partition, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 })) }],
    forgottenTopicsData: [],
    rackId: '',
  };
}

/** team-a's state as the admin sees it: a refused probe leaves it exactly so. */
async function ownerState(): Promise<string> {
  const g = await t.call(t.admin, 'GET', GROUP);
  const x = await t.call(t.admin, 'GET', `${C}/transactions/${TXN}`);
  const s = await t.call(t.admin, 'HEAD', STREAM);
  return JSON.stringify({
    generation: g.body.generation,
    members: g.body.members,
    // committed positions (high watermarks and lag are in ends)
    offsets: g.body.offsets.map((x: Record<string, unknown>) => [x.topic, x.partition, x.committed, x.metadata]),
    txn: { ...x.body, ageMs: undefined },
    ends: t.ends(),
    stream: s.headers.get('stream-next-offset'),
  });
}

type Probe = { label: string; run: () => Promise<void>; /** the request is rightly a write of the presenter's own (a key or name in its own namespace) */ writesOwn?: true };

function refused(r: { status: number; text: string; body: any }, status: number, code: RegExp | string, what: string): void {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
  if (typeof code === 'string') assert.equal(r.body.error.code, code, what);
  else assert.match(r.body.error.code, code, what);
  // nothing of team-a's beyond the id presented (a member id starts with its client id)
  assert.ok(!r.text.replaceAll(o.memberId, '<presented>').includes('team-a'), `${what} names team-a: ${r.text}`);
}

/** Runs `body` while `principal` may also `operation` topic orders-1, so that only ownership refuses. */
async function withGrant(principal: string, operation: string, body: () => Promise<void>): Promise<void> {
  const grant = await t.call(t.admin, 'POST', '/v1/acls', { principal, operations: [operation], resource: { type: 'topic', name: 'orders-1' } });
  assert.equal(grant.status, 201, grant.text);
  try {
    await body();
  } finally {
    await t.call(t.admin, 'DELETE', `/v1/acls/${grant.body.id}`);
  }
}

const member = (rest = '') => `${GROUP}/members/${o.memberId}${rest}`;

async function wsAnswer(key: string, frame: Record<string, unknown>): Promise<any> {
  const ws = await WsClient.connect(t.url, { authorization: `Bearer ${key}` });
  try {
    const answer = await ws.request({ id: 1, ...frame });
    assert.equal(ws.frames.filter((f) => f.type === 'records').length, 0, 'records were delivered');
    return answer;
  } finally {
    ws.close();
  }
}

function batch(value: string, producer: { producerId: number; producerEpoch: number; baseSequence: number }, transactional = false): Buffer {
  const b = new RecordBatchBuilder();
  b.append(null, value, Date.now());
  return Buffer.from(b.finish(0, { ...producer, ...(transactional ? { transactional: true } : {}) }));
}

/** HTTP routes that take an id another principal obtained, with the probes that present it. */
const OWNED: Record<string, Probe[]> = {
  'POST /v1/clusters/:cluster/topics/:topic/records': [
    {
      label: 'JSON produce with team-a\'s producer id and next sequence',
      run: async () => refused(await t.call(t.teamB, 'POST', RECORDS, { producerId: o.producerId, producerEpoch: o.producerEpoch, sequence: o.nextSeq, records: [{ value: 'b', partition: 0 }] }), 404, 'PRODUCER_NOT_FOUND', 'team-b'),
    },
    {
      label: 'binary produce with team-a\'s producer id',
      run: async () => {
        const res = await fetch(t.url + RECORDS, { method: 'POST', headers: { authorization: `Bearer ${t.teamB}`, 'content-type': RECORD_BATCH_CONTENT_TYPE }, body: batch('b', { producerId: o.producerId, producerEpoch: o.producerEpoch, baseSequence: o.nextSeq }) });
        const text = await res.text();
        refused({ status: res.status, text, body: JSON.parse(text) }, 404, 'PRODUCER_NOT_FOUND', 'team-b binary');
      },
    },
    {
      label: 'transactional produce with team-a\'s transactional id and its producer',
      run: async () => {
        await withGrant('intruder', 'write', async () => {
          const r = await t.call(t.intruder, 'POST', RECORDS, { transactionalId: TXN, ...o.txn, sequence: 1, records: [{ value: 'i', partition: 0 }] });
          assert.ok(r.status === 403 || r.status === 404, `intruder: ${r.status} ${r.text}`);
        });
      },
    },
    {
      label: 'team-a\'s Idempotency-Key and body: team-b gets its own answer',
      writesOwn: true,
      run: async () => {
        const r = await t.call(t.teamB, 'POST', RECORDS, { records: [{ value: 'a-idem', partition: 0 }] }, { 'idempotency-key': o.idemKey });
        assert.equal(r.status, 200, r.text);
        assert.notEqual(r.text, o.idemAnswer, 'team-b was handed team-a\'s answer');
      },
    },
  ],
  'POST /v1/clusters/:cluster/producers': [
    {
      label: 'team-a\'s producer name: the intruder gets a producer of its own',
      writesOwn: true,
      run: async () => {
        const r = await t.call(t.intruder, 'POST', `${C}/producers`, { name: 'billing-x' });
        assert.equal(r.status, 201, r.text);
        assert.notEqual(r.body.producerId, o.named.producerId);
      },
    },
  ],
  'POST /v1/clusters/:cluster/transactions': [
    { label: 'init team-a\'s transactional id', run: async () => refused(await t.call(t.intruder, 'POST', `${C}/transactions`, { transactionalId: TXN }), 403, 'FORBIDDEN', 'intruder') },
  ],
  'GET /v1/clusters/:cluster/transactions': [
    {
      label: 'list: team-a\'s transactional id is not shown',
      run: async () => {
        const r = await t.call(t.intruder, 'GET', `${C}/transactions`);
        assert.equal(r.status, 200, r.text);
        assert.ok(!r.text.includes(TXN), r.text);
      },
    },
  ],
  'GET /v1/clusters/:cluster/transactions/:transactionalId': [
    {
      label: 'describe team-a\'s transactional id',
      run: async () => {
        const r = await t.call(t.intruder, 'GET', `${C}/transactions/${TXN}`);
        assert.ok(r.status === 403 || r.status === 404, `${r.status} ${r.text}`);
        assert.ok(!r.text.includes('orders-1'), r.text);
      },
    },
  ],
  'POST /v1/clusters/:cluster/transactions/:transactionalId/offsets': [
    {
      label: 'commit offsets in team-a\'s transaction',
      run: async () => {
        // with read on the group and the topic, only ownership stands in the way
        await withGrant('intruder', 'read', async () => {
          const r = await t.call(t.intruder, 'POST', `${C}/transactions/${TXN}/offsets`, { ...o.txn, groupId: GROUP_NAME, generation: o.generation, memberId: o.memberId, offsets: [{ topic: 'orders-1', partition: 0, offset: 0 }] });
          assert.ok(r.status === 403 || r.status === 404, `${r.status} ${r.text}`);
        });
      },
    },
  ],
  'POST /v1/clusters/:cluster/transactions/:transactionalId/commit': [
    { label: 'commit team-a\'s transaction', run: async () => refused(await t.call(t.intruder, 'POST', `${C}/transactions/${TXN}/commit`, o.txn), 403, 'FORBIDDEN', 'intruder') },
  ],
  'POST /v1/clusters/:cluster/transactions/:transactionalId/abort': [
    { label: 'abort team-a\'s transaction (with its producer)', run: async () => refused(await t.call(t.intruder, 'POST', `${C}/transactions/${TXN}/abort`, o.txn), 403, 'FORBIDDEN', 'intruder') },
    { label: 'abort team-a\'s transaction (an operator\'s abort)', run: async () => refused(await t.call(t.intruder, 'POST', `${C}/transactions/${TXN}/abort`), 403, 'FORBIDDEN', 'intruder') },
  ],
  'GET /v1/clusters/:cluster/groups/:group': [
    {
      label: 'describe shows none of team-a\'s member nor its offsets',
      run: async () => {
        const r = await t.call(t.intruder, 'GET', GROUP);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.body.members, []);
        assert.deepEqual(r.body.offsets, []);
      },
    },
  ],
  'GET /v1/clusters/:cluster/groups/:group/offsets': [
    {
      label: 'offsets of topics the caller cannot read are not shown',
      run: async () => {
        const r = await t.call(t.intruder, 'GET', `${GROUP}/offsets`);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.body.offsets, []);
      },
    },
  ],
  'GET /v1/clusters/:cluster/groups/:group/members/:member/records': [
    { label: 'poll as team-a\'s member', run: async () => refused(await t.call(t.intruder, 'GET', member('/records?maxWaitMs=0')), 404, 'MEMBER_NOT_FOUND', 'intruder') },
    {
      label: 'SSE as team-a\'s member',
      run: async () => {
        const sse = await SseClient.open(`${t.url}${member('/records')}`, { authorization: `Bearer ${t.intruder}` });
        sse.close();
        refused({ status: sse.status, body: sse.errorBody, text: JSON.stringify(sse.errorBody) }, 404, 'MEMBER_NOT_FOUND', 'intruder SSE');
      },
    },
  ],
  'POST /v1/clusters/:cluster/groups/:group/members/:member/heartbeat': [
    { label: 'heartbeat as team-a\'s member', run: async () => refused(await t.call(t.intruder, 'POST', member('/heartbeat')), 404, 'MEMBER_NOT_FOUND', 'intruder') },
  ],
  'PUT /v1/clusters/:cluster/groups/:group/members/:member/subscription': [
    { label: 'resubscribe team-a\'s member', run: async () => refused(await t.call(t.intruder, 'PUT', member('/subscription'), { pattern: 'orders-.*' }), 404, 'MEMBER_NOT_FOUND', 'intruder') },
  ],
  'DELETE /v1/clusters/:cluster/groups/:group/members/:member': [
    { label: 'remove team-a\'s member', run: async () => refused(await t.call(t.intruder, 'DELETE', member()), 404, 'MEMBER_NOT_FOUND', 'intruder') },
  ],
  'POST /v1/clusters/:cluster/groups/:group/members/:member/offsets': [
    { label: 'commit as team-a\'s member', run: async () => refused(await t.call(t.intruder, 'POST', member('/offsets'), {}), 404, 'MEMBER_NOT_FOUND', 'intruder') },
  ],
  'GET /v1/ws': [
    {
      label: 'WebSocket subscribe as team-a\'s member',
      run: async () => {
        const a = await wsAnswer(t.intruder, { type: 'subscribe', cluster: 'default', group: GROUP_NAME, memberId: o.memberId });
        assert.equal(a.type, 'error', JSON.stringify(a));
        assert.equal(a.error.code, 'MEMBER_NOT_FOUND');
      },
    },
    {
      label: 'WebSocket produce with team-a\'s producer id',
      run: async () => {
        const a = await wsAnswer(t.teamB, { type: 'produce', cluster: 'default', topic: 'orders-1', producerId: o.producerId, producerEpoch: o.producerEpoch, sequence: o.nextSeq, records: [{ value: 'b', partition: 0 }] });
        assert.equal(a.type, 'error', JSON.stringify(a));
        assert.equal(a.error.code, 'PRODUCER_NOT_FOUND');
      },
    },
  ],
  'POST /v1/stream/*': [
    {
      label: 'Durable Streams append under team-a\'s Producer-Id, epoch and next seq: team-b\'s own producer',
      writesOwn: true,
      run: async () => {
        const r = await t.call(t.teamB, 'POST', STREAM, 'b|', { 'content-type': 'text/plain', 'producer-id': 'writer', 'producer-epoch': '0', 'producer-seq': '1' });
        assert.ok(r.status === 200 || r.status === 204 || r.status === 409, `${r.status} ${r.text}`);
      },
    },
    {
      label: 'Durable Streams append under team-a\'s Producer-Id with a higher epoch does not fence team-a',
      writesOwn: true,
      run: async () => {
        const r = await t.call(t.teamB, 'POST', STREAM, 'b9|', { 'content-type': 'text/plain', 'producer-id': 'writer', 'producer-epoch': '9', 'producer-seq': '0' });
        assert.ok(r.status < 300, `${r.status} ${r.text}`);
      },
    },
  ],
};

/** HTTP routes that take no id another principal obtained, and why. */
const NO_OWNED_ID: Record<string, string> = {
  'GET /': 'public',
  'GET /health': 'public',
  'GET /ready': 'public',
  'GET /openapi.json': 'public',
  'GET /console': 'public',
  'GET /console/': 'public',
  'GET /console/*': 'public',
  'OPTIONS /v1/stream/*': 'public (CORS preflight)',
  'GET /metrics': 'broker-wide, describe on the cluster *',
  'GET /v1/whoami': 'the caller itself',
  'GET /v1/broker': 'totals over what the caller may see',
  'GET /v1/brokers': 'broker list',
  'GET /v1/topic-configs': 'static config docs',
  'GET /v1/internal/replicas/:topicId/:partition/fetch': 'brokers only (the inter-broker secret)',
  'GET /v1/internal/replicas/:topicId/:partition/epoch-end': 'brokers only (the inter-broker secret)',
  'GET /v1/internal/replicas/channel': 'brokers only (the inter-broker secret); a WebSocket of replica fetches (topic ids and offsets, no id of a principal)',
  'GET /v1/internal/reads/:cluster/:topic/:partition': 'brokers only (the inter-broker secret)',
  'GET /v1/internal/auth/revision': 'brokers only (the inter-broker secret); takes a revision number, no id of a principal',
  'POST /v1/internal/clusters/:cluster/internal-topics/:name': 'brokers only (the inter-broker secret); names an internal topic, no id of a principal',
  'DELETE /v1/internal/clusters/:cluster/internal-topics/:name': 'brokers only (the inter-broker secret); names the topic of a Durable Stream, no id of a principal',
  'POST /v1/internal/clusters/:cluster/transactions': 'brokers only (the inter-broker secret); the coordinator passes on the caller it has checked (its principal), and the answering broker checks the ids again as that principal',
  'POST /v1/clusters/:cluster/topics/:topic/partitions/:partition/reassignment': 'alter on the cluster; names brokers, no id another principal obtained',
  'GET /v1/clusters/:cluster/topics/:topic/partitions/:partition/reassignment': 'describe on the cluster; a partition, no owned id',
  'GET /v1/reassignments': 'describe on the cluster; lists moves, no owned id',
  'POST /v1/preferred-leader-election': 'alter on the cluster; takes topics and partitions, no owned id',
  'POST /v1/brokers/:nodeId/drain': 'alter on the cluster; a broker id is the cluster\'s, not a principal\'s',
  'GET /v1/brokers/:nodeId/drain': 'describe on the cluster; a broker id, no owned id',
  'DELETE /v1/brokers/:nodeId/drain': 'alter on the cluster; a broker id, no owned id',
  'GET /v1/clusters': 'filtered by describe',
  'POST /v1/clusters': 'names a new cluster: create ACL',
  'GET /v1/clusters/:cluster': 'cluster ACL',
  'PATCH /v1/clusters/:cluster': 'cluster ACL',
  'DELETE /v1/clusters/:cluster': 'cluster ACL',
  'GET /v1/clusters/:cluster/topics': 'filtered by describe',
  'POST /v1/clusters/:cluster/topics': 'topic ACL; a name collision names no hidden topic (leaks-and-files.test.ts)',
  'GET /v1/clusters/:cluster/topics/:topic': 'topic ACL',
  'PATCH /v1/clusters/:cluster/topics/:topic': 'topic ACL',
  'DELETE /v1/clusters/:cluster/topics/:topic': 'topic ACL',
  'GET /v1/clusters/:cluster/topics/:topic/partitions': 'topic ACL',
  'GET /v1/clusters/:cluster/topics/:topic/partitions/:partition/records': 'topic ACL (offsets are not owned)',
  'GET /v1/clusters/:cluster/topics/:topic/records': 'topic ACL (SSE of a topic)',
  'GET /v1/clusters/:cluster/topics/:topic/partitions/:partition/offsets': 'topic ACL',
  'GET /v1/clusters/:cluster/groups': 'filtered by describe',
  'DELETE /v1/clusters/:cluster/groups/:group': 'delete on the group: an admin action',
  'POST /v1/clusters/:cluster/groups/:group/members': 'joins a new member of the caller (group and topic read)',
  'POST /v1/clusters/:cluster/groups/:group/offsets': 'group and topic read, as Kafka\'s memberless commit',
  'POST /v1/clusters/:cluster/groups/:group/offsets/reset': 'alter on the group: an admin action',
  'PUT /v1/stream/*': 'creates a stream: create ACL',
  'GET /v1/stream/*': 'topic ACL of the stream (offsets are not owned)',
  'DELETE /v1/stream/*': 'delete ACL',
  'GET /v1/streams': 'filtered by describe',
  'GET /v1/principals': 'superusers only',
  'POST /v1/principals': 'superusers only',
  'GET /v1/principals/:principal': 'superusers and the principal itself',
  'DELETE /v1/principals/:principal': 'superusers only',
  'GET /v1/principals/:principal/keys': 'superusers and the principal itself',
  'POST /v1/principals/:principal/keys': 'superusers and the principal itself',
  'DELETE /v1/principals/:principal/keys/:keyId': 'superusers and the principal itself',
  'GET /v1/acls': 'superusers only',
  'POST /v1/acls': 'superusers only',
  'DELETE /v1/acls/:aclId': 'superusers only',
  'POST /v1/tokens': 'mints for the caller, within its own rights',
};

const DESCRIBE_RETRIABLE = 0;
const UNKNOWN_MEMBER_ID = 25;
const INCONSISTENT_GROUP_PROTOCOL = 23;
const UNKNOWN_PRODUCER_ID = 59;
const FETCH_SESSION_ID_NOT_FOUND = 70;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53;

function produceRequest(value: string, producer: { producerId: number; producerEpoch: number; baseSequence: number }, transactionalId: string | null = null): Message {
  const records = batch(value, producer, transactionalId !== null).subarray(4);
  return { transactionalId, acks: -1, timeoutMs: 5_000, topicData: [{ name: 'orders-1', partitionData: [{ index: 0, records }] }] };
}

/** Kafka APIs that take an id another principal obtained (over HTTP or Kafka), with probes. */
const KAFKA_OWNED: Record<string, Probe[]> = {
  Produce: [
    {
      label: 'Kafka Produce with team-a\'s (HTTP) producer id',
      run: async () => {
        const r = await kafkaB.call(Produce, 3, produceRequest('b', { producerId: o.producerId, producerEpoch: o.producerEpoch, baseSequence: o.nextSeq }));
        assert.equal(r.responses[0].partitionResponses[0].errorCode, UNKNOWN_PRODUCER_ID);
      },
    },
  ],
  InitProducerId: [
    {
      label: 'InitProducerId for team-a\'s (HTTP) transactional id',
      run: async () => {
        const r = await kafkaIntruder.call(InitProducerId, 0, { transactionalId: TXN, transactionTimeoutMs: 60_000 });
        assert.equal(r.errorCode, TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
        assert.equal(Number(r.producerId), -1);
      },
    },
  ],
  AddPartitionsToTxn: [
    {
      label: 'AddPartitionsToTxn to team-a\'s transaction',
      run: async () => {
        const r = await kafkaIntruder.call(AddPartitionsToTxn, 0, { transactionalId: TXN, ...o.txn, topics: [{ name: 'orders-1', partitions: [0] }] });
        assert.notEqual(r.results[0].results[0].errorCode, 0);
      },
    },
  ],
  AddOffsetsToTxn: [
    {
      label: 'AddOffsetsToTxn to team-a\'s transaction',
      run: async () => assert.notEqual((await kafkaIntruder.call(AddOffsetsToTxn, 0, { transactionalId: TXN, ...o.txn, groupId: GROUP_NAME })).errorCode, 0),
    },
  ],
  TxnOffsetCommit: [
    {
      label: 'TxnOffsetCommit in team-a\'s transaction as team-a\'s member',
      run: async () => {
        const r = await kafkaIntruder.call(TxnOffsetCommit, 3, { transactionalId: TXN, groupId: GROUP_NAME, ...o.txn, generationId: o.generation, memberId: o.memberId, groupInstanceId: null, topics: [] });
        assert.equal(r.topics.length, 0);
      },
    },
  ],
  EndTxn: [
    { label: 'EndTxn (commit) of team-a\'s transaction', run: async () => assert.notEqual((await kafkaIntruder.call(EndTxn, 0, { transactionalId: TXN, ...o.txn, committed: true })).errorCode, 0) },
    { label: 'EndTxn (abort) of team-a\'s transaction', run: async () => assert.notEqual((await kafkaIntruder.call(EndTxn, 0, { transactionalId: TXN, ...o.txn, committed: false })).errorCode, 0) },
  ],
  JoinGroup: [
    {
      label: 'JoinGroup naming team-a\'s (HTTP) member id',
      run: async () => {
        const r = await kafkaIntruder.call(JoinGroup, 4, { groupId: GROUP_NAME, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: o.memberId, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] });
        // an HTTP group with members takes no Kafka member at all
        assert.equal(r.errorCode, INCONSISTENT_GROUP_PROTOCOL, JSON.stringify(r));
        assert.deepEqual(r.members, []);
      },
    },
  ],
  SyncGroup: [
    {
      label: 'SyncGroup as team-a\'s (HTTP) member',
      run: async () => {
        const r = await kafkaIntruder.call(SyncGroup, 0, { groupId: GROUP_NAME, generationId: o.generation, memberId: o.memberId, assignments: [] });
        assert.equal(r.errorCode, UNKNOWN_MEMBER_ID);
        assert.equal(r.assignment.length, 0);
      },
    },
  ],
  Heartbeat: [
    { label: 'Heartbeat as team-a\'s (HTTP) member', run: async () => assert.equal((await kafkaIntruder.call(Heartbeat, 0, { groupId: GROUP_NAME, generationId: o.generation, memberId: o.memberId })).errorCode, UNKNOWN_MEMBER_ID) },
  ],
  LeaveGroup: [
    { label: 'LeaveGroup of team-a\'s (HTTP) member', run: async () => assert.equal((await kafkaIntruder.call(LeaveGroup, 0, { groupId: GROUP_NAME, memberId: o.memberId })).errorCode, UNKNOWN_MEMBER_ID) },
  ],
  OffsetCommit: [
    {
      label: 'OffsetCommit as team-a\'s (HTTP) member',
      run: async () => {
        const r = await kafkaIntruder.call(OffsetCommit, 2, { groupId: GROUP_NAME, generationId: o.generation, memberId: o.memberId, retentionTimeMs: -1, topics: [{ name: 'orders-1', partitions: [{ partitionIndex: 0, committedOffset: 0, committedMetadata: null }] }] });
        assert.notEqual(r.topics[0].partitions[0].errorCode, 0);
      },
    },
  ],
  DescribeGroups: [
    {
      label: 'DescribeGroups shows none of team-a\'s members',
      run: async () => {
        const r = await kafkaIntruder.call(DescribeGroups, 0, { groups: [GROUP_NAME] });
        assert.equal(r.groups[0].errorCode, DESCRIBE_RETRIABLE);
        assert.deepEqual(r.groups[0].members, []);
      },
    },
  ],
  Fetch: [
    {
      label: 'Fetch naming team-a\'s fetch session',
      run: async () => {
        await withGrant('team-b', 'read', async () => {
          for (const epoch of [1, -1]) {
            const r = await kafkaB.call(Fetch, 11, fetchBody(o.fetchSessionId, epoch));
            assert.ok(r.errorCode === FETCH_SESSION_ID_NOT_FOUND || r.sessionId !== o.fetchSessionId, `team-b used team-a's session (epoch ${epoch}): ${r.errorCode}`);
          }
        });
      },
    },
  ],
};

const KAFKA_NO_OWNED_ID: Record<string, string> = {
  ApiVersions: 'no object',
  SaslHandshake: 'authentication',
  SaslAuthenticate: 'authentication',
  Metadata: 'topic ACLs',
  DescribeCluster: 'cluster ACL',
  ListOffsets: 'topic ACLs',
  OffsetForLeaderEpoch: 'topic ACLs',
  FindCoordinator: 'names a group or transactional id only to locate it',
  OffsetFetch: 'group and topic ACLs (offsets are the group\'s)',
  ListGroups: 'filtered by describe',
  DeleteGroups: 'delete on the group: an admin action',
  CreateTopics: 'topic ACLs',
  DeleteTopics: 'topic ACLs',
  CreatePartitions: 'topic ACLs',
  DescribeConfigs: 'topic and cluster ACLs',
  AlterConfigs: 'topic and cluster ACLs',
  IncrementalAlterConfigs: 'topic and cluster ACLs',
};

test('every HTTP route and every Kafka API has an entry in the ownership dimension', () => {
  const registered = new Set(t.broker.server.app.security.routes.filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`));
  for (const k of Object.keys(ROUTE_PERMISSIONS)) if (!k.startsWith('HEAD ')) registered.add(k);
  const missing = [...registered].filter((k) => !k.startsWith('GET /docs') && OWNED[k] === undefined && NO_OWNED_ID[k] === undefined);
  assert.deepEqual(missing, [], 'add these routes to OWNED (with probes) or NO_OWNED_ID (with why) here');
  const both = Object.keys(OWNED).filter((k) => NO_OWNED_ID[k] !== undefined);
  assert.deepEqual(both, []);
  const stale = [...Object.keys(OWNED), ...Object.keys(NO_OWNED_ID)].filter((k) => !registered.has(k));
  assert.deepEqual(stale, [], 'entries for routes that no longer exist');
  const apis = [...API_HANDLERS.values()].map((h) => h.def.name);
  assert.deepEqual(apis.filter((n) => KAFKA_OWNED[n] === undefined && KAFKA_NO_OWNED_ID[n] === undefined), [], 'add these Kafka APIs to KAFKA_OWNED or KAFKA_NO_OWNED_ID');
  assert.deepEqual([...Object.keys(KAFKA_OWNED), ...Object.keys(KAFKA_NO_OWNED_ID)].filter((n) => !apis.includes(n)), []);
});

test('a second principal presenting the first one\'s ids is refused on every route and transport, and the first one\'s state is unchanged', async () => {
  let checked = 0;
  const all = [...Object.entries(OWNED), ...Object.entries(KAFKA_OWNED).map(([k, v]) => [`Kafka ${k}`, v] as const)];
  for (const [route, probes] of all) {
    for (const p of probes) {
      const before = await ownerState();
      try {
        await p.run();
      } catch (e) {
        (e as Error).message = `${route} -- ${p.label}: ${(e as Error).message}`;
        throw e;
      }
      const after = await ownerState();
      if (p.writesOwn === true) {
        // its own write moves the ends; everything of team-a's stays
        const strip = (s: string) => JSON.stringify({ ...JSON.parse(s), ends: undefined, stream: undefined });
        assert.equal(strip(after), strip(before), `${route} -- ${p.label}: team-a's state changed`);
      } else {
        assert.equal(after, before, `${route} -- ${p.label}: a refused request changed team-a's state`);
      }
      checked++;
    }
  }
  console.log(`ownership dimension: ${checked} probes over ${all.length} routes and APIs`);

  // and team-a carries on with every object as if nothing had happened
  const poll = await t.call(t.teamA, 'POST', member('/heartbeat'));
  assert.equal(poll.status, 200, `team-a's member: ${poll.text}`);
  const next = await t.call(t.teamA, 'POST', RECORDS, { producerId: o.producerId, producerEpoch: o.producerEpoch, sequence: o.nextSeq, records: [{ value: 'a-seq1', partition: 0 }] });
  assert.equal(next.status, 200, `team-a's next sequence: ${next.text}`);
  const read = await t.call(t.admin, 'GET', `${C}/topics/orders-1/partitions/0/records?offset=${next.body.records[0].offset}`);
  assert.equal(read.body.records[0].value, 'a-seq1', 'team-a\'s next sequence was answered as a duplicate');
  const named = await t.call(t.teamA, 'POST', RECORDS, { ...o.named, sequence: 0, records: [{ value: 'a-named', partition: 1 }] });
  assert.equal(named.status, 200, `team-a's named producer was fenced: ${named.text}`);
  const replay = await t.call(t.teamA, 'POST', RECORDS, { records: [{ value: 'a-idem', partition: 0 }] }, { 'idempotency-key': o.idemKey });
  assert.equal(replay.text, o.idemAnswer, 'team-a\'s retry was not answered as the first time');
  const commit = await t.call(t.teamA, 'POST', `${C}/transactions/${TXN}/commit`, o.txn);
  assert.equal(commit.status, 200, `team-a's transaction: ${commit.text}`);
  const ds = await t.call(t.teamA, 'POST', STREAM, 'a1|', { 'content-type': 'text/plain', 'producer-id': 'writer', 'producer-epoch': '0', 'producer-seq': '1' });
  assert.equal(ds.status, 200, `team-a's stream producer: ${ds.status} ${ds.text}`);
  const session = await kafkaA.call(Fetch, 11, fetchBody(o.fetchSessionId, 1));
  assert.equal(session.errorCode, 0, 'team-a\'s fetch session');
  assert.equal(session.sessionId, o.fetchSessionId);
});
