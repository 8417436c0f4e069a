/**
 * Crashes at every step of a transaction, on the fault-injecting disk (support/faulty-fs.ts):
 * the broker (Broker, group and transaction coordinators, in this process) loses power ('drop':
 * every unsynced write is gone) or is killed ('process', kill -9: the kernel keeps every write),
 * and starts again on what the disk kept. A client then carries on as one that got no answer
 * would: it runs the transaction again with the same sequence numbers and commits it, aborts
 * it, is replaced by a new instance (init), or vanishes (the timeout aborts it). Afterwards the
 * read_committed view of the output and the group's committed offset must be exactly those of
 * the committed transactions: each record once, nothing of an aborted one, and the last stable
 * offset back at the high watermark (no transaction left hanging).
 *
 * The steps include those where a crash keeps some of a round's fsyncs and loses others: a
 * produce's records durable but its partition's join to the transaction lost, and a commit's
 * Complete state lost while the next transaction's records are durable. The negative control
 * replays the second with a Prepare state that does not say where its transaction starts (as
 * such records were written before it did): the repeated ending then commits the next
 * transaction's records, and the checker must say so. A repeated ending also must not put back a
 * transaction's offsets over a later commit of the group (with its control: a Prepare state
 * without the offsets partition's end, as written before it was kept, does).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker } from '../../src/broker.js';
import { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import { TransactionCoordinator, type ProducerIdentity } from '../../src/transactions/transaction-coordinator.js';
import { TxnStateLog, TXN_TOPIC, decodeKey, decodeValue, type TxnMetadata } from '../../src/transactions/txn-state-log.js';
import { OFFSETS_TOPIC } from '../../src/groups/offset-store.js';
import { FaultyFileSystem, type CrashMode } from '../support/faulty-fs.js';

const C = 'default';
const ID = 'enricher';
const GROUP = 'g';
const ALICE = { name: 'alice', superuser: false };

/** Where the power fails, in the life of transaction 1 (transaction 0 committed before it). */
type Step =
  | 'produce-unsynced' // the join and the records appended, their commit round not yet done
  | 'records-durable-join-lost' // the round kept the records and lost the join
  | 'produced'
  | 'offsets-added'
  | 'prepared' // PrepareCommit durable, markers and offsets not
  | 'committed-complete-lost' // the commit answered; its Complete state not yet durable
  | 'next-records-durable-complete-lost'; // and transaction 2's records durable, its join lost too
type After = 'rerun-commit' | 'abort' | 'reinit' | 'vanish';

const DECIDED: readonly Step[] = ['prepared', 'committed-complete-lost', 'next-records-durable-complete-lost'];

class Node {
  readonly disk = new FaultyFileSystem();
  broker!: Broker;
  groups!: GroupCoordinator;
  txns!: TransactionCoordinator;

  async open(opts: { coordinator?: boolean } = {}): Promise<void> {
    this.broker = Broker.open({ dataDir: '/webka', fs: this.disk.session(), flushIntervalMs: 0, checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, onWarning: () => undefined });
    await this.broker.ready();
    this.groups = new GroupCoordinator(this.broker, { timers: false });
    if (opts.coordinator === false) return;
    this.txns = new TransactionCoordinator(this.broker, this.groups, { timeoutCheckMs: 0 });
    await this.txns.recover();
  }

  crash(mode: CrashMode): void {
    this.txns?.close();
    this.groups.close();
    this.disk.crash(mode);
  }

  /** The fsyncs of these internal topics' files answer without syncing until the next crash. */
  skipSyncOf(...topics: string[]): void {
    const dirs = topics.flatMap((t) => this.broker.topicPartitions(C, t).map((p) => p.log.dir));
    this.disk.sabotage = { skipSync: (f) => dirs.some((d) => f.startsWith(d)) };
  }
}

class Client {
  producer!: ProducerIdentity;
  /** This producer's first transaction: its produce has sequence 0. */
  constructor(
    private readonly node: Node,
    private readonly first = 0,
  ) {}

  async init(): Promise<void> {
    this.producer = await this.node.txns.init(C, ID, 60_000, ALICE);
  }

  /** Transaction k: one record to each partition of `out`, offset k + 1 of `in` for the group. */
  async produce(k: number): Promise<void> {
    const { txns, broker } = this.node;
    const producer = this.producer;
    await broker.produce(C, 'out', [0, 1].map((partition) => ({ key: null, value: Buffer.from(`v${k}-${partition}`), headers: [], partition })), {
      acks: 'all',
      caller: ALICE,
      producer: { ...producer, sequence: k - this.first, transactional: true },
      joinTransaction: (partitions) => txns.join(C, ID, producer, ALICE, 'out', partitions),
    });
  }

  async addOffsets(k: number): Promise<void> {
    await this.node.txns.addOffsets(C, ID, this.producer, ALICE, { groupId: GROUP, offsets: [{ topic: 'in', partition: 0, offset: k + 1 }], checkMember: () => undefined });
  }

  async end(type: 'commit' | 'abort'): Promise<void> {
    await this.node.txns.end(C, ID, this.producer, ALICE, type);
  }

  async run(k: number): Promise<void> {
    await this.produce(k);
    await this.addOffsets(k);
    await this.end('commit');
  }
}

/** What read_committed readers and the group see, or the first thing wrong with it. */
function check(node: Node, committed: number[]): string | null {
  for (const partition of [0, 1]) {
    const p = node.broker.partition(C, 'out', partition);
    if (p.lastStableOffset !== p.highWatermark) return `out/${partition}: last stable offset ${p.lastStableOffset} is below the high watermark ${p.highWatermark}: a transaction was left hanging`;
    const r = p.read(0, { maxRecords: 10_000, maxBytes: 1 << 20, isolation: 'read_committed' });
    const got = r.records.map((x) => x.value!.toString());
    const want = committed.map((k) => `v${k}-${partition}`);
    if (got.join() !== want.join()) return `out/${partition}: read_committed gives [${got.join(', ')}], expected [${want.join(', ')}]`;
  }
  const offset = node.groups.offsets.get(C, GROUP, 'in', 0)?.offset ?? 0;
  const want = committed.length === 0 ? 0 : Math.max(...committed) + 1;
  if (offset !== want) return `group ${GROUP} committed in/0 at ${offset}, expected ${want}`;
  return null;
}

async function setup(): Promise<{ node: Node; client: Client }> {
  const node = new Node();
  await node.open();
  node.broker.createTopic(C, { name: 'in', partitions: 1 });
  node.broker.createTopic(C, { name: 'out', partitions: 2 });
  await node.broker.produce(C, 'in', Array.from({ length: 10 }, (_, i) => ({ key: null, value: Buffer.from(`in${i}`), headers: [], partition: 0 })), { acks: 'all' });
  const client = new Client(node);
  await client.init();
  await client.run(0);
  return { node, client };
}

/** Takes transaction 1 to `step` and cuts the power (or kills the process) there. */
async function crashAt(node: Node, client: Client, step: Step, mode: CrashMode): Promise<void> {
  switch (step) {
    case 'produce-unsynced': {
      const inflight = client.produce(1).catch(() => undefined);
      node.crash(mode);
      await inflight;
      return;
    }
    case 'records-durable-join-lost':
      node.skipSyncOf(TXN_TOPIC);
      await client.produce(1);
      break;
    case 'produced':
      await client.produce(1);
      break;
    case 'offsets-added':
      await client.produce(1);
      await client.addOffsets(1);
      break;
    case 'prepared':
      await client.produce(1);
      await client.addOffsets(1);
      node.skipSyncOf('out', OFFSETS_TOPIC);
      await client.end('commit');
      break;
    case 'committed-complete-lost':
      await client.run(1);
      break;
    case 'next-records-durable-complete-lost':
      await client.run(1);
      node.skipSyncOf(TXN_TOPIC);
      await client.produce(2);
      break;
  }
  node.crash(mode);
}

/** The client's part after the restart, and which transactions must then be committed. */
async function carryOn(node: Node, client: Client, step: Step, after: After): Promise<number[]> {
  const decided = DECIDED.includes(step) ? [0, 1] : [0];
  const last = step === 'next-records-durable-complete-lost' ? 2 : 1;
  switch (after) {
    case 'rerun-commit':
      await client.run(last);
      return last === 2 ? [0, 1, 2] : [0, 1];
    case 'abort':
      // the crash may have taken the whole transaction: then there is nothing open to abort
      await client.end('abort').catch((err: { code?: string }) => assert.equal(err.code, 'INVALID_TXN_STATE'));
      return decided;
    case 'reinit': {
      const next = new Client(node, 5);
      await next.init();
      await next.run(5);
      return [...decided, 5];
    }
    case 'vanish':
      assert.ok((await node.txns.abortExpired(Date.now() + 3_600_000)) <= 1);
      return decided;
  }
}

async function scenario(step: Step, mode: CrashMode, after: After, control?: 'prepare-without-first-offsets'): Promise<string | null> {
  const { node, client } = await setup();
  await crashAt(node, client, step, mode);
  if (control === 'prepare-without-first-offsets') {
    // what a Prepare state written before it kept first offsets would make of the same crash
    await node.open({ coordinator: false });
    const state = new TxnStateLog(node.broker).replay(C).get(ID)!;
    assert.equal(state.state, 'PrepareCommit');
    await new TxnStateLog(node.broker).write(C, { ...state, firstOffsets: undefined });
    node.crash('process');
  }
  await node.open();
  const committed = await carryOn(node, client, step, after);
  const problem = check(node, committed);
  return problem === null ? null : `${step} (${mode}), then ${after}: ${problem}`;
}

const STEPS: Step[] = ['produce-unsynced', 'records-durable-join-lost', 'produced', 'offsets-added', 'prepared', 'committed-complete-lost', 'next-records-durable-complete-lost'];

test('a crash at any step of a transaction leaves exactly the committed transactions visible, once, and none hanging', async () => {
  const problems: string[] = [];
  for (const step of STEPS) {
    for (const mode of ['drop', 'process'] as const) {
      const afters: After[] = DECIDED.includes(step) && step !== 'next-records-durable-complete-lost' ? ['rerun-commit', 'reinit', 'vanish'] : ['rerun-commit', 'abort', 'reinit', 'vanish'];
      for (const after of afters) {
        const problem = await scenario(step, mode, after);
        if (problem !== null) problems.push(problem);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('a crash that keeps a produce\'s records and loses its join: the transaction is found at start and holds the records', async () => {
  const { node, client } = await setup();
  await crashAt(node, client, 'records-durable-join-lost', 'drop');
  await node.open();
  const d = node.txns.describe(C, ID, ALICE);
  assert.equal(d.state, 'Ongoing');
  assert.deepEqual(d.partitions, [{ topic: 'out', partition: 0 }, { topic: 'out', partition: 1 }]);
});

test('negative control: a Prepare state without first offsets, repeated at start, commits the next transaction\'s records', async () => {
  const problem = await scenario('next-records-durable-complete-lost', 'drop', 'abort', 'prepare-without-first-offsets');
  assert.match(problem ?? '', /read_committed gives \[v0-0, v1-0, v2-0\], expected \[v0-0, v1-0\]/);
});

/** The last PrepareCommit state the transactional id wrote, read from __transaction_state. */
function lastPrepare(node: Node): TxnMetadata {
  let found: TxnMetadata | undefined;
  for (const p of node.broker.topicPartitions(C, TXN_TOPIC)) {
    const r = p.read(p.log.logStartOffset, { maxRecords: 100_000, maxBytes: 16 << 20 });
    for (const rec of r.records) {
      if (rec.key === null || rec.value === null || decodeKey(rec.key) !== ID) continue;
      const m = decodeValue(rec.value);
      if (m?.state === 'PrepareCommit') found = m;
    }
  }
  assert.ok(found !== undefined, 'a PrepareCommit state was written');
  return found;
}

/**
 * Transaction 1 commits in/0 at 2; then the group commits in/0 at 7 (another member, after a
 * rebalance); then a crash loses transaction 1's Complete state (it is not waited for), which is
 * made here by writing its Prepare state again as the id's last record. The ending repeated at
 * start must leave the later commit alone. What it returns: the committed offset after the start.
 */
async function repeatedEndingAfterLaterCommit(prepare: (m: TxnMetadata) => TxnMetadata): Promise<number | undefined> {
  const { node, client } = await setup();
  await client.run(1);
  assert.equal(node.groups.offsets.get(C, GROUP, 'in', 0)?.offset, 2);
  await node.groups.offsets.commit(C, GROUP, [{ topic: 'in', partition: 0, offset: 7 }]);
  node.crash('process');
  await node.open({ coordinator: false });
  await new TxnStateLog(node.broker).write(C, prepare(lastPrepare(node)));
  node.crash('process');
  await node.open();
  assert.equal(node.txns.describe(C, ID, ALICE).state, 'CompleteCommit', 'the ending was repeated at start');
  // the outputs are those of transactions 0 and 1 (check() then goes on to the offset, asked below)
  const problem = check(node, [0, 1]);
  assert.ok(problem === null || problem.startsWith(`group ${GROUP}`), problem ?? '');
  return node.groups.offsets.get(C, GROUP, 'in', 0)?.offset;
}

test('an ending repeated after a crash does not put back offsets older than a later commit of the group', async () => {
  assert.equal(await repeatedEndingAfterLaterCommit((m) => m), 7);
});

test('negative control: with a Prepare state that does not say where __consumer_offsets ended, the repeated ending overwrites the later commit', async () => {
  assert.equal(await repeatedEndingAfterLaterCommit((m) => ({ ...m, offsetsEnd: undefined })), 2);
});
