/**
 * Replica assignment for new topics (Kafka's rack-unaware spread) and the controller's first
 * write of their partition states to a real etcd: leaders on the preferred replica, every replica
 * in sync, a retry idempotent, a clashing assignment refused.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assignReplicas, createPartitionStates, ReplicationFactorError } from '../../src/cluster/replica-assignment.js';
import { EtcdCoordinator } from '../../src/cluster/etcd-coordinator.js';
import { needEtcd, startEtcd, type TestEtcd } from '../support/etcd.js';

test('every partition gets distinct live replicas, and leaders spread evenly', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 40 }), fc.nat(), fc.nat(), (brokers, partitions, start, shift) => {
      const rf = 1 + (start % brokers.length);
      const a = assignReplicas(brokers, partitions, rf, start % brokers.length, shift % brokers.length);
      assert.equal(a.length, partitions);
      const leaders = new Map<number, number>();
      for (const r of a) {
        assert.equal(r.length, rf);
        assert.equal(new Set(r).size, rf, `duplicate replica in ${JSON.stringify(r)}`);
        for (const id of r) assert.ok(brokers.includes(id));
        leaders.set(r[0], (leaders.get(r[0]) ?? 0) + 1);
      }
      // leaders round-robin: no broker leads more than one partition more than another
      const counts = brokers.map((b) => leaders.get(b) ?? 0);
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `leaders ${JSON.stringify(counts)}`);
    }),
  );
});

test('a replication factor above the live brokers is refused, saying how many are alive', () => {
  assert.throws(() => assignReplicas([1, 2], 3, 3), (e: Error) => e instanceof ReplicationFactorError && /replicationFactor 3 is more than the 2 live brokers/.test(e.message));
  assert.throws(() => assignReplicas([1, 2], 3, 0), RangeError);
});

const missing = needEtcd();
if (missing !== null) console.log(`# skipping etcd partition-state tests: ${missing}`);
let etcd: TestEtcd;
before(async () => {
  if (missing === null) etcd = await startEtcd();
});
after(async () => etcd?.stop());

test('the controller writes new partitions with the preferred leader and a full ISR, once', { skip: missing ?? false }, async () => {
  const c = new EtcdCoordinator({ endpoints: [etcd.url], prefix: '/assign' });
  try {
    const term = await c.campaign(1);
    const assignment = assignReplicas([1, 2, 3], 3, 2, 0, 0);
    const states = await createPartitionStates(c, term.epoch, 'orders', assignment);
    for (const [p, replicas] of assignment.entries()) {
      const expected = { leader: replicas[0], leaderEpoch: 0, replicas, isr: replicas, controllerEpoch: term.epoch };
      assert.deepEqual(states[p], expected);
      assert.deepEqual((await c.partitionState('orders', p))?.value, expected);
    }
    assert.deepEqual(await createPartitionStates(c, term.epoch, 'orders', assignment), states); // a retry changes nothing
    await assert.rejects(createPartitionStates(c, term.epoch, 'orders', [[3, 1]]), /partition orders\/0 already has replicas/);
  } finally {
    await c.close();
  }
});
