/**
 * A cluster with authentication on: three `webka start` brokers on a private etcd sharing an
 * inter-broker secret. Principals, keys and ACLs made on one broker hold on every broker at once
 * (a revoked key too); followers replicate and non-leaders forward under the brokers' own
 * credential, authorised as the original caller on both brokers; clients cannot call the
 * inter-broker routes, assert another principal or pose as a broker. The negative control
 * starts a broker that believes x-webka-principal from anyone
 * (WEBKA_DEBUG_TRUST_PRINCIPAL_HEADER=1) and shows the forgery probe then gets through.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { needEtcd } from '../support/etcd.js';
import { startCluster, until, type TestCluster } from '../support/cluster.js';
import { runCli, startCliBroker, type CliBroker } from '../support/cli-broker.js';
import { tempDir } from '../support/start-broker.js';
import { WebSocket } from 'ws';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping cluster authentication tests: ${missing}`);
const opts = { skip: missing ?? false };

const SECRET = 'test-inter-broker-secret-0123456789abcdef';
const ENV = { WEBKA_AUTH: 'true', WEBKA_INTER_BROKER_SECRET: SECRET };
let cluster: TestCluster;
let adminKey: string;
const extra: Array<{ broker: CliBroker; dir: string }> = [];

before(async () => {
  if (missing !== null) return;
  cluster = await startCluster('/auth', ENV);
  await Promise.all([1, 2, 3].map((n) => cluster.start(n)));
  // the first broker to start made "admin" for the whole cluster; its key is in that broker's directory only
  const files = [1, 2, 3].map((n) => path.join(cluster.dirs.get(n)!, 'initial-admin-key')).filter((f) => fs.existsSync(f));
  assert.equal(files.length, 1, 'exactly one broker made the initial admin key');
  adminKey = /^key=(\S+)$/m.exec(fs.readFileSync(files[0], 'utf8'))![1];
});
after(async () => {
  for (const e of extra) e.broker.child.kill('SIGKILL');
  await Promise.all(extra.map((e) => e.broker.exited));
  for (const e of extra) fs.rmSync(e.dir, { recursive: true, force: true });
  await cluster?.stop();
});

const url = (n: number): string => cluster.brokers.get(n)!.url;
const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
const asBroker = (principal?: object): Record<string, string> => ({
  authorization: `WebkaBroker 9:${SECRET}`,
  ...(principal === undefined ? {} : { 'x-webka-principal': Buffer.from(JSON.stringify(principal)).toString('base64url') }),
});

async function call(base: string, method: string, p: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(base + p, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let parsed: any = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, body: parsed };
}

/** Makes a principal through broker n with one key; returns the key and its id. */
async function principal(n: number, name: string): Promise<{ key: string; id: string }> {
  const r = await call(url(n), 'POST', '/v1/principals', bearer(adminKey), { name, createKey: true });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { key: r.body.key.key, id: r.body.key.id };
}

async function leaderOf(topic: string): Promise<number> {
  return until(async () => {
    const r = await call(url(1), 'GET', `/v1/clusters/default/topics/${topic}`, bearer(adminKey));
    const p = r.body?.partitionInfo?.[0];
    return r.status === 200 && p.leader > 0 && p.isr.length === 3 ? (p.leader as number) : undefined;
  }, `topic ${topic} has a leader with 3 in sync`);
}

test('a broker of a cluster with authentication on does not start without the inter-broker secret, and says which setting', opts, async () => {
  const coordinator = ['--coordinator', `${cluster.etcd.url.replace('http://', 'etcd://')}/auth`, '--node-id', '7', '--port', '0', '--kafka-port', '-1'];
  const none = runCli(['start', '--host', '127.0.0.1', '--data-dir', tempDir(), ...coordinator], { WEBKA_AUTH: 'true' });
  const short = runCli(['start', '--host', '127.0.0.1', '--data-dir', tempDir(), ...coordinator], { WEBKA_AUTH: 'true', WEBKA_INTER_BROKER_SECRET: 'short' });
  assert.deepEqual(await Promise.all([none.exited, short.exited]), [2, 2]);
  assert.match(none.stderr(), /interBrokerSecret is required/);
  assert.match(short.stderr(), /interBrokerSecret must be at least 32 characters/);
  assert.doesNotMatch(short.stdout() + short.stderr(), /short"/, 'the secret is not echoed');
});

test('principals, keys and ACLs made on broker 1 hold on broker 3 at once; a revoked key stops at once on every broker', opts, async () => {
  const carol = await principal(1, 'carol');
  // no waiting: the change is answered once every live broker holds it
  for (const n of [1, 2, 3]) assert.equal((await call(url(n), 'GET', '/v1/whoami', bearer(carol.key))).status, 200, `carol's key on broker ${n}`);
  const second = await call(url(2), 'POST', '/v1/principals/carol/keys', bearer(carol.key), {});
  assert.equal(second.status, 201);

  // principals made at the same time on two brokers: both kept (a lost compare-and-swap is made again)
  const made = await Promise.all([call(url(2), 'POST', '/v1/principals', bearer(adminKey), { name: 'dave' }), call(url(3), 'POST', '/v1/principals', bearer(adminKey), { name: 'erin' })]);
  assert.deepEqual(made.map((r) => r.status), [201, 201]);
  const names = (await call(url(1), 'GET', '/v1/principals', bearer(adminKey))).body.principals.map((p: { name: string }) => p.name);
  assert.ok(names.includes('dave') && names.includes('erin'), JSON.stringify(names));

  // an ACL added on broker 2 is seen by broker 3's whoami
  const acl = await call(url(2), 'POST', '/v1/acls', bearer(adminKey), { principal: 'carol', operations: ['read'], resource: { type: 'topic', name: 'carol-', patternType: 'prefixed' } });
  assert.equal(acl.status, 201);
  const who = await call(url(3), 'GET', '/v1/whoami', bearer(carol.key));
  assert.deepEqual(who.body.acls.map((a: { id: string }) => a.id), [acl.body.id]);

  // revoked on broker 1: refused on every broker on the next request (the other key still works)
  assert.equal((await call(url(1), 'DELETE', `/v1/principals/carol/keys/${carol.id}`, bearer(adminKey))).status, 204);
  for (const n of [1, 2, 3]) {
    const r = await call(url(n), 'GET', '/v1/whoami', bearer(carol.key));
    assert.equal(r.status, 401, `revoked key on broker ${n}`);
    assert.equal(r.body.error.code, 'UNAUTHENTICATED');
    assert.equal((await call(url(n), 'GET', '/v1/whoami', bearer(second.body.key))).status, 200);
  }
  // the principal deleted on broker 3: its last key stops on broker 1
  assert.equal((await call(url(3), 'DELETE', '/v1/principals/carol', bearer(adminKey))).status, 204);
  assert.equal((await call(url(1), 'GET', '/v1/whoami', bearer(second.body.key))).status, 401);
});

test('produce and fetch through a non-leader, replicated, and authorised as the caller on every broker', opts, async () => {
  const alice = await principal(2, 'alice');
  const bob = await principal(3, 'bob');
  assert.equal((await call(url(1), 'POST', '/v1/acls', bearer(adminKey), { principal: 'alice', operations: ['read', 'write'], resource: { type: 'topic', name: 'orders' } })).status, 201);
  // created through a broker that may not be the controller: forwarded to it as admin
  const created = await call(url(2), 'POST', '/v1/clusters/default/topics', bearer(adminKey), { name: 'orders', partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '3' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const leader = await leaderOf('orders');
  const other = [1, 2, 3].find((n) => n !== leader)!;

  // alice through a non-leader: forwarded, written with acks=all (so every follower fetched it
  // with the brokers' credential) and read back through the same non-leader
  const produced = await call(url(other), 'POST', '/v1/clusters/default/topics/orders/records?acks=all', bearer(alice.key), { records: [{ value: 'a1' }, { value: 'a2' }] });
  assert.equal(produced.status, 200, JSON.stringify(produced.body));
  for (const n of [1, 2, 3]) {
    const r = await call(url(n), 'GET', '/v1/clusters/default/topics/orders/partitions/0/records?offset=0', bearer(alice.key));
    assert.equal(r.status, 200, `fetch on broker ${n}: ${JSON.stringify(r.body)}`);
    assert.deepEqual(r.body.records.map((x: { value: string }) => x.value), ['a1', 'a2']);
  }
  // a browser token minted on the non-leader is carried to the leader by the forward
  const token = await call(url(other), 'POST', '/v1/tokens', bearer(alice.key), { grants: [{ resource: { type: 'topic', name: 'orders' }, operations: ['read'] }], ttlSeconds: 60 });
  assert.equal(token.status, 201);
  const byToken = await call(url(other), 'GET', '/v1/clusters/default/topics/orders/partitions/0/records?offset=0', bearer(token.body.token));
  assert.equal(byToken.status, 200);
  assert.equal(byToken.body.records.length, 2);
  // ... and keeps its grants there: a token that may only read cannot write, forwarded or not
  assert.equal((await call(url(other), 'POST', '/v1/clusters/default/topics/orders/records', bearer(token.body.token), { records: [{ value: 'x' }] })).status, 403);

  // bob has no ACL: refused on every broker, the leader and the ones that would forward
  for (const n of [1, 2, 3]) {
    const w = await call(url(n), 'POST', '/v1/clusters/default/topics/orders/records', bearer(bob.key), { records: [{ value: 'b' }] });
    assert.equal(w.status, 404, `bob writes through broker ${n}`);
    assert.equal(w.body.error.code, 'TOPIC_NOT_FOUND');
    const r = await call(url(n), 'GET', '/v1/clusters/default/topics/orders/partitions/0/records?offset=0', bearer(bob.key));
    assert.equal(r.status, 404, `bob reads through broker ${n}`);
  }
  // the leader authorises a forwarded request again, as the principal it names: a broker
  // forwarding for bob is refused there, for alice it is served
  const forBob = await call(url(leader), 'POST', '/v1/clusters/default/topics/orders/records', { ...asBroker({ name: 'bob', via: 'key', keyId: bob.id }), 'x-webka-forwarded-by': '9' }, { records: [{ value: 'b' }] });
  assert.equal(forBob.status, 404);
  const forAlice = await call(url(leader), 'GET', '/v1/clusters/default/topics/orders/partitions/0/records?offset=0', { ...asBroker({ name: 'alice', via: 'key', keyId: alice.id }), 'x-webka-forwarded-by': '9' });
  assert.equal(forAlice.status, 200);
  // a forward naming a revoked key or an unknown principal is not believed either
  assert.equal((await call(url(leader), 'GET', '/v1/whoami', asBroker({ name: 'alice', via: 'key', keyId: 'ffffffffffffffff' }))).status, 401);
  assert.equal((await call(url(leader), 'GET', '/v1/whoami', asBroker({ name: 'nobody', via: 'key' }))).status, 401);
  // nothing of bob's was written
  const all = await call(url(leader), 'GET', '/v1/clusters/default/topics/orders/partitions/0/records?offset=0', bearer(adminKey));
  assert.deepEqual(all.body.records.map((x: { value: string }) => x.value), ['a1', 'a2']);
});

test('a producer id issued on one broker is its principal\'s on every leader: another principal presenting it is refused as if it were never issued', opts, async () => {
  const owner = await principal(1, 'pid-owner');
  const thief = await principal(2, 'pid-thief');
  for (const who of ['pid-owner', 'pid-thief']) {
    assert.equal((await call(url(1), 'POST', '/v1/acls', bearer(adminKey), { principal: who, operations: ['read', 'write'], resource: { type: 'topic', name: 'ledger' } })).status, 201);
    assert.equal((await call(url(1), 'POST', '/v1/acls', bearer(adminKey), { principal: who, operations: ['write'], resource: { type: 'cluster', name: '*' } })).status, 201);
  }
  const created = await call(url(1), 'POST', '/v1/clusters/default/topics', bearer(adminKey), { name: 'ledger', partitions: 1, replicationFactor: 3 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const leader = await leaderOf('ledger');
  const other = [1, 2, 3].find((n) => n !== leader)!;
  // the owner's id, issued by a broker that does not lead the partition
  const issued = await call(url(other), 'POST', '/v1/clusters/default/producers', bearer(owner.key), {});
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  const { producerId, producerEpoch } = issued.body;
  // another principal presents it, at the leader and through every broker: refused, nothing written
  for (const n of [1, 2, 3]) {
    const r = await call(url(n), 'POST', '/v1/clusters/default/topics/ledger/records', bearer(thief.key), { producerId, producerEpoch, sequence: 0, records: [{ value: 'dave' }] });
    assert.equal(r.status, 404, `the thief with the owner's id through broker ${n}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'PRODUCER_NOT_FOUND');
  }
  // the owner writes with it on the leader: its sequence 0 was not taken by the refused attempts
  const ok = await call(url(leader), 'POST', '/v1/clusters/default/topics/ledger/records', bearer(owner.key), { producerId, producerEpoch, sequence: 0, records: [{ value: 'carol' }] });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const all = await call(url(leader), 'GET', '/v1/clusters/default/topics/ledger/partitions/0/records?offset=0', bearer(adminKey));
  assert.deepEqual(all.body.records.map((x: { value: string }) => x.value), ['carol']);
});

test('a Durable Stream through a non-leader is served as the caller: a principal without rights is refused on every broker, and a Producer-Id is its principal\'s on the leader', opts, async () => {
  const owner = await principal(1, 'ds-owner');
  const thief = await principal(2, 'ds-thief');
  const nobody = await principal(3, 'ds-nobody');
  for (const who of ['ds-owner', 'ds-thief']) {
    assert.equal((await call(url(1), 'POST', '/v1/acls', bearer(adminKey), { principal: who, operations: ['create', 'read', 'write', 'describe'], resource: { type: 'topic', name: '*' } })).status, 201);
  }
  const stream = async (n: number, method: string, key: string, more: Record<string, string> = {}, body?: string): Promise<{ status: number; text: string; headers: Headers }> => {
    const r = await fetch(`${url(n)}/v1/stream/secure`, { method, headers: { ...bearer(key), 'content-type': 'application/json', ...more }, body });
    return { status: r.status, text: await r.text(), headers: r.headers };
  };
  const made = await stream(1, 'PUT', owner.key);
  assert.equal(made.status, 201, made.text);
  const topic = made.headers.get('webka-topic')!;
  const leader = await until(async () => {
    const r = await call(url(1), 'GET', `/v1/clusters/streams/topics/${topic}`, bearer(adminKey));
    const p = r.body?.partitionInfo?.[0];
    return r.status === 200 && p.leader > 0 && p.isr.length === 3 ? (p.leader as number) : undefined;
  }, 'the stream topic has a leader with 3 in sync');
  const other = [1, 2, 3].find((n) => n !== leader)!;
  const producer = (epoch: number, seq: number): Record<string, string> => ({ 'producer-id': 'p', 'producer-epoch': String(epoch), 'producer-seq': String(seq) });

  assert.equal((await stream(other, 'POST', owner.key, producer(0, 0), '["owner 0"]')).status, 200);
  // the thief's "p" is another producer: not a duplicate of the owner's append, and its epoch fences nothing of the owner's
  const theirs = await stream(other, 'POST', thief.key, producer(1, 0), '["thief 0"]');
  assert.equal(theirs.status, 200, theirs.text);
  const next = await stream(other, 'POST', owner.key, producer(0, 1), '["owner 1"]');
  assert.equal(next.status, 200, `the owner's producer is not fenced by the thief's epoch: ${next.text}`);
  // no rights: refused through every broker, the leader and the ones that would forward
  for (const n of [1, 2, 3]) {
    for (const [method, body] of [['POST', '["nobody"]'], ['GET', undefined], ['HEAD', undefined], ['DELETE', undefined]] as const) {
      const r = await stream(n, method, nobody.key, {}, body);
      assert.ok(r.status === 403 || r.status === 404, `ds-nobody ${method} through broker ${n}: ${r.status} ${r.text}`);
    }
  }
  const all = await fetch(`${url(other)}/v1/stream/secure?offset=-1`, { headers: bearer(owner.key) });
  assert.equal(all.status, 200);
  assert.deepEqual(await all.json(), ['owner 0', 'thief 0', 'owner 1']);
});

test('clients cannot call the inter-broker routes; a broker credential alone calls nothing else', opts, async () => {
  const fetchPath = '/v1/internal/replicas/0123456789abcdef/0/fetch?offset=0&replica=1&durableEnd=0&leaderEpoch=0&maxWaitMs=0';
  for (const n of [1, 2, 3]) {
    for (const headers of [bearer(adminKey), {}]) {
      const r = await call(url(n), 'GET', fetchPath, headers);
      assert.ok(r.status === 403 || r.status === 401, `broker ${n}: ${r.status}`);
      if (r.status === 403) assert.equal(r.body.error.code, 'BROKER_ONLY');
    }
    assert.equal((await call(url(n), 'GET', fetchPath, bearer(adminKey))).status, 403, 'even a superuser\'s key');
    assert.equal((await call(url(n), 'GET', '/v1/internal/auth/revision?atLeast=1', bearer(adminKey))).body.error.code, 'BROKER_ONLY');
    // a wrong secret is no credential; the right one passes authentication (the topic id is unknown)
    assert.equal((await call(url(n), 'GET', fetchPath, { authorization: `WebkaBroker 1:${SECRET}x` })).status, 401);
    assert.ok(![401, 403].includes((await call(url(n), 'GET', fetchPath, asBroker())).status));
    // the broker's own credential does not open client routes
    const own = await call(url(n), 'GET', '/v1/principals', asBroker());
    assert.equal(own.status, 403);
    assert.equal(own.body.error.code, 'BROKER_ONLY');
  }
});

/** Opens the replica channel on broker n with these headers: the socket, or the refusal's status and error code. */
function openChannel(n: number, headers: Record<string, string>): Promise<{ ws: WebSocket } | { status: number; code: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url(n).replace('http', 'ws')}/v1/internal/replicas/channel?replica=9`, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text) as { error: { code: string } }).error.code }));
    });
    ws.once('error', reject);
  });
}

/** Sends one fetch frame; resolves with the answer's header and its bytes. */
function channelFetch(ws: WebSocket, frame: object): Promise<{ header: any; data: Buffer }> {
  return new Promise((resolve) => {
    ws.once('message', (raw: Buffer) => {
      const n = raw.readUInt32BE(0);
      resolve({ header: JSON.parse(raw.toString('utf8', 4, 4 + n)), data: raw.subarray(4 + n) });
    });
    ws.send(JSON.stringify(frame));
  });
}

test('the replica channel opens only with the inter-broker secret, answers each fetch by its id as the leader stores it, and closes on a frame it cannot read', opts, async () => {
  // refused at the upgrade, in the error shape: a superuser's key, no credential, a wrong secret
  for (const [headers, status, code] of [[bearer(adminKey), 403, 'BROKER_ONLY'], [{}, 401, 'UNAUTHENTICATED'], [{ authorization: `WebkaBroker 1:${SECRET}x` }, 401, 'UNAUTHENTICATED']] as const) {
    const r = await openChannel(1, headers);
    assert.ok('status' in r, 'refused');
    assert.deepEqual([r.status, r.code], [status, code]);
  }

  const before = new Set([1, 2, 3].flatMap((n) => fs.readdirSync(path.join(cluster.dirs.get(n)!, 'logs'))));
  assert.equal((await call(url(1), 'POST', '/v1/clusters/default/topics', bearer(adminKey), { name: 'channel', partitions: 1, replicationFactor: 3 })).status, 201);
  const leader = await leaderOf('channel');
  const produced = await call(url(leader), 'POST', '/v1/clusters/default/topics/channel/records?acks=all', bearer(adminKey), { records: [{ value: 'c1' }, { value: 'c2' }] });
  assert.equal(produced.status, 200, JSON.stringify(produced.body));
  const dir = fs.readdirSync(path.join(cluster.dirs.get(leader)!, 'logs')).find((d) => d.endsWith('-0') && !before.has(d))!;
  const topicId = dir.slice(0, -2);
  const described = await call(url(leader), 'GET', '/v1/clusters/default/topics/channel', bearer(adminKey));
  const leaderEpoch = described.body.partitionInfo[0].leaderEpoch as number;

  const opened = await openChannel(leader, asBroker());
  assert.ok('ws' in opened, 'the broker credential opens it');
  const { ws } = opened;
  const fetch = { topicId, partition: 0, offset: 0, durableEnd: 0, leaderEpoch, maxWaitMs: 0, maxBytes: 1 << 20 };
  // the batches as the leader stores them: the bytes of its segment from offset 0
  const stored = fs.readFileSync(path.join(cluster.dirs.get(leader)!, 'logs', dir, '00000000000000000000.log'));
  const got = await channelFetch(ws, { id: 7, ...fetch });
  assert.equal(got.header.id, 7);
  assert.equal(got.header.leaderEpoch, leaderEpoch);
  assert.equal(got.header.logEndOffset, 2);
  assert.ok(got.data.length > 0 && stored.subarray(0, got.data.length).equals(got.data), 'the stored batches, byte for byte');
  // another epoch, or a partition it does not lead: an error answer with the same id, and the channel stays open
  const stale = await channelFetch(ws, { id: 8, ...fetch, leaderEpoch: leaderEpoch + 5 });
  assert.deepEqual([stale.header.id, stale.header.error.code], [8, 'NOT_LEADER']);
  const unknown = await channelFetch(ws, { id: 9, ...fetch, topicId: '0123456789abcdef' });
  assert.deepEqual([unknown.header.id, unknown.header.error.code], [9, 'NOT_LEADER']);
  // a frame that is not a fetch closes the channel with 1008 and a reason
  const closed = new Promise<[number, string]>((resolve) => ws.once('close', (code, reason) => resolve([code, reason.toString()])));
  ws.send(JSON.stringify({ id: 10, ...fetch, offset: -1 }));
  const [code, reason] = await closed;
  assert.equal(code, 1008);
  assert.match(reason, /"offset"/);
  // and the cluster goes on replicating (the followers' own channels are untouched)
  assert.equal((await call(url(leader), 'POST', '/v1/clusters/default/topics/channel/records?acks=all', bearer(adminKey), { records: [{ value: 'c3' }] })).status, 200);
});

/** A client with its own valid key claims to be forwarded for "admin". */
async function forgeAdmin(base: string, key: string): Promise<{ status: number; body: any }> {
  return call(base, 'GET', '/v1/principals', { ...bearer(key), 'x-webka-principal': Buffer.from(JSON.stringify({ name: 'admin', via: 'key' })).toString('base64url'), 'x-webka-forwarded-by': '1' });
}

test('a client cannot assert another principal or pose as a broker', opts, async () => {
  const mallory = await principal(1, 'mallory');
  for (const n of [1, 2, 3]) {
    const forged = await forgeAdmin(url(n), mallory.key);
    assert.equal(forged.status, 403, `broker ${n}: ${JSON.stringify(forged.body)}`);
    assert.equal(forged.body.error.code, 'BROKER_ONLY');
    // with no credentials of its own, the header is no credential either
    assert.equal((await call(url(n), 'GET', '/v1/principals', { 'x-webka-principal': Buffer.from(JSON.stringify({ name: 'admin', via: 'key' })).toString('base64url') })).status, 401);
    // its key presented as a broker secret, or "broker:1" as a Basic principal, is refused
    assert.equal((await call(url(n), 'GET', '/v1/whoami', { authorization: `WebkaBroker 1:${mallory.key}` })).status, 401);
    assert.equal((await call(url(n), 'GET', '/v1/whoami', { authorization: `Basic ${Buffer.from(`broker:1:${mallory.key}`).toString('base64')}` })).status, 401);
  }
  // no principal may be named like a broker
  assert.equal((await call(url(2), 'POST', '/v1/principals', bearer(adminKey), { name: 'broker:1' })).status, 400);
  // the secret reached no broker's log (the effective configuration shows it as ***), even after requests carrying it
  for (const n of [1, 2, 3]) {
    const b = cluster.brokers.get(n)!;
    const logged = JSON.stringify(b.lines) + b.stderr();
    assert.ok(!logged.includes(SECRET.slice(0, 20)), `broker ${n} logged the secret`);
    assert.equal(b.lines.find((l) => l?.config !== undefined)?.config.interBrokerSecret, '***');
  }
});

test('negative control: a broker that trusts x-webka-principal from anyone lets the forgery through', opts, async () => {
  const mallory = await principal(3, 'mallory2');
  const dir = tempDir();
  const broker = await startCliBroker(['--port', '0', '--kafka-port', '-1', '--data-dir', dir, '--node-id', '4', '--coordinator', `${cluster.etcd.url.replace('http://', 'etcd://')}/auth`], { ...ENV, WEBKA_DEBUG_TRUST_PRINCIPAL_HEADER: '1' });
  extra.push({ broker, dir });
  const forged = await forgeAdmin(broker.url, mallory.key);
  assert.equal(forged.status, 200, 'the probe detects a broker that believes the header');
  assert.ok(forged.body.principals.some((p: { name: string }) => p.name === 'admin'));
  // the same probe against the real brokers is refused (previous test); and on this one without the header, mallory is no superuser
  assert.equal((await call(broker.url, 'GET', '/v1/principals', bearer(mallory.key))).status, 403);
});
