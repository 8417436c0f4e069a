/**
 * The reads the web console is built on, with auth on: GET /v1/broker counts only what the caller
 * may see, GET /v1/topic-configs documents every config, describe answers carry the caller's
 * authorizedOperations, whoami lists the ACLs that apply, and GET /v1/streams is filtered.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Webka } from '@webka/client';
import { startSecureBroker, type Cast } from './secure-broker.js';
import { TOPIC_CONFIGS } from '../../src/catalog/topic-config.js';

let cast: Cast;

before(async () => {
  cast = await startSecureBroker();
  const admin = new Webka({ url: cast.url, token: cast.admin }).admin();
  await admin.createTopic({ name: 'hidden', partitions: 3 });
  const stream = await fetch(`${cast.url}/v1/stream/chat/room-1`, { method: 'PUT', headers: { authorization: `Bearer ${cast.admin}`, 'content-type': 'application/json' } });
  assert.equal(stream.status, 201);
});

after(() => cast.broker.close());

test('GET /v1/broker counts only the topics the caller may describe', async () => {
  const asAdmin = await new Webka({ url: cast.url, token: cast.admin }).admin().describeBroker();
  const asAlice = await new Webka({ url: cast.url, token: cast.alice }).admin().describeBroker();
  const asBob = await new Webka({ url: cast.url, token: cast.bob }).admin().describeBroker();
  assert.equal(asAdmin.authEnabled, true);
  assert.deepEqual(asAdmin.brokers.map((b) => [b.brokerId, b.controller, b.alive]), [[0, true, true]]);
  assert.equal(asAdmin.brokers[0].port, Number(new URL(cast.url).port));
  // admin: scores (2) + hidden (3) + the stream's topic (1) + internal topics; alice: scores only
  assert.ok(asAdmin.totals.topics >= 3, JSON.stringify(asAdmin.totals));
  assert.equal(asAlice.totals.topics, 1);
  assert.equal(asAlice.totals.partitions, 2);
  assert.equal(asAlice.totals.clusters, 1);
  assert.equal(asAlice.totals.recordsIn, 3);
  assert.ok(asAlice.totals.sizeBytes > 0);
  assert.ok(asAdmin.totals.partitions > asAlice.totals.partitions);
  assert.deepEqual(asBob.totals, { clusters: 0, topics: 0, partitions: 0, offlinePartitions: 0, underReplicatedPartitions: 0, sizeBytes: 0, recordsIn: 0, bytesIn: 0, recordsOut: 0, bytesOut: 0 });
  assert.deepEqual(asAlice.authorizedOperations, []);
  assert.equal(asAdmin.authorizedOperations.length, 7);
});

test('GET /v1/topic-configs documents every topic config with its default', async () => {
  const docs = await new Webka({ url: cast.url, token: cast.bob }).admin().topicConfigs();
  assert.deepEqual(docs.map((d) => d.name).sort(), Object.keys(TOPIC_CONFIGS).sort());
  const policy = docs.find((d) => d.name === 'cleanup.policy')!;
  assert.equal(policy.type, 'enum');
  assert.equal(policy.default, 'delete');
  assert.ok(policy.values!.includes('compact'));
  assert.equal(docs.find((d) => d.name === 'retention.ms')!.min, -1);
});

test('describe answers carry the operations the caller holds', async () => {
  const alice = new Webka({ url: cast.url, token: cast.alice }).admin();
  assert.deepEqual((await alice.describeTopic('scores')).authorizedOperations, ['read', 'write', 'describe']);
  assert.deepEqual((await alice.describeCluster('default')).authorizedOperations, ['describe']);
  const admin = new Webka({ url: cast.url, token: cast.admin }).admin();
  assert.equal((await admin.describeTopic('scores')).authorizedOperations.length, 7);
  await admin.commitGroupOffsets('g1', [{ topic: 'scores', partition: 0, offset: 0 }]);
  assert.equal((await admin.describeGroup('g1')).authorizedOperations!.length, 7);
});

test('whoami lists the ACLs that apply to the caller', async () => {
  const me = await new Webka({ url: cast.url, token: cast.alice }).http.json<{ principal: string; acls: { principal: string; operations: string[] }[] }>('GET', '/v1/whoami');
  assert.equal(me.principal, 'alice');
  assert.deepEqual(me.acls.map((a) => a.operations).sort(), [['describe'], ['read', 'write']]);
  const bob = await new Webka({ url: cast.url, token: cast.bob }).http.json<{ acls: unknown[] }>('GET', '/v1/whoami');
  assert.deepEqual(bob.acls, []);
});

test('GET /v1/streams lists the streams the caller may describe, with content type and tail', async () => {
  const admin = await new Webka({ url: cast.url, token: cast.admin }).admin().listStreams();
  const chat = admin.find((s) => s.path === 'chat/room-1');
  assert.ok(chat, JSON.stringify(admin));
  assert.equal(chat.contentType, 'application/json');
  assert.equal(chat.tailOffset, '0000000000000000_0000000000000000');
  assert.equal(chat.closed, false);
  assert.deepEqual(await new Webka({ url: cast.url, token: cast.alice }).admin().listStreams(), []);
  const r = await cast.call('GET', '/v1/streams');
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'UNAUTHENTICATED');
});
