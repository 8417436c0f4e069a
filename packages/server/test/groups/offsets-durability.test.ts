/**
 * Committed offsets and the disk: a commit answers only once durable and memory follows the disk
 * (a failed fsync leaves no trace in memory), a leave always succeeds even when its final commit
 * cannot be written, and one damaged `__consumer_offsets` partition takes only its own groups
 * offline, not the broker. A real broker on the in-memory fault-injecting file system (the same
 * Broker, Partition and Log code as production; only the disk is simulated).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker } from '../../src/broker.js';
import { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import { OFFSETS_TOPIC, groupPartition, OFFSETS_TOPIC_PARTITIONS } from '../../src/groups/offset-store.js';
import { WebkaError } from '../../src/errors.js';
import { FaultyFileSystem } from '../support/faulty-fs.js';

function open(fsys: FaultyFileSystem): Broker {
  fsys.mkdirp('/data');
  return Broker.open({ dataDir: '/data', fs: fsys, flushIntervalMs: 0, checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, maxPartitionsPerTopic: 100, maxBatchBytes: 1 << 20 });
}

async function withRecords(broker: Broker, topic: string, n: number): Promise<void> {
  broker.createTopic('default', { name: topic, partitions: 1 });
  await broker.produce('default', topic, Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`), headers: [], partition: 0 })), { acks: 'all' });
}

const isCode = (code: string) => (e: unknown) => e instanceof WebkaError && e.code === code;

test('a commit whose fsync fails leaves memory as the disk has it; an identical commit after it is refused, not answered 200', async () => {
  const fsys = new FaultyFileSystem();
  const broker = open(fsys);
  const coordinator = new GroupCoordinator(broker, { timers: false });
  await withRecords(broker, 'orders', 5);
  const m = coordinator.join('default', 'billing', { topics: ['orders'], autoCommit: false, autoOffsetReset: 'earliest' });
  const polled = await coordinator.poll('default', 'billing', m.memberId, { maxRecords: 10, maxBytes: 1 << 20, maxWaitMs: 0 });
  assert.equal(polled.records.length, 5);
  await coordinator.commit('default', 'billing', m.memberId, [{ topic: 'orders', partition: 0, offset: 2 }]);

  fsys.failNext({ kind: 'fsync', code: 'EIO', match: (f) => f.includes('/logs/') });
  await assert.rejects(coordinator.commit('default', 'billing', m.memberId), isCode('PARTITION_OFFLINE'));
  assert.equal(coordinator.offsets.get('default', 'billing', 'orders', 0)?.offset, 2, 'memory still holds what the disk holds');
  await assert.rejects(coordinator.commit('default', 'billing', m.memberId), isCode('PARTITION_OFFLINE'), 'the retry is not skipped as already committed');
  coordinator.close();
  await broker.close();
});

test('a commit that arrives during another commit\'s fsync answers after it, never before', async () => {
  const fsys = new FaultyFileSystem();
  const broker = open(fsys);
  const coordinator = new GroupCoordinator(broker, { timers: false });
  await withRecords(broker, 'orders', 3);
  const m = coordinator.join('default', 'billing', { topics: ['orders'], autoCommit: false, autoOffsetReset: 'earliest' });
  assert.equal((await coordinator.poll('default', 'billing', m.memberId, { maxRecords: 10, maxBytes: 1 << 20, maxWaitMs: 0 })).records.length, 3);
  const order: string[] = [];
  const first = coordinator.commit('default', 'billing', m.memberId).then(() => order.push('first'));
  const second = coordinator.commit('default', 'billing', m.memberId).then(() => order.push('second'));
  await Promise.all([first, second]);
  assert.deepEqual(order, ['first', 'second']);
  assert.equal(coordinator.offsets.get('default', 'billing', 'orders', 0)?.offset, 3);
  coordinator.close();
  await broker.close();
});

test('a member leaves even when its final commit cannot be written, and the answer says why', async () => {
  const fsys = new FaultyFileSystem();
  const broker = open(fsys);
  const coordinator = new GroupCoordinator(broker, { timers: false });
  await withRecords(broker, 'orders', 4);
  const m = coordinator.join('default', 'billing', { topics: ['orders'], autoCommit: true, autoOffsetReset: 'earliest' });
  assert.equal((await coordinator.poll('default', 'billing', m.memberId, { maxRecords: 10, maxBytes: 1 << 20, maxWaitMs: 0 })).records.length, 4);
  // take the group's offsets partition offline: its next append throws at once
  await coordinator.commit('default', 'billing', m.memberId, [{ topic: 'orders', partition: 0, offset: 1 }]);
  const offsetsPartition = broker.partition('default', OFFSETS_TOPIC, groupPartition('billing', OFFSETS_TOPIC_PARTITIONS));
  offsetsPartition.log.markOffline('test: the offsets partition is offline');

  const left = await coordinator.leave('default', 'billing', m.memberId);
  assert.equal(left.finalCommitError?.code, 'PARTITION_OFFLINE');
  assert.equal(coordinator.findGroup('default', 'billing')?.members.size, 0, 'the member is gone');
  coordinator.close();
  await broker.close();
});

test('a damaged __consumer_offsets partition takes its own groups offline; the broker and the other groups carry on', async () => {
  const fsys = new FaultyFileSystem();
  let broker = open(fsys);
  let coordinator = new GroupCoordinator(broker, { timers: false });
  await withRecords(broker, 'orders', 4);
  // two groups on different offsets partitions
  const groups = ['billing', 'audit', 'ship', 'mail', 'search'];
  const a = groups[0];
  const b = groups.find((g) => groupPartition(g, OFFSETS_TOPIC_PARTITIONS) !== groupPartition(a, OFFSETS_TOPIC_PARTITIONS))!;
  for (const g of [a, b]) await coordinator.commitStandalone('default', g, [{ topic: 'orders', partition: 0, offset: 3 }]);
  coordinator.close();
  await broker.close();

  // flip a byte inside the first batch of a's offsets partition (a clean stop: no scan at start)
  const dir = `/data/logs/${broker.catalog.findTopic('default', OFFSETS_TOPIC)!.id}-${groupPartition(a, OFFSETS_TOPIC_PARTITIONS)}`;
  const seg = `${dir}/${'0'.repeat(20)}.log`;
  const bytes = fsys.readFile(seg);
  bytes[bytes.length - 5] ^= 0xff;
  fsys.writeFileAtomic(seg, bytes);

  broker = open(fsys);
  coordinator = new GroupCoordinator(broker, { timers: false });
  assert.throws(() => coordinator.offsets.get('default', a, 'orders', 0), (e: unknown) => isCode('PARTITION_OFFLINE')(e) && /cannot be served/.test((e as Error).message));
  assert.equal(coordinator.offsets.get('default', b, 'orders', 0)?.offset, 3, 'the other group still has its offset');
  // and the rest of the broker serves
  const read = broker.partition('default', 'orders', 0).read(0, { maxRecords: 10, maxBytes: 1 << 20 });
  assert.equal(read.records.length, 4);
  coordinator.close();
  await broker.close();
});
