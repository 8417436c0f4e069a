/**
 * Readers see only what a power cut cannot take back: the high watermark is the fsynced end of
 * the log. The broker runs on the real disk through a file system whose fdatasync the test can
 * hold back, so "written but not yet durable" is a state the test controls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Broker } from '../../src/broker.js';
import { nodeFileSystem, type FileSystem } from '../../src/storage/file-system.js';
import { tempDir } from '../support/start-broker.js';

/** The node file system, with fdatasync held until release() while held is true. */
function gatedFs(): { fs: FileSystem; hold(): void; release(): void; waiting(): number } {
  let held = false;
  let queue: Array<() => void> = [];
  const gated: FileSystem = {
    ...nodeFileSystem,
    datasync: async (fd: number) => {
      if (held) await new Promise<void>((resolve) => queue.push(resolve));
      return nodeFileSystem.datasync(fd);
    },
  };
  return {
    fs: gated,
    hold: () => (held = true),
    release: () => {
      held = false;
      const q = queue;
      queue = [];
      for (const r of q) r();
    },
    waiting: () => queue.length,
  };
}

const value = (s: string) => ({ key: null, value: Buffer.from(s), headers: [], partition: 0 });
const fetchReq = (offset: number, maxWaitMs = 0) => ({ offset, maxRecords: 100, maxBytes: 1 << 20, maxWaitMs });

test('an acks=1 record is readable only once fsynced; a long poll waiting for it wakes when it is', async () => {
  const dir = tempDir();
  const g = gatedFs();
  const broker = Broker.open({ dataDir: dir, fs: g.fs, flushIntervalMs: 0, checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, maxPartitionsPerTopic: 100, maxBatchBytes: 1 << 20 });
  try {
    broker.createTopic('default', { name: 'events', partitions: 1 });
    await broker.produce('default', 'events', [value('durable')], { acks: 'all' });

    g.hold();
    const [written] = await broker.produce('default', 'events', [value('in the page cache')], { acks: 1 });
    assert.equal(written.offset, 1, 'acks=1 answers with its offset at once');
    const now = await broker.fetch('default', 'events', 0, fetchReq(1));
    assert.deepEqual(now.records, [], 'not readable before its fsync');
    assert.equal(now.highWatermark, 1, 'the high watermark is the durable end');
    // nobody waits for it yet: its fsync starts within the background pace, unasked
    for (let i = 0; i < 200 && g.waiting() === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(g.waiting() > 0, 'an fsync is in flight without anyone asking for it');

    const poll = broker.fetch('default', 'events', 0, fetchReq(1, 10_000));
    g.release();
    const woken = await poll;
    assert.deepEqual(woken.records.map((r) => r.value!.toString()), ['in the page cache']);
    assert.equal(woken.highWatermark, 2);
  } finally {
    g.release();
    await broker.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
