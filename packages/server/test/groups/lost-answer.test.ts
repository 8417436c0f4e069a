/**
 * A group poll whose answer never reaches its client is not a delivery. Two mechanisms, each
 * tested on a real broker and coordinator: a poll whose client is already gone (its connection
 * closed before the poll ran, or while it waited) reads nothing, and an answer the HTTP layer
 * could not hand over (the connection closed before the response finished) is unread: an
 * at-least-once member reads those records again, so a commit of its position cannot skip them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Broker } from '../../src/broker.js';
import { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import { tempDir } from '../support/start-broker.js';

async function setup(): Promise<{ broker: Broker; coordinator: GroupCoordinator; memberId: string; done(): Promise<void> }> {
  const dir = tempDir();
  const broker = Broker.open({ dataDir: dir, flushIntervalMs: 0, checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, maxPartitionsPerTopic: 100, maxBatchBytes: 1 << 20 });
  const coordinator = new GroupCoordinator(broker, { timers: false });
  broker.createTopic('default', { name: 'lost', partitions: 1 });
  await broker.produce('default', 'lost', ['r0', 'r1', 'r2'].map((v) => ({ key: null, value: Buffer.from(JSON.stringify(v)), headers: [], partition: 0 })), { acks: 'all' });
  const { memberId } = coordinator.join('default', 'g', { topics: ['lost'], autoOffsetReset: 'earliest', autoCommit: false });
  return {
    broker,
    coordinator,
    memberId,
    done: async () => {
      coordinator.close();
      await broker.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const opts = { maxRecords: 100, maxBytes: 1 << 20, maxWaitMs: 0 };
const values = (r: { records: Array<{ record: { value: Buffer | null } }> }) => r.records.map((x) => JSON.parse(x.record.value!.toString()));

test('a poll whose client is already gone reads nothing; the next poll gets the records', async () => {
  const { coordinator, memberId, done } = await setup();
  try {
    const gone = await coordinator.poll('default', 'g', memberId, { ...opts, signal: AbortSignal.abort() });
    assert.deepEqual(gone.records, []);
    assert.deepEqual(values(await coordinator.poll('default', 'g', memberId, opts)), ['r0', 'r1', 'r2']);
  } finally {
    await done();
  }
});

test('an answer that was not delivered is unread: the next poll reads it again and a commit does not skip it', async () => {
  const { coordinator, memberId, done } = await setup();
  try {
    const lost = await coordinator.poll('default', 'g', memberId, opts);
    assert.deepEqual(values(lost), ['r0', 'r1', 'r2']);
    coordinator.unread('default', 'g', memberId, lost);
    const again = await coordinator.poll('default', 'g', memberId, opts);
    assert.deepEqual(values(again), ['r0', 'r1', 'r2']);
    // once a later poll has read on, an old answer's unread changes nothing (no duplicates)
    coordinator.unread('default', 'g', memberId, lost);
    assert.deepEqual(values(await coordinator.poll('default', 'g', memberId, opts)), []);
    const committed = await coordinator.commit('default', 'g', memberId);
    assert.deepEqual(committed.offsets.map((o) => o.offset), [3]);
  } finally {
    await done();
  }
});
