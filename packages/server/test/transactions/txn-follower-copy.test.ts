/**
 * A transaction's coordinator in a cluster ends a transaction on this broker's copy of a partition
 * only where this broker leads it. Between a leadership move and the partition state's arrival
 * here, the coordinator's copy can be a follower's (its replica hooks say so) while no leader is
 * known. Ending the transaction on that copy would write a marker into a copy that only its
 * leader writes (this copy then differs from the leader's), or, where the follower had not yet
 * fetched the transaction's batch, find no transaction there, write no marker, and leave it open
 * on the leader's copy for good (its last stable offset stuck). The ending answers NOT_LEADER
 * instead, changes nothing, and succeeds once the copy leads again. (Without the check, the
 * ending reads this copy, writes its Prepare state and stops at the marker, which the follower's
 * copy refuses: the transaction is left half-ended until leadership settles.)
 *
 * A timeout's abort refused so (the timer tries again each second) must not take a new epoch at
 * each attempt: the epoch it fences the producer with is taken once the ending can be decided,
 * and kept in its PrepareAbort state, so that an abort done again after a failure past its
 * decision still fences with it. (The cluster's coordinator-failover test found epochs burnt
 * while the new coordinator waited for the partitions' new leaders.)
 *
 * Real Broker, group and transaction coordinators on a temporary data directory; the cluster's
 * inter-broker calls are a stand-in that says "this broker" for every partition and group, as
 * the coordinator's view does while the partition's state has not reached it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Broker } from '../../src/broker.js';
import { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import { TransactionCoordinator, type TxnRemote } from '../../src/transactions/transaction-coordinator.js';
import { TXN_TOPIC, TXN_TOPIC_CONFIGS, TXN_TOPIC_PARTITIONS } from '../../src/transactions/txn-state-log.js';
import type { Partition, ReplicaHooks } from '../../src/partitions/partition.js';
import { tempDir } from '../support/start-broker.js';
import { WebkaError } from '../../src/errors.js';

const C = 'default';
const ALICE = { name: 'alice', superuser: false };

/** A leader with no followers: committed once its own copy is durable. */
const leading = (p: Partition): ReplicaHooks => ({ leads: true, checkAppend: () => undefined, awaitCommitted: (upTo) => p.log.flush(upTo) });
const following: ReplicaHooks = {
  leads: false,
  checkAppend: () => {
    throw new WebkaError('NOT_LEADER', 'this copy follows', { leader: -1 });
  },
  awaitCommitted: () => Promise.reject(new Error('a follower commits nothing')),
};

/** Every partition and group is this broker's (leaderElsewhere undefined); nothing else is asked. */
const here: TxnRemote = {
  leaderElsewhere: () => undefined,
  groupElsewhere: () => undefined,
  firstOffsets: () => Promise.reject(new Error('not asked')),
  writeMarkers: () => Promise.reject(new Error('not asked')),
  offsetsEnd: () => Promise.reject(new Error('not asked')),
  verifyJoined: () => Promise.reject(new Error('not asked')),
  addOffsets: () => Promise.reject(new Error('not asked')),
  commitOffsets: () => Promise.reject(new Error('not asked')),
};

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = tempDir('webka-txn-follower-');
  dirs.push(d);
  return d;
}

/** A broker whose state partitions this broker leads, with topic `out` (one partition, leading) and a transaction open on it. */
async function openTransaction(dir: string, transactionalId: string) {
  const broker = Broker.open({ dataDir: dir, flushIntervalMs: 0, checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, onWarning: () => undefined });
  await broker.ready();
  const groups = new GroupCoordinator(broker, { timers: false });
  const txns = new TransactionCoordinator(broker, groups, { timeoutCheckMs: 0, remote: here });
  const close = async (): Promise<void> => {
    txns.close();
    groups.close();
    await broker.close();
  };
  // as the controller defines them in a cluster; this broker leads the state partitions
  broker.createTopic(C, { name: TXN_TOPIC, partitions: TXN_TOPIC_PARTITIONS, configs: TXN_TOPIC_CONFIGS }, true);
  for (const p of broker.topicPartitions(C, TXN_TOPIC)) p.replica = leading(p);
  broker.createTopic(C, { name: 'out', partitions: 1 });
  const out = broker.partition(C, 'out', 0);
  out.replica = leading(out);
  const producer = await txns.init(C, transactionalId, 60_000, ALICE);
  await broker.produce(C, 'out', [{ key: null, value: Buffer.from('v'), headers: [], partition: 0 }], {
    acks: 'all',
    caller: ALICE,
    producer: { ...producer, sequence: 0, transactional: true },
    joinTransaction: (partitions) => txns.join(C, transactionalId, producer, ALICE, 'out', partitions),
  });
  assert.equal(out.log.highWatermark, 1);
  assert.equal(out.lastStableOffset, 0, 'the open transaction holds the last stable offset at its start');
  return { broker, txns, out, producer, close };
}

test('an ending meets a copy that follows, with no leader known: NOT_LEADER and nothing changes; once the copy leads, the commit marks it', async () => {
  const { txns, out, producer, close } = await openTransaction(dir(), 'enricher');
  try {
    // leadership moved away; the new state has not arrived here
    out.replica = following;
    await assert.rejects(txns.end(C, 'enricher', producer, ALICE, 'commit'), (err: Error & { code?: string }) => err.code === 'NOT_LEADER');
    assert.equal(txns.describe(C, 'enricher', ALICE).state, 'Ongoing', 'the transaction is not ended');
    assert.equal(out.log.nextOffset, 1, 'no marker was written');

    // this broker leads again: the same commit ends it, with its marker
    out.replica = leading(out);
    await txns.end(C, 'enricher', producer, ALICE, 'commit');
    assert.equal(txns.describe(C, 'enricher', ALICE).state, 'CompleteCommit');
    assert.equal(out.log.nextOffset, 2, 'the commit marker follows the record');
    assert.equal(out.log.highWatermark, 2);
    assert.equal(out.lastStableOffset, 2, 'nothing holds the last stable offset');
    assert.deepEqual(out.read(0, { maxBytes: 1 << 20, maxRecords: 10, isolation: 'read_committed' }).records.map((r) => r.value?.toString()), ['v']);
  } finally {
    await close();
  }
});

test('a timeout abort refused while the copy follows takes no epoch: once the copy leads, it aborts with the next epoch, the one its producer is fenced with', async () => {
  const { txns, out, producer, close } = await openTransaction(dir(), 'slow');
  try {
    out.replica = following;
    const later = Date.now() + 120_000;
    for (let i = 0; i < 3; i++) await txns.abortExpired(later + i);
    const d = txns.describe(C, 'slow', ALICE);
    assert.equal(d.state, 'Ongoing', 'three refused attempts leave the transaction open');
    assert.equal(d.producerEpoch, producer.producerEpoch);
    assert.equal(out.log.nextOffset, 1);

    out.replica = leading(out);
    assert.equal(await txns.abortExpired(later + 10), 1);
    const ended = txns.describe(C, 'slow', ALICE);
    assert.equal(ended.state, 'CompleteAbort');
    assert.deepEqual({ producerId: ended.producerId, producerEpoch: ended.producerEpoch }, { producerId: producer.producerId, producerEpoch: producer.producerEpoch + 1 }, 'one epoch, not one per attempt');
    assert.equal(out.lastStableOffset, 2, 'the abort marker ends it');
    assert.deepEqual(out.read(0, { maxBytes: 1 << 20, maxRecords: 10, isolation: 'read_committed' }).records, []);
    await assert.rejects(txns.end(C, 'slow', producer, ALICE, 'commit'), (err: Error & { code?: string }) => err.code === 'PRODUCER_FENCED');
  } finally {
    await close();
  }
});

test('a timeout abort that fails after its decision fences its producer when it is done again', async () => {
  const { txns, out, producer, close } = await openTransaction(dir(), 'stuck');
  try {
    // the marker is written, but the followers never confirm it (the ISR shrank under it)
    out.replica = { leads: true, checkAppend: () => undefined, awaitCommitted: () => Promise.reject(new WebkaError('NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'the ISR shrank')) };
    const later = Date.now() + 120_000;
    assert.equal(await txns.abortExpired(later), 0);
    assert.equal(txns.describe(C, 'stuck', ALICE).state, 'PrepareAbort', 'decided, not yet complete');

    // the timer does the ending again once the marker can be committed
    out.replica = leading(out);
    await txns.abortExpired(later + 1);
    const ended = txns.describe(C, 'stuck', ALICE);
    assert.equal(ended.state, 'CompleteAbort');
    assert.equal(ended.producerEpoch, producer.producerEpoch + 1, 'the epoch decided with the abort, kept in its Prepare state');
    await assert.rejects(txns.end(C, 'stuck', producer, ALICE, 'commit'), (err: Error & { code?: string }) => err.code === 'PRODUCER_FENCED');
  } finally {
    await close();
  }
});
