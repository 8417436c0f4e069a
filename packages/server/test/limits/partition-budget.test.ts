/**
 * Partitions are a budget of open files. The broker holds at most maxPartitions (checked at start
 * against the open-file limit), refuses topics and partition growth past it with 422 naming the
 * setting, creates a topic all or nothing (a failure while opening its files leaves neither the
 * catalog entry nor any partition directory), and a start with more partitions than the budget is
 * a clear error naming the setting that leaves the data directory free for the next attempt.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBroker, tempDir } from '../support/start-broker.js';
import { rest, assertError } from '../support/rest.js';
import { Broker } from '../../src/broker.js';
import { FaultyFileSystem } from '../support/faulty-fs.js';
import { loadConfig } from '../../src/config/config.js';
import { startServer } from '../../src/server.js';

test('topics and partitions past maxPartitions are refused with 422 and leave nothing behind', async () => {
  const broker = await startBroker({ config: { maxPartitions: 30 } });
  const api = rest(broker.url);
  const logs = (): string[] => fs.readdirSync(path.join(broker.dataDir, 'logs'));
  try {
    assert.equal((await api.post('/v1/clusters/default/topics', { name: 'a', partitions: 20 })).status, 201);
    const before = logs();
    const msg = assertError(await api.post('/v1/clusters/default/topics', { name: 'b', partitions: 20 }), 422, 'INVALID_PARTITIONS');
    assert.match(msg, /maxPartitions/);
    assertError(await api.patch('/v1/clusters/default/topics/a', { partitions: 40 }), 422, 'INVALID_PARTITIONS');
    assertError(await api.get('/v1/clusters/default/topics/b'), 404, 'TOPIC_NOT_FOUND');
    assert.deepEqual(logs(), before);
    assert.equal((await api.post('/v1/clusters/default/topics', { name: 'b', partitions: 10 })).status, 201, 'what fits is still accepted');
  } finally {
    await broker.close();
  }
});

test('a topic whose files cannot all be created is not created at all, in the catalog or on disk', async () => {
  const dir = tempDir('webka-budget-');
  const faulty = new FaultyFileSystem();
  const options = { dataDir: dir, fs: faulty, flushIntervalMs: 0, checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, maxPartitionsPerTopic: 100, maxBatchBytes: 1 << 20 };
  let broker = Broker.open(options);
  try {
    const logs = path.join(dir, 'logs');
    const dirsBefore = faulty.readdir(logs);
    faulty.failNext({ kind: 'create', code: 'ENOSPC', match: (f) => /-3[/\\]/.test(f) });
    assert.throws(() => broker.createTopic('default', { name: 'half', partitions: 5 }));
    assert.equal(broker.catalog.findTopic('default', 'half'), undefined, 'not in the catalog');
    for (let i = 0; i < 100 && faulty.readdir(logs).length !== dirsBefore.length; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(faulty.readdir(logs), dirsBefore, 'the partitions opened before the failure are gone');
    await broker.close();
    broker = Broker.open(options);
    assert.equal(broker.catalog.findTopic('default', 'half'), undefined, 'not in the saved catalog either');
    broker.createTopic('default', { name: 'half', partitions: 5 });
    assert.equal(broker.describeTopic('default', 'half').partitions.length, 5);
  } finally {
    await broker.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a start with more partitions than the budget, or a budget beyond the open-file limit, is a clear error naming maxPartitions', async () => {
  const dir = tempDir('webka-budget-start-');
  const start = (maxPartitions: number, maxOpenSegmentFiles?: number) =>
    startServer(loadConfig({ flags: { logLevel: 'silent', port: 0, host: '127.0.0.1', dataDir: dir, maxPartitions, maxOpenSegmentFiles }, env: {}, cwd: dir }));
  try {
    let server = await start(0);
    const api = rest(server.url);
    assert.equal((await api.post('/v1/clusters/default/topics', { name: 'many', partitions: 10 })).status, 201);
    await server.close();
    await assert.rejects(start(5), /holds 10 partitions, more than maxPartitions allows \(5/);
    await assert.rejects(start(1_000_000), /maxPartitions is 1000000, but the open-file limit/);
    // the fd pool of older segments' files counts against the same limit
    await assert.rejects(start(0, 1_000_000), /maxOpenSegmentFiles is 1000000, but the open-file limit/);
    server = await start(20); // the refused starts left the data directory unlocked
    assert.equal((await rest(server.url).get('/v1/clusters/default/topics/many')).status, 200);
    await server.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
