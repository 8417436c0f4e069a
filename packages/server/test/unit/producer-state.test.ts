import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Broker, type BrokerOptions } from '../../src/broker.js';

function options(dataDir: string): BrokerOptions {
  return { dataDir, flushIntervalMs: 0, checkpointIntervalMs: 60_000, retentionCheckIntervalMs: 60_000, maxPartitionsPerTopic: 100, maxBatchBytes: 1 << 20 };
}

const rec = (v: string) => ({ key: null, value: Buffer.from(v), headers: [] });

for (const stop of ['clean', 'unclean'] as const) {
  test(`an idempotent retry after a ${stop} restart answers with the first offsets and writes nothing`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-ps-'));
    let broker = Broker.open(options(dir));
    broker.createTopic('default', { name: 'payments', partitions: 3 });
    const producer = await broker.allocateProducer('default');
    const first = await broker.produce('default', 'payments', [rec('a'), rec('b')], { acks: 'all', producer: { ...producer, sequence: 0 } });
    await broker.produce('default', 'payments', [rec('c')], { acks: 'all', producer: { ...producer, sequence: 1 } });
    if (stop === 'clean') await broker.close();
    broker = Broker.open(options(dir));
    // (as the server does before it listens: recovered data is fsynced, then readable)
    await broker.ready();
    t.after(async () => {
      await broker.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const retry = await broker.produce('default', 'payments', [rec('a'), rec('b')], { acks: 'all', producer: { ...producer, sequence: 0 } });
    assert.deepEqual(retry.map((r) => [r.partition, r.offset]), first.map((r) => [r.partition, r.offset]));
    const total = broker.describeTopic('default', 'payments').partitions.reduce((n, p) => n + p.highWatermark, 0);
    assert.equal(total, 3, 'the retry wrote nothing');
    await assert.rejects(
      broker.produce('default', 'payments', [rec('d')], { acks: 'all', producer: { ...producer, sequence: 3 } }),
      (e: { code?: string }) => e.code === 'OUT_OF_ORDER_SEQUENCE',
    );
    const next = await broker.produce('default', 'payments', [rec('d')], { acks: 'all', producer: { ...producer, sequence: 2 } });
    assert.equal(next.length, 1);
  });
}
