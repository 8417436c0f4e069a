/**
 * The group's view of a partition led elsewhere (groups/remote-partition.ts), against a leader
 * the test answers by hand: how many fetches a run of reads starts (one at a time, never a loop
 * of its own), what a read returns from a fetched chunk, and how failures and empty answers pause.
 * The cluster test group-remote-reads.test.ts runs it against real brokers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RemotePartition, REMOTE_BUDGET_BYTES, REMOTE_CHUNK_BYTES, REMOTE_IDLE_MS, REMOTE_MIN_CHUNK_BYTES, REMOTE_RETRY_MS, remoteChunkBytes, type RemoteReadAnswer } from '../../src/groups/remote-partition.js';
import type { DecodedRecord } from '../../src/storage/record-batch.js';

interface Asked {
  offset: number;
  maxWaitMs: number;
  answer(a: Partial<RemoteReadAnswer> & { records?: DecodedRecord[] }): Promise<void>;
  fail(err: Error): Promise<void>;
}

const record = (offset: number): DecodedRecord => ({ offset, timestamp: 0, key: null, value: Buffer.from(`v${offset}`), headers: [] });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function setUp(): { view: RemotePartition; asked: Asked[]; errors: Error[]; clock: { now: number } } {
  const asked: Asked[] = [];
  const errors: Error[] = [];
  const clock = { now: 1_000_000 };
  const view = new RemotePartition(
    (req) =>
      new Promise((resolve, reject) => {
        asked.push({
          offset: req.offset,
          maxWaitMs: req.maxWaitMs,
          answer: async (a) => {
            resolve({ records: [], nextOffset: req.offset, logStartOffset: 0, highWatermark: 10, logEndOffset: 10, ...a });
            await tick();
          },
          fail: async (err) => {
            reject(err);
            await tick();
          },
        });
      }),
    (err) => errors.push(err),
    () => clock.now,
  );
  return { view, asked, errors, clock };
}

test('the offsets are unknown until the leader answers a request for them alone', async () => {
  const { view, asked } = setUp();
  assert.equal(view.known, false);
  assert.equal(view.known, false);
  assert.deepEqual(asked.map((a) => [a.offset, a.maxWaitMs]), [[-1, 0]], 'one request, for the offsets alone, that does not wait');
  await asked[0].answer({ logStartOffset: 3, highWatermark: 8, logEndOffset: 9 });
  assert.deepEqual([view.known, view.logStartOffset, view.highWatermark, view.logEndOffset], [true, 3, 8, 9]);
});

test('a read it cannot answer starts one long-poll fetch; its answer wakes subscribers and is read in pieces', async () => {
  const { view, asked } = setUp();
  let woken = 0;
  view.subscribe(() => woken++);
  const opts = { maxRecords: 3, maxBytes: 1 << 20 };
  assert.deepEqual(view.read(0, opts), { records: [], nextOffset: 0 });
  assert.deepEqual(view.read(0, opts), { records: [], nextOffset: 0 });
  assert.equal(asked.length, 1, 'no second fetch while one is in flight');
  assert.ok(asked[0].maxWaitMs > 0, 'a long poll');
  await asked[0].answer({ records: [0, 1, 2, 3, 5].map(record), nextOffset: 6 });
  assert.equal(woken, 1);

  const first = view.read(0, opts);
  assert.deepEqual(first.records.map((r) => r.offset), [0, 1, 2]);
  assert.equal(first.nextOffset, 3);
  assert.equal(asked.length, 1, 'the chunk is not used up: nothing fetched');
  const rest = view.read(3, opts);
  assert.deepEqual(rest.records.map((r) => r.offset), [3, 5], 'offsets kept as the leader gave them (4 was compacted away)');
  assert.equal(rest.nextOffset, 6);
  assert.deepEqual(asked.map((a) => a.offset), [0, 6], 'the chunk used up: what follows is fetched at once');
});

test('an empty answer that did not wait, and a failure, pause fetching; a failure is reported once per run', async () => {
  const { view, asked, errors, clock } = setUp();
  let woken = 0;
  view.subscribe(() => woken++);
  const opts = { maxRecords: 10, maxBytes: 1 << 20 };
  view.read(50, opts);
  await asked[0].answer({ nextOffset: 50 }); // at once, nothing: offset 50 is past this leader's end
  view.read(50, opts);
  assert.equal(asked.length, 1, 'no fetch during the pause');
  clock.now += REMOTE_RETRY_MS;
  view.read(50, opts);
  assert.equal(asked.length, 2);

  await asked[1].fail(new Error('leader gone'));
  clock.now += REMOTE_RETRY_MS;
  view.read(50, opts);
  await asked[2].fail(new Error('leader still gone'));
  assert.deepEqual(errors.map((e) => e.message), ['leader gone']);
  view.read(50, opts);
  assert.equal(asked.length, 3, 'no fetch during the pause after a failure');
  const before = woken;
  await new Promise((r) => setTimeout(r, REMOTE_RETRY_MS + 50));
  assert.ok(woken > before, 'a waiting poll is woken when the pause is over, to read (and so fetch) again');
  clock.now += REMOTE_RETRY_MS;
  view.read(50, opts);
  await asked[3].answer({ records: [record(50)], nextOffset: 51 });
  assert.deepEqual(view.read(50, opts).records.map((r) => r.offset), [50]);
  view.read(51, opts);
  await asked[4].fail(new Error('gone again'));
  assert.deepEqual(errors.map((e) => e.message), ['leader gone', 'gone again'], 'a success ends a run of failures');
});

test('a view no read or subscriber has used for a while expires, and fetches nothing after', async () => {
  const { view, asked, clock } = setUp();
  const off = view.subscribe(() => undefined);
  clock.now += REMOTE_IDLE_MS + 1;
  assert.equal(view.expire(), false, 'a subscriber (a waiting poll) keeps it');
  off();
  assert.equal(view.expire(), true);
  view.read(0, { maxRecords: 1, maxBytes: 1 });
  assert.equal(asked.length, 0);
});

test('the views of a broker share a budget: each fetch asks for at most its view\'s share, within the bounds', async () => {
  assert.equal(remoteChunkBytes(1), REMOTE_CHUNK_BYTES, 'a few views: a full chunk each');
  assert.equal(remoteChunkBytes(REMOTE_BUDGET_BYTES / REMOTE_CHUNK_BYTES), REMOTE_CHUNK_BYTES);
  assert.equal(remoteChunkBytes(4 * (REMOTE_BUDGET_BYTES / REMOTE_CHUNK_BYTES)), REMOTE_CHUNK_BYTES / 4, 'four times as many views: a quarter each');
  assert.equal(remoteChunkBytes(1_000_000), REMOTE_MIN_CHUNK_BYTES, 'never below the floor');
  let views = 1;
  const asked: number[] = [];
  const view = new RemotePartition(
    async (req) => {
      asked.push(req.maxBytes);
      return { records: [], nextOffset: req.offset, logStartOffset: 0, highWatermark: 0, logEndOffset: 0 };
    },
    () => undefined,
    Date.now,
    () => remoteChunkBytes(views),
  );
  view.read(0, { maxRecords: 1, maxBytes: 1 });
  await tick();
  views = 1_000;
  await new Promise((r) => setTimeout(r, REMOTE_RETRY_MS + 50));
  view.read(0, { maxRecords: 1, maxBytes: 1 });
  await tick();
  view.close();
  assert.deepEqual(asked, [REMOTE_CHUNK_BYTES, remoteChunkBytes(1_000)], 'each fetch asks for the share of the views there are then');
});

test('a position outside the view\'s offsets is confirmed only by offsets asked for after it was found outside, never by an answer already on its way', async () => {
  const { view, asked, clock } = setUp();
  view.read(0, { maxRecords: 10, maxBytes: 1 << 20 });
  await asked[0].answer({ records: [0, 1].map(record), nextOffset: 2, logEndOffset: 100, highWatermark: 100 });
  assert.equal(view.logEndOffset, 100);
  // a long poll goes out from the chunk's end; meanwhile a member's committed 450 is outside
  view.read(0, { maxRecords: 10, maxBytes: 1 << 20 });
  assert.deepEqual(asked.map((a) => a.offset), [0, 2], 'the chunk used up: a long poll for what follows');
  assert.equal(view.confirmOutside(450), false, 'not on the offsets in hand');
  assert.equal(asked.length, 2, 'the long poll is in flight: nothing more is asked yet');
  clock.now += 1_000; // the long poll waited its time, and comes back empty
  await asked[1].answer({ nextOffset: 2, logEndOffset: 100, highWatermark: 100 });
  assert.equal(view.confirmOutside(450), false, 'not on the answer of a fetch asked before the question');
  assert.deepEqual(asked.map((a) => a.offset), [0, 2, -1], 'the offsets alone, asked now');
  await asked[2].answer({ logEndOffset: 600, highWatermark: 600 });
  assert.equal(view.logEndOffset, 600, 'the leader\'s end has moved on: 450 is inside, nothing to reset');
  // when the leader, asked again, still puts a position outside, it is confirmed
  assert.equal(view.confirmOutside(900), false);
  await asked[3].answer({ logEndOffset: 600, highWatermark: 600 });
  assert.equal(view.confirmOutside(900), true, 'outside on offsets asked for after the question');
});
