import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, assertError, highWatermarks, type Rest } from '../support/rest.js';

let broker: TestBroker;
let api: Rest;

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
});
after(() => broker.close());

test('the default cluster exists', async () => {
  const list = await api.get('/v1/clusters');
  assert.equal(list.status, 200);
  assert.ok(list.body.clusters.some((c: { name: string }) => c.name === 'default'));
  const d = await api.get('/v1/clusters/default');
  assert.equal(d.status, 200);
  assert.equal(d.body.name, 'default');
  assert.equal(d.body.defaults.partitions, 1);
  assertError(await api.del('/v1/clusters/default'), 400, 'INVALID_REQUEST');
});

test('clusters: create, list, describe, update, delete; refused while holding topics', async () => {
  const created = await api.post('/v1/clusters', { name: 'payments', description: 'money', defaults: { partitions: 3, configs: { 'retention.ms': 3_600_000 } } });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.name, 'payments');
  assert.equal(created.body.defaults.partitions, 3);
  assertError(await api.post('/v1/clusters', { name: 'payments' }), 409, 'CLUSTER_EXISTS');
  assertError(await api.post('/v1/clusters', { name: 'PAYMENTS' }), 409, 'CLUSTER_EXISTS');

  const list = await api.get('/v1/clusters');
  const names = list.body.clusters.map((c: { name: string }) => c.name);
  assert.ok(names.includes('default') && names.includes('payments'), names.join(', '));

  const updated = await api.patch('/v1/clusters/payments', { description: 'all the money', defaults: { partitions: 2 } });
  assert.equal(updated.status, 200, updated.text);
  assert.equal(updated.body.description, 'all the money');
  assert.equal(updated.body.defaults.partitions, 2);
  assert.equal(updated.body.defaults.configs['retention.ms'], 3_600_000);
  assertError(await api.patch('/v1/clusters/payments', { defaults: { replicationFactor: 2 } }), 422, 'INVALID_REPLICATION_FACTOR');

  // topics inherit the cluster's defaults
  const t = await api.post('/v1/clusters/payments/topics', { name: 'charges' });
  assert.equal(t.status, 201, t.text);
  assert.equal(t.body.partitions, 2);
  assert.equal(t.body.replicationFactor, 1);
  assert.deepEqual(t.body.effectiveConfigs['retention.ms'], { value: 3_600_000, source: 'cluster' });
  assert.equal(t.body.partitionInfo.length, 2);

  const refused = assertError(await api.del('/v1/clusters/payments'), 409, 'CLUSTER_NOT_EMPTY');
  assert.match(refused, /charges/);
  assert.equal((await api.get('/v1/clusters/payments')).status, 200);

  assert.equal((await api.del('/v1/clusters/payments/topics/charges')).status, 204);
  assert.equal((await api.del('/v1/clusters/payments')).status, 204);
  assertError(await api.get('/v1/clusters/payments'), 404, 'CLUSTER_NOT_FOUND');
  assertError(await api.get('/v1/clusters/payments/topics'), 404, 'CLUSTER_NOT_FOUND');
  assertError(await api.del('/v1/clusters/payments'), 404, 'CLUSTER_NOT_FOUND');
});

test('topics: create with everything given, list, describe', async () => {
  const t = await api.post('/v1/clusters/default/topics', { name: 'orders', partitions: 3, replicationFactor: 1, configs: { 'retention.ms': 604800000, 'cleanup.policy': 'delete' } });
  assert.equal(t.status, 201, t.text);
  assert.equal(t.body.name, 'orders');
  assert.equal(t.body.cluster, 'default');
  assert.equal(t.body.partitions, 3);
  assert.deepEqual(t.body.configs, { 'retention.ms': 604800000, 'cleanup.policy': 'delete' });
  assert.deepEqual(t.body.effectiveConfigs['retention.ms'], { value: 604800000, source: 'topic' });
  assert.deepEqual(t.body.effectiveConfigs['segment.bytes'].source, 'default');

  const list = await api.get('/v1/clusters/default/topics');
  assert.ok(list.body.topics.some((x: { name: string; partitions: number }) => x.name === 'orders' && x.partitions === 3));

  await api.post('/v1/clusters/default/topics/orders/records', { records: [{ value: 1, partition: 0 }, { value: 2, partition: 0 }, { value: 3, partition: 2 }] });
  const d = await api.get('/v1/clusters/default/topics/orders');
  assert.equal(d.status, 200);
  assert.equal(d.body.partitionInfo.length, 3);
  for (const p of d.body.partitionInfo) {
    for (const k of ['partition', 'logStartOffset', 'highWatermark', 'sizeBytes', 'segments']) assert.equal(typeof p[k], 'number', k);
    assert.equal(p.logStartOffset, 0);
    assert.ok(p.segments >= 1);
  }
  assert.deepEqual(d.body.partitionInfo.map((p: { highWatermark: number }) => p.highWatermark), [2, 0, 1]);
  assert.ok(d.body.partitionInfo[0].sizeBytes > d.body.partitionInfo[1].sizeBytes);

  const parts = await api.get('/v1/clusters/default/topics/orders/partitions');
  assert.equal(parts.status, 200);
  assert.equal(parts.body.partitions.length, 3);

  assertError(await api.get('/v1/clusters/default/topics/nope'), 404, 'TOPIC_NOT_FOUND');
  assertError(await api.get('/v1/clusters/nope/topics/orders'), 404, 'CLUSTER_NOT_FOUND');
});

test('topics: change configs (null removes an override), add partitions, shrinking refused', async () => {
  await api.post('/v1/clusters/default/topics', { name: 'alter-me', configs: { 'retention.ms': 1000 } });
  let a = await api.patch('/v1/clusters/default/topics/alter-me', { configs: { 'retention.bytes': 1048576, 'retention.ms': null } });
  assert.equal(a.status, 200, a.text);
  assert.deepEqual(a.body.configs, { 'retention.bytes': 1048576 });
  assert.equal(a.body.effectiveConfigs['retention.ms'].source, 'default');

  a = await api.patch('/v1/clusters/default/topics/alter-me', { partitions: 4 });
  assert.equal(a.status, 200, a.text);
  assert.equal(a.body.partitions, 4);
  assert.equal(a.body.partitionInfo.length, 4);
  const p3 = await api.post('/v1/clusters/default/topics/alter-me/records', { records: [{ value: 'x', partition: 3 }] });
  assert.equal(p3.status, 200, p3.text);

  assertError(await api.patch('/v1/clusters/default/topics/alter-me', { partitions: 2 }), 422, 'INVALID_PARTITIONS');
  assertError(await api.patch('/v1/clusters/default/topics/alter-me', { configs: { 'no.such.config': 1 } }), 400, 'INVALID_CONFIG');
  assertError(await api.patch('/v1/clusters/default/topics/alter-me', { configs: { 'retention.ms': -5 } }), 400, 'INVALID_CONFIG');
  const d = await api.get('/v1/clusters/default/topics/alter-me');
  assert.equal(d.body.partitions, 4);
  assert.deepEqual(d.body.configs, { 'retention.bytes': 1048576 });
  assertError(await api.patch('/v1/clusters/default/topics/nope', { partitions: 2 }), 404, 'TOPIC_NOT_FOUND');
});

test('topics: a cluster default change reaches topics without an override', async () => {
  await api.post('/v1/clusters', { name: 'follow' });
  await api.post('/v1/clusters/follow/topics', { name: 'a' });
  await api.post('/v1/clusters/follow/topics', { name: 'b', configs: { 'retention.ms': 5000 } });
  await api.patch('/v1/clusters/follow', { defaults: { configs: { 'retention.ms': 7000 } } });
  assert.deepEqual((await api.get('/v1/clusters/follow/topics/a')).body.effectiveConfigs['retention.ms'], { value: 7000, source: 'cluster' });
  assert.deepEqual((await api.get('/v1/clusters/follow/topics/b')).body.effectiveConfigs['retention.ms'], { value: 5000, source: 'topic' });
});

test('topics: delete removes its data directory from disk', async () => {
  const logs = path.join(broker.dataDir, 'logs');
  const beforeDirs = new Set(fs.readdirSync(logs));
  const t = await api.post('/v1/clusters/default/topics', { name: 'doomed', partitions: 2 });
  assert.equal(t.status, 201);
  await api.post('/v1/clusters/default/topics/doomed/records', { records: [{ value: 'bye', partition: 0 }, { value: 'bye', partition: 1 }] });
  const mine = fs.readdirSync(logs).filter((d) => !beforeDirs.has(d));
  assert.equal(mine.length, 2);
  for (const d of mine) assert.ok(fs.readdirSync(path.join(logs, d)).some((f) => f.endsWith('.log')));

  assert.equal((await api.del('/v1/clusters/default/topics/doomed')).status, 204);
  for (const d of mine) assert.equal(fs.existsSync(path.join(logs, d)), false, `${d} still on disk`);
  assertError(await api.get('/v1/clusters/default/topics/doomed'), 404, 'TOPIC_NOT_FOUND');
  assertError(await api.del('/v1/clusters/default/topics/doomed'), 404, 'TOPIC_NOT_FOUND');
  assertError(await api.post('/v1/clusters/default/topics/doomed/records', { value: 1 }), 404, 'TOPIC_NOT_FOUND');

  // the name is free again, and the new topic starts empty
  const again = await api.post('/v1/clusters/default/topics', { name: 'doomed' });
  assert.equal(again.status, 201);
  assert.deepEqual(await highWatermarks(api, 'default', 'doomed'), [0]);
});

test('topics: the internal __consumer_offsets cannot be deleted or changed, and keeps every group\'s commits', async () => {
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'kept' })).status, 201);
  await api.post('/v1/clusters/default/topics/kept/records', { records: [{ value: 1 }] });
  assert.equal((await api.post('/v1/clusters/default/groups/keepers/offsets', { offsets: [{ topic: 'kept', partition: 0, offset: 1 }] })).status, 200);
  assert.match(assertError(await api.del('/v1/clusters/default/topics/__consumer_offsets'), 400, 'INVALID_REQUEST'), /internal topic/);
  assertError(await api.patch('/v1/clusters/default/topics/__consumer_offsets', { partitions: 50 }), 400, 'INVALID_REQUEST');
  assertError(await api.patch('/v1/clusters/default/topics/__consumer_offsets', { configs: { 'cleanup.policy': 'delete' } }), 400, 'INVALID_REQUEST');
  const offsets = await api.get('/v1/clusters/default/groups/keepers/offsets');
  assert.equal(offsets.status, 200);
  assert.deepEqual(offsets.body.offsets.map((o: { topic: string; committed: number }) => [o.topic, o.committed]), [['kept', 1]]);
});

test('topics: replication factor above the broker count is refused', async () => {
  const msg = assertError(await api.post('/v1/clusters/default/topics', { name: 'rf2', replicationFactor: 2 }), 422, 'INVALID_REPLICATION_FACTOR');
  assert.match(msg, /broker/);
  assertError(await api.post('/v1/clusters', { name: 'rf', defaults: { replicationFactor: 3 } }), 422, 'INVALID_REPLICATION_FACTOR');
  assertError(await api.get('/v1/clusters/default/topics/rf2'), 404, 'TOPIC_NOT_FOUND');
});

test('topics: min.insync.replicas above the replication factor is refused at create and alter, and changes nothing', async () => {
  const msg = assertError(await api.post('/v1/clusters/default/topics', { name: 'isr', configs: { 'min.insync.replicas': 1000 } }), 400, 'INVALID_CONFIG');
  assert.match(msg, /min\.insync\.replicas 1000 .*replication factor 1/);
  assertError(await api.get('/v1/clusters/default/topics/isr'), 404, 'TOPIC_NOT_FOUND');
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'isr', configs: { 'min.insync.replicas': 1 } })).status, 201);
  assertError(await api.patch('/v1/clusters/default/topics/isr', { configs: { 'min.insync.replicas': 2 } }), 400, 'INVALID_CONFIG');
  assert.equal((await api.get('/v1/clusters/default/topics/isr')).body.configs['min.insync.replicas'], 1);
  // a cluster default reaches the topics without an override: refused there too
  assertError(await api.post('/v1/clusters', { name: 'isr-c', defaults: { configs: { 'min.insync.replicas': 2 } } }), 400, 'INVALID_CONFIG');
  assertError(await api.patch('/v1/clusters/default', { defaults: { configs: { 'min.insync.replicas': 2 } } }), 400, 'INVALID_CONFIG');
  assertError(await api.get('/v1/clusters/isr-c'), 404, 'CLUSTER_NOT_FOUND');
});

test('topics: partitions out of range are refused and create nothing', async () => {
  assertError(await api.post('/v1/clusters/default/topics', { name: 'p0', partitions: 0 }), 400, 'INVALID_REQUEST');
  assertError(await api.post('/v1/clusters/default/topics', { name: 'pbig', partitions: 1_000_000 }), 422, 'INVALID_PARTITIONS');
  assertError(await api.post('/v1/clusters/default/topics', { name: 'pfrac', partitions: 1.5 }), 400, 'INVALID_REQUEST');
  assertError(await api.post('/v1/clusters/default/topics', { name: 'pstr', partitions: '3' }), 400, 'INVALID_REQUEST');
  assertError(await api.post('/v1/clusters/default/topics', { name: 'extra', colour: 'red' }), 400, 'INVALID_REQUEST');
  for (const n of ['p0', 'pbig', 'pfrac', 'pstr', 'extra']) assertError(await api.get(`/v1/clusters/default/topics/${n}`), 404, 'TOPIC_NOT_FOUND');
});

test('names: Kafka\'s rule, and collisions by case or "." versus "_"', async () => {
  const ok = ['a', 'A-b_c.d', 'x'.repeat(249), '...', '-_-', '0'];
  for (const name of ok) {
    const r = await api.post('/v1/clusters/default/topics', { name });
    assert.equal(r.status, 201, `${name}: ${r.text}`);
    assert.equal((await api.get(`/v1/clusters/default/topics/${name}`)).status, 200);
  }
  const bad = ['', '.', '..', 'x'.repeat(250), 'a b', 'a/b', 'a\\b', 'é', 'ü-topic', 'a%2Fb', '../etc', 'a\u0000b', 'tab\t', '日本'];
  for (const name of bad) {
    const r = await api.post('/v1/clusters/default/topics', { name });
    assert.equal(r.status, 400, `${JSON.stringify(name)}: ${r.text}`);
    assert.equal(r.body.error.code, 'INVALID_NAME', r.text);
  }
  await api.post('/v1/clusters/default/topics', { name: 'metrics.cpu' });
  assertError(await api.post('/v1/clusters/default/topics', { name: 'metrics_cpu' }), 409, 'TOPIC_EXISTS');
  assertError(await api.post('/v1/clusters/default/topics', { name: 'Metrics.CPU' }), 409, 'TOPIC_EXISTS');
  assertError(await api.post('/v1/clusters/default/topics', { name: 'metrics.cpu' }), 409, 'TOPIC_EXISTS');
  assertError(await api.post('/v1/clusters', { name: 'DEFAULT' }), 409, 'CLUSTER_EXISTS');
  assertError(await api.post('/v1/clusters', { name: '..' }), 400, 'INVALID_NAME');
  // the same name in another cluster is fine
  await api.post('/v1/clusters', { name: 'other' });
  assert.equal((await api.post('/v1/clusters/other/topics', { name: 'metrics_cpu' })).status, 201);
});

function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

test('names: no name, however encoded, reaches outside the data directory', async () => {
  // The data directory sits two levels inside a directory of its own, so that any escape lands
  // somewhere this test can see.
  const outer = fs.mkdtempSync(path.join(broker.dataDir, '..', 'webka-escape-'));
  const dataDir = path.join(outer, 'a', 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const b = await startBroker({ dataDir });
  try {
    const x = rest(b.url);
    assert.equal((await x.post('/v1/clusters/default/topics', { name: 'real' })).status, 201);
    const outside = snapshot(outer).filter((p) => !p.startsWith(dataDir + path.sep) && p !== dataDir);

    const evil = [
      '..', '.', '%2e%2e', '%2E%2E', '%2e', '..%2f..%2fetc', '%2e%2e%2f%2e%2e%2fescaped', '..%5c..%5cescaped', '%2e%2e%5cescaped',
      'a%2Fb', '%2F', '%00', 'a%00b', '%C0%AE%C0%AE', '%E2%80%AE', '%E3%83%86%E3%82%B9%E3%83%88', '%u002e%u002e',
      '..%252f..%252fescaped', 'x'.repeat(250), 'x'.repeat(5000), '%2e%2e%2f'.repeat(20) + 'escaped', 'catalog.json', 'logs', '.lock',
    ];
    for (const name of evil) {
      for (const cluster of ['default', name]) {
        const paths = [
          `/v1/clusters/${cluster}/topics/${name}`,
          `/v1/clusters/${cluster}/topics/${name}/records`,
          `/v1/clusters/${cluster}/topics/${name}/partitions/0/records`,
          `/v1/clusters/${cluster}/topics/${name}/partitions/0/offsets`,
        ];
        const answers = [
          await x.get(paths[0]),
          await x.del(paths[0]),
          await x.patch(paths[0], { partitions: 2 }),
          await x.post(paths[1], { value: 'escape' }),
          await x.get(paths[2]),
          await x.get(paths[3]),
          await x.post(`/v1/clusters/${cluster}/topics`, { name: decodeURIComponentSafe(name) }),
          await x.post(`/v1/clusters/${cluster}/producers`, { name: decodeURIComponentSafe(name) }),
        ];
        for (const a of answers.slice(0, 6)) {
          assert.ok(a.status >= 400 && a.status < 500, `${cluster} ${name}: ${a.status} ${a.text.slice(0, 200)}`);
          assert.equal(typeof a.body?.error?.code, 'string', a.text.slice(0, 200));
        }
        const created = answers[6];
        assert.ok(created.status >= 400 && created.status < 500 || ['catalog.json', 'logs', '.lock'].includes(name), `create ${name}: ${created.status}`);
      }
      // names given in bodies
      const c = await x.post('/v1/clusters', { name: decodeURIComponentSafe(name) });
      assert.ok(c.status >= 400 && c.status < 500 || ['catalog.json', 'logs', '.lock'].includes(name), `cluster ${name}: ${c.status}`);
    }
    assert.deepEqual(snapshot(outer).filter((p) => !p.startsWith(dataDir + path.sep) && p !== dataDir), outside, 'files appeared outside the data directory');
    // the broker still serves, and "real" is intact
    assert.equal((await x.post('/v1/clusters/default/topics/real/records', { value: 1 })).status, 200);
    assert.equal((await x.get('/health')).status, 200);
  } finally {
    await b.close();
    fs.rmSync(outer, { recursive: true, force: true });
  }
});

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
