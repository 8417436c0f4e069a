/**
 * The leader's high watermark while the ISR changes, on a real partition in a temporary
 * directory: the coordinator's ISR write is a promise the test settles, so the window between a
 * proposal and its write coming back (where acknowledged records were lost) can be held open.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { nodeFileSystem } from '../../src/storage/file-system.js';
import { Partition } from '../../src/partitions/partition.js';
import { PartitionLeader } from '../../src/replication/partition-leader.js';
import type { PartitionState } from '../../src/cluster/coordinator.js';
import { logConfig, tempDir } from '../support/log-fixtures.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Proposal {
  isr: number[];
  settle(written: boolean): void;
}

/** Leader 1 of replicas [1, 2, 3] with ISR `isr`; proposals wait for the test to settle them. */
function setUp(isr: number[], minInsync = 1): { partition: Partition; leader: PartitionLeader; state: PartitionState; proposals: Proposal[]; write(n: number): Promise<void> } {
  const tmp = tempDir();
  const partition = Partition.open(nodeFileSystem, path.join(tmp.dir, 'p-0'), 'topic-id', 0, logConfig(), { clean: false });
  cleanup.push(() => tmp.remove(), () => partition.close());
  const state: PartitionState = { leader: 1, leaderEpoch: 1, replicas: [1, 2, 3], isr, controllerEpoch: 1 };
  const proposals: Proposal[] = [];
  const leader = new PartitionLeader(partition, 1, {
    nodeId: 1,
    state: () => state,
    minInsync: () => minInsync,
    lagTimeMaxMs: 10_000,
    proposeIsr: (next) => new Promise<boolean>((resolve) => proposals.push({ isr: next, settle: resolve })),
  });
  const write = async (n: number): Promise<void> => {
    const records = Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`), headers: [], timestamp: Date.now() }));
    partition.append(records, { compression: 'none', logAppendTime: false });
    await partition.log.flush();
  };
  return { partition, leader, state, proposals, write };
}

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('a follower proposed for the ISR bounds the high watermark before the write comes back', async () => {
  const { partition, leader, state, proposals, write } = setUp([1, 2]);
  await write(5);
  leader.onFetch(2, 5, 5);
  assert.equal(partition.highWatermark, 5);
  leader.onFetch(3, 5, 5); // replica 3 holds everything below the high watermark: it may join
  assert.deepEqual(proposals.map((p) => p.isr), [[1, 2, 3]]);

  await write(5);
  leader.onFetch(2, 10, 10);
  // the stored ISR is still [1, 2], but 3 is about to be in it holding only 5 records: were the
  // high watermark 10, records 5..9 would be acknowledged while an ISR member lacks them
  assert.equal(partition.highWatermark, 5);
  leader.onFetch(3, 5, 5); // no second proposal while the first is in flight
  assert.equal(proposals.length, 1);

  state.isr = [1, 2, 3];
  leader.stateChanged();
  proposals[0].settle(true);
  await settled();
  assert.equal(partition.highWatermark, 5);
  leader.onFetch(3, 10, 10);
  assert.equal(partition.highWatermark, 10);
});

test('a refused join stops bounding the high watermark, and the follower is proposed again on its next fetch', async () => {
  const { partition, leader, proposals, write } = setUp([1, 2]);
  await write(4);
  leader.onFetch(2, 4, 4);
  leader.onFetch(3, 4, 4);
  await write(4);
  leader.onFetch(2, 8, 8);
  assert.equal(partition.highWatermark, 4);

  proposals[0].settle(false); // the coordinator refused it (the state moved on)
  await settled();
  assert.equal(partition.highWatermark, 8, 'only the stored ISR [1, 2] bounds it now');
  leader.onFetch(3, 4, 4); // 3 no longer holds everything below the high watermark: not proposed
  assert.equal(proposals.length, 1);
  leader.onFetch(3, 8, 8);
  assert.deepEqual(proposals.map((p) => p.isr), [[1, 2, 3], [1, 2, 3]]);
});

test('a shrink counts only once written: until then the follower still bounds the high watermark', async () => {
  const { partition, leader, state, proposals, write } = setUp([1, 2, 3]);
  await write(3);
  leader.onFetch(2, 3, 3);
  leader.onFetch(3, 3, 3, 0);
  assert.equal(partition.highWatermark, 3);
  await write(3);
  leader.onFetch(2, 6, 6);
  leader.checkLag(Date.now() + 5_000);
  assert.deepEqual(proposals.map((p) => p.isr), [[1, 2]]);
  assert.equal(partition.highWatermark, 3);

  state.isr = [1, 2];
  leader.stateChanged();
  assert.equal(partition.highWatermark, 6);
});

test('a shrink below min.insync.replicas fails the batches waiting for acks=all, though it lets the high watermark pass them', async () => {
  const { partition, leader, state, proposals, write } = setUp([1, 2, 3], 3);
  await write(2);
  leader.onFetch(2, 2, 2);
  leader.onFetch(3, 2, 2, 0);
  assert.equal(partition.highWatermark, 2);
  await leader.awaitCommitted(2); // all three hold it

  await write(2); // followers 2 and 3 stop fetching: acks=all of offsets 2..3 waits for them
  const waiting = leader.awaitCommitted(4);
  const outcome = waiting.then(() => 'acknowledged', (err: { code?: string }) => err.code);
  leader.checkLag(Date.now() + 20_000);
  assert.deepEqual(proposals.map((p) => p.isr), [[1]]);
  state.isr = [1];
  leader.stateChanged(); // the shrink is written: the leader alone bounds the high watermark now
  assert.equal(partition.highWatermark, 4, 'readers see the batch (the leader holds it durably)');
  assert.equal(await outcome, 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'but it is not acknowledged: one copy, where min.insync.replicas asks three');
  // and a later ask for the same batch is refused alike, as long as the ISR is short
  await assert.rejects(leader.awaitCommitted(4), (err: { code?: string }) => err.code === 'NOT_ENOUGH_REPLICAS_AFTER_APPEND');
});
