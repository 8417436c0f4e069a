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

const dir = tempDir('webka-txn-follower-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('an ending meets a copy that follows, with no leader known: NOT_LEADER and nothing changes; once the copy leads, the commit marks it', async () => {
  const broker = Broker.open({ dataDir: dir, flushIntervalMs: 0, checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, onWarning: () => undefined });
  await broker.ready();
  const groups = new GroupCoordinator(broker, { timers: false });
  const txns = new TransactionCoordinator(broker, groups, { timeoutCheckMs: 0, remote: here });
  try {
    // as the controller defines them in a cluster; this broker leads the state partitions
    broker.createTopic(C, { name: TXN_TOPIC, partitions: TXN_TOPIC_PARTITIONS, configs: TXN_TOPIC_CONFIGS }, true);
    for (const p of broker.topicPartitions(C, TXN_TOPIC)) p.replica = leading(p);
    broker.createTopic(C, { name: 'out', partitions: 1 });
    const out = broker.partition(C, 'out', 0);
    out.replica = leading(out);

    const producer = await txns.init(C, 'enricher', 60_000, ALICE);
    await broker.produce(C, 'out', [{ key: null, value: Buffer.from('v'), headers: [], partition: 0 }], {
      acks: 'all',
      caller: ALICE,
      producer: { ...producer, sequence: 0, transactional: true },
      joinTransaction: (partitions) => txns.join(C, 'enricher', producer, ALICE, 'out', partitions),
    });
    assert.equal(out.log.highWatermark, 1);
    assert.equal(out.lastStableOffset, 0, 'the open transaction holds the last stable offset at its start');

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
    txns.close();
    groups.close();
    await broker.close();
  }
});
