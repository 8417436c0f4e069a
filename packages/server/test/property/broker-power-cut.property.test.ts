/**
 * Power cuts for the whole broker: random histories of produce (acks all, 1 and 0), reads,
 * offset commits, topic creation and deletion, compaction, retention, checkpoints, clean
 * restarts, fsync errors (EIO, ENOSPC) and power cuts, run against the real Broker and group
 * coordinator on the fault-injecting file system (every file the broker writes: segments and
 * indexes, producer snapshots, `__consumer_offsets`, the catalog, recovery points, markers).
 * A power cut keeps any subset of the unsynced writes the kernel could keep (faulty-fs.ts). After
 * every restart the checker asks:
 *   - every acknowledged record (acks=all) and every record a reader was served is present at
 *     its offset, unchanged (unless retention or compaction may have removed it);
 *   - no offset acknowledged once is acknowledged again for another record;
 *   - every record present was sent to that topic, once; nothing refused appears;
 *   - every group's committed offset is the last acknowledged commit or one sent after it;
 *   - acknowledged topic creations and deletions hold; a creation that failed left nothing.
 *
 * Negative controls (switches of this harness, not of the broker): a disk that skips the
 * fdatasync of one kind of file, or that answers fdatasync before doing it, and the broker's own
 * debug switch that acknowledges from memory, must each make the same checker report loss.
 *
 * WEBKA_POWER_CUT_RUNS (default 60) histories; WEBKA_POWER_CUT_SEED to replay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Broker, type BrokerOptions } from '../../src/broker.js';
import { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import { OFFSETS_TOPIC } from '../../src/groups/offset-store.js';
import { FaultyFileSystem, prng, type CrashMode, type Sabotage } from '../support/faulty-fs.js';

const CLUSTER = 'default';
const DATA_DIR = '/webka';
const SLOTS = 3;
const GROUPS = 2;

type Policy = 'delete' | 'compact' | 'retention';
type Action =
  | { t: 'create'; slot: number; partitions: number; policy: Policy }
  | { t: 'delete'; slot: number }
  | { t: 'produce'; slot: number; acks: 'all' | 1 | 0; count: number }
  | { t: 'read'; slot: number }
  | { t: 'commit'; group: number; slot: number; pick: number }
  | { t: 'compact' }
  | { t: 'retention' }
  | { t: 'checkpoint' }
  | { t: 'powerCut'; mode: CrashMode; inflight: number; turns: number }
  | { t: 'restart'; powerCutAfter: CrashMode | null }
  | { t: 'fsyncError'; code: 'EIO' | 'ENOSPC'; target: 'log' | 'offsets' | 'catalog'; slot: number };

interface History {
  seed: number;
  actions: Action[];
}

const slot = fc.integer({ min: 0, max: SLOTS - 1 });
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('create' as const), slot, partitions: fc.integer({ min: 1, max: 2 }), policy: fc.constantFrom<Policy>('delete', 'compact', 'retention') }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), slot }) },
  { weight: 10, arbitrary: fc.record({ t: fc.constant('produce' as const), slot, acks: fc.constantFrom('all' as const, 'all' as const, 1 as const, 0 as const), count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('read' as const), slot }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('commit' as const), group: fc.integer({ min: 0, max: GROUPS - 1 }), slot, pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ t: 'compact' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'retention' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'checkpoint' as const }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('powerCut' as const), mode: fc.constantFrom<CrashMode>('drop', 'torn', 'any', 'any', 'process'), inflight: fc.integer({ min: 0, max: 3 }), turns: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const), powerCutAfter: fc.constantFrom<CrashMode | null>(null, 'drop', 'any') }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('fsyncError' as const), code: fc.constantFrom('EIO' as const, 'ENOSPC' as const), target: fc.constantFrom('log' as const, 'offsets' as const, 'catalog' as const), slot }) },
);
const history: fc.Arbitrary<History> = fc.record({ seed: fc.integer(), actions: fc.array(action, { minLength: 5, maxLength: 40 }) });

/** A harness switch that makes the run unsafe on purpose (see the file comment). */
interface Control {
  sabotage?: Sabotage;
  debugAckFromMemory?: boolean;
}

interface TopicModel {
  name: string;
  partitions: number;
  policy: Policy;
  /** partition -> offset -> value, for records acknowledged (acks=all) or served to a reader */
  promised: Array<Map<number, string>>;
}

/** One group's commits of one partition, in the order they were appended. */
type CommitLog = Array<{ offset: number; acked: boolean }>;

const stats = { histories: 0, actions: 0, restarts: 0, promisedChecked: 0, commitsChecked: 0, fsyncErrors: 0 };

const isCode = (err: unknown, ...codes: string[]): boolean => codes.includes((err as { code?: string }).code ?? '');

/** Runs one history; returns the first violation found, or null. */
async function run(h: History, control: Control = {}, trace: (m: string) => void = () => undefined): Promise<string | null> {
  stats.histories++;
  const disk = new FaultyFileSystem(prng(h.seed));
  disk.sabotage = control.sabotage ?? {};
  const random = prng(h.seed ^ 0x5bd1e995);
  const options = (): BrokerOptions => ({
    dataDir: DATA_DIR,
    fs: disk.session(),
    flushIntervalMs: 0,
    checkpointIntervalMs: 0,
    retentionCheckIntervalMs: 0,
    maxPartitionsPerTopic: 8,
    // a small fd pool: closed segments' files are closed and reopened under power cuts and faults
    maxOpenSegmentFiles: 4,
    maxBatchBytes: 1 << 20,
    debugAckFromMemory: control.debugAckFromMemory,
    onWarning: () => undefined,
  });
  let broker: Broker;
  let groups: GroupCoordinator;
  /** Bumped by every power cut: an answer that arrives in a later life never reached its client. */
  let life = 0;
  const open = async (): Promise<void> => {
    broker = Broker.open(options());
    await broker.ready();
    groups = new GroupCoordinator(broker, { timers: false });
  };
  await open();

  const topics: Array<TopicModel | null> = new Array(SLOTS).fill(null);
  const deleted = new Set<string>();
  const sent = new Map<string, string>(); // value -> topic name
  const commits = new Map<string, CommitLog>(); // group/topic/partition
  let generation = 0;
  let counter = 0;

  const promise = (m: TopicModel, partition: number, offset: number, value: string): string | null => {
    const before = m.promised[partition].get(offset);
    if (before !== undefined && before !== value) return `${m.name}/${partition} offset ${offset} promised twice: ${before}, then ${value}`;
    m.promised[partition].set(offset, value);
    return null;
  };

  /** Starts a produce; the returned promise settles with a violation or null. */
  const produce = (m: TopicModel, acks: 'all' | 1 | 0, count: number): Promise<string | null> => {
    const values = Array.from({ length: count }, () => `v${counter++}`);
    for (const v of values) sent.set(v, m.name);
    const key = (): Buffer | null => (m.policy === 'compact' || random() < 0.5 ? Buffer.from(`k${Math.floor(random() * 3)}`) : null);
    const records = values.map((v) => ({ key: key(), value: Buffer.from(v), headers: [] }));
    const at = life;
    return broker.produce(CLUSTER, m.name, records, { acks }).then(
      (out) => {
        if (at !== life || acks !== 'all') return null;
        for (let i = 0; i < out.length; i++) {
          const problem = promise(m, out[i].partition, out[i].offset, values[i]);
          if (problem) return problem;
        }
        return null;
      },
      () => null,
    );
  };

  const commit = (g: number, m: TopicModel, pick: number): Promise<string | null> => {
    const partition = pick % m.partitions;
    let hw: number;
    try {
      hw = broker.partition(CLUSTER, m.name, partition).log.highWatermark;
    } catch {
      return Promise.resolve(null);
    }
    const offset = Math.floor(pick / m.partitions) % (hw + 1);
    const key = `g${g}/${m.name}/${partition}`;
    const entry = { offset, acked: false };
    const at = life;
    let started: Promise<unknown>;
    try {
      started = groups.commitStandalone(CLUSTER, `g${g}`, [{ topic: m.name, partition, offset }]);
    } catch {
      return Promise.resolve(null);
    }
    // appended (or not) in this turn: the commit log keeps the order of the appends
    commits.set(key, [...(commits.get(key) ?? []), entry]);
    return started.then(
      () => {
        if (at === life) entry.acked = true;
        return null;
      },
      () => null,
    );
  };

  /** Every record of a partition, from its log start to its high watermark. */
  const readPartition = (m: TopicModel, partition: number): Map<number, { key: string | null; value: string }> | string => {
    const p = broker.partition(CLUSTER, m.name, partition);
    if (p.log.offlineReason !== null) return `${m.name}/${partition} is offline: ${p.log.offlineReason}`;
    const out = new Map<number, { key: string | null; value: string }>();
    let offset = p.log.logStartOffset;
    while (offset < p.log.highWatermark) {
      const r = p.read(offset, { maxRecords: 10_000, maxBytes: 1 << 20 });
      for (const rec of r.records) out.set(rec.offset, { key: rec.key?.toString() ?? null, value: rec.value?.toString() ?? '' });
      if (r.nextOffset <= offset) return `${m.name}/${partition}: a read at ${offset} made no progress`;
      offset = r.nextOffset;
    }
    return out;
  };

  const check = (when: string): string | null => {
    const listed = new Map(broker.listTopics(CLUSTER).map((t) => [t.name, t]));
    for (const name of deleted) if (listed.has(name)) return `${when}: deleted topic ${name} is back`;
    for (const m of topics) {
      if (m === null) continue;
      const t = listed.get(m.name);
      if (t === undefined) return `${when}: topic ${m.name} was created (acknowledged) and is gone`;
      if (t.partitions !== m.partitions) return `${when}: ${m.name} has ${t.partitions} partitions, expected ${m.partitions}`;
      const values = new Set<string>();
      for (let i = 0; i < m.partitions; i++) {
        const got = readPartition(m, i);
        if (typeof got === 'string') return `${when}: ${got}`;
        const logStart = broker.partition(CLUSTER, m.name, i).log.logStartOffset;
        for (const [offset, r] of got) {
          if (sent.get(r.value) !== m.name) return `${when}: ${m.name}/${i} offset ${offset} holds ${r.value}, which was never sent to it`;
          if (values.has(r.value)) return `${when}: ${m.name} holds ${r.value} twice`;
          values.add(r.value);
        }
        for (const [offset, value] of m.promised[i]) {
          stats.promisedChecked++;
          const r = got.get(offset);
          if (r?.value === value) continue;
          if (r === undefined && m.policy === 'retention' && offset < logStart) continue;
          if (r === undefined && m.policy === 'compact') {
            // removed by compaction only when a later record of the same key is in the log
            const key = [...got.values()].find((x) => x.value === value)?.key;
            const later = [...got].some(([o, x]) => o > offset && x.key !== null && (key === undefined || x.key === key));
            if (later) continue;
          }
          return `${when}: ${m.name}/${i} offset ${offset} was acknowledged or served as ${value}, now ${r?.value ?? 'nothing'}`;
        }
      }
    }
    for (const [key, entries] of commits) {
      const [group, name, partition] = key.split('/');
      if (topics.every((m) => m?.name !== name)) continue;
      stats.commitsChecked++;
      const last = entries.map((e) => e.acked).lastIndexOf(true);
      const allowed = new Set<number | undefined>(entries.slice(Math.max(last, 0)).map((e) => e.offset));
      if (last < 0) allowed.add(undefined);
      const got = groups.offsets.get(CLUSTER, group, name, Number(partition))?.offset;
      if (!allowed.has(got)) return `${when}: ${key} committed ${got}, expected one of ${[...allowed].join(', ')}`;
    }
    return null;
  };

  /** The promises that served values still pending are checked on the next restart. */
  const served = (m: TopicModel): string | null => {
    for (let i = 0; i < m.partitions; i++) {
      const got = readPartition(m, i);
      if (typeof got === 'string') return null; // offline after an injected fault: nothing served
      for (const [offset, r] of got) {
        const problem = promise(m, i, offset, r.value);
        if (problem) return problem;
      }
    }
    return null;
  };

  /** The power fails (or the process dies, for 'process'); the broker starts again. */
  const powerCut = async (mode: CrashMode, inflight: Array<Promise<string | null>> = []): Promise<string | null> => {
    life++;
    disk.crash(mode);
    const outcomes = await Promise.all(inflight);
    const problem = outcomes.find((o) => o !== null);
    if (problem !== undefined) return problem;
    try {
      await open();
    } catch (err) {
      return `after a power cut (${mode}): the broker does not start: ${(err as Error).message}`;
    }
    stats.restarts++;
    return check(`after a power cut (${mode})`);
  };

  for (const [step, a] of h.actions.entries()) {
    const when = `step ${step} (${a.t})`;
    trace(`${when} ${JSON.stringify(a)}`);
    const m = 'slot' in a ? topics[a.slot] : null;
    let result: string | null = null;
    switch (a.t) {
      case 'create': {
        if (m !== null) break;
        const name = `t${a.slot}-${generation++}`;
        const configs: Record<string, string | number> = { 'segment.bytes': 1024 };
        if (a.policy === 'compact') Object.assign(configs, { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': 0 });
        if (a.policy === 'retention') configs['retention.bytes'] = 1500;
        broker.createTopic(CLUSTER, { name, partitions: a.partitions, configs });
        topics[a.slot] = { name, partitions: a.partitions, policy: a.policy, promised: Array.from({ length: a.partitions }, () => new Map()) };
        break;
      }
      case 'delete':
        if (m === null) break;
        try {
          await broker.deleteTopic(CLUSTER, m.name);
        } catch (err) {
          return `${when}: deleting ${m.name} failed: ${(err as Error).message}`;
        }
        topics[a.slot] = null;
        deleted.add(m.name);
        break;
      case 'produce':
        if (m !== null) result = await produce(m, a.acks, a.count);
        break;
      case 'read':
        if (m !== null) result = served(m);
        break;
      case 'commit':
        if (m !== null) result = await commit(a.group, m, a.pick);
        break;
      case 'compact':
        await broker.compact(Date.now());
        break;
      case 'retention':
        broker.applyRetention(Date.now());
        break;
      case 'checkpoint':
        for (const t of broker.listTopics(CLUSTER)) for (const p of broker.topicPartitions(CLUSTER, t.name)) p.log.checkpoint();
        break;
      case 'powerCut': {
        // requests in flight when the power fails: answered before it, they count
        const live = topics.filter((t): t is TopicModel => t !== null);
        const inflight: Array<Promise<string | null>> = [];
        for (let i = 0; i < a.inflight && live.length > 0; i++) {
          const t = live[i % live.length];
          inflight.push(i % 2 === 0 ? produce(t, 'all', 1) : commit(i % GROUPS, t, Math.floor(random() * 100)));
        }
        for (let i = 0; i < a.turns; i++) await new Promise((resolve) => setImmediate(resolve));
        result = await powerCut(a.mode, inflight);
        break;
      }
      case 'restart':
        groups.close();
        await broker.close();
        // a machine switched off right after a clean stop: the power cut finds what the stop left
        result = await powerCut(a.powerCutAfter ?? 'process');
        break;
      case 'fsyncError': {
        stats.fsyncErrors++;
        if (a.target === 'catalog') {
          disk.failNext({ kind: 'fsync', code: a.code, match: (f) => f.endsWith('catalog.json.tmp') });
          const name = `t${a.slot}-${generation++}`;
          try {
            broker.createTopic(CLUSTER, { name, partitions: 1 });
            result = `${when}: createTopic succeeded although the catalog's fsync failed`;
          } catch (err) {
            if (!isCode(err, 'STORAGE_ERROR')) result = `${when}: expected STORAGE_ERROR, got ${String(err)}`;
          }
          if (result === null && broker.listTopics(CLUSTER).some((t) => t.name === name)) result = `${when}: the failed creation left ${name} in the catalog`;
          deleted.add(name); // must never appear, now or after a restart
        } else {
          const target = a.target === 'offsets' ? broker.catalog.findTopic(CLUSTER, OFFSETS_TOPIC) : m === null ? undefined : broker.catalog.findTopic(CLUSTER, m.name);
          if (target === undefined || m === null) break;
          disk.failNext({ kind: 'fsync', code: a.code, match: (f) => f.startsWith(`${DATA_DIR}/logs/${target.id}-`) });
          // the fsync fails: nothing it covered is acknowledged (the checker sees any that was)
          result = a.target === 'offsets' ? await commit(0, m, Math.floor(random() * 100)) : await produce(m, 'all', 1);
        }
        disk.clearFaults();
        break;
      }
    }
    stats.actions++;
    if (result !== null) return `${when}: ${result}`;
  }
  groups.close();
  return powerCut('any');
}

const envSeed = process.env.WEBKA_POWER_CUT_SEED;
const seed = envSeed !== undefined && envSeed !== '' ? Number(envSeed) : Math.floor(Math.random() * 2 ** 31);
const numRuns = Number(process.env.WEBKA_POWER_CUT_RUNS ?? 60);

test('the broker keeps every acknowledged record and commit through power cuts and fsync errors', async () => {
  console.log(`broker power cut: seed ${seed}, ${numRuns} runs (WEBKA_POWER_CUT_SEED=${seed} to replay)`);
  await fc.assert(
    fc.asyncProperty(history, async (h) => {
      assert.equal(await run(h), null);
    }),
    { numRuns, seed, includeErrorInReport: true },
  );
  console.log(`broker power cut: ${JSON.stringify(stats)}`);
});

test('regression: data that a failed fsync left in the page cache is cut at once, never served or appended after', async () => {
  // Found by the property above (seed 1578136036): an fsync failed (EIO), the broker was
  // restarted, recovery found the record in the page cache (marked clean by Linux, never to be
  // written), the next acks=all record was written and fsynced after it, and a power cut kept
  // the new record behind a hole: recovery cut both, losing an acknowledged record. A failed
  // fsync now cuts what the log appended past its durable end.
  const h: History = {
    seed: 0,
    actions: [
      { t: 'create', slot: 1, partitions: 1, policy: 'delete' },
      { t: 'fsyncError', code: 'EIO', target: 'log', slot: 1 },
      { t: 'restart', powerCutAfter: null },
      { t: 'produce', slot: 1, acks: 'all', count: 1 },
    ],
  };
  assert.equal(await run(h), null);
});

/**
 * Each switch breaks durability in one place; random histories must then find a loss. Runs until
 * the first violation (or `runs` histories).
 */
const CONTROLS: Record<string, Control> = {
  'fdatasync answered before it is done': { sabotage: { ackBeforeSync: true } },
  'no fdatasync of segment files': { sabotage: { skipSync: (f) => /\d{20}\.log$/.test(f) } },
  'no fsync of the catalog before its rename': { sabotage: { skipSync: (f) => f.endsWith('catalog.json.tmp') } },
  'acks=all answered from memory (the broker debug switch)': { debugAckFromMemory: true },
};

async function findsLoss(control: Control, runs: number): Promise<{ found: boolean; runs: number; violation: string }> {
  const out = await fc.check(
    fc.asyncProperty(history, async (h) => {
      assert.equal(await run(h, control), null);
    }),
    { numRuns: runs, seed },
  );
  return { found: out.failed, runs: out.numRuns, violation: String(out.errorInstance ?? '').split('\n').find((l) => l.includes("'")) ?? '' };
}

test('negative control: no fdatasync of a compacted segment before its swap makes the checker report loss', async () => {
  // compaction needs closed segments with superseded keys, which random histories rarely build
  const produce = (): Action => ({ t: 'produce', slot: 0, acks: 'all', count: 4 });
  const h: History = {
    seed: 7,
    actions: [{ t: 'create', slot: 0, partitions: 1, policy: 'compact' }, ...Array.from({ length: 12 }, produce), { t: 'checkpoint' }, { t: 'compact' }, { t: 'powerCut', mode: 'drop', inflight: 0, turns: 0 }],
  };
  assert.equal(await run(h), null, 'the real broker passes this history');
  const violation = await run(h, { sabotage: { skipSync: (f) => f.endsWith('.log.cleaned') } });
  console.log(`negative control (no fdatasync of a compacted segment): ${violation}`);
  assert.notEqual(violation, null);
});

for (const [name, control] of Object.entries(CONTROLS)) {
  test(`negative control: ${name} makes the checker report loss`, async () => {
    const r = await findsLoss(control, 400);
    console.log(`negative control (${name}): ${r.found ? `loss found after ${r.runs} histories: ${r.violation.trim()}` : 'nothing found'}`);
    assert.equal(r.found, true);
  });
}
