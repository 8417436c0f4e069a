/**
 * The etcd Coordinator against a real etcd 3.4 (a private one on loopback for this file):
 * registration under a lease, a broker killed with SIGKILL disappearing when its lease lapses,
 * one controller at a time with a rising epoch, a fenced (stale-epoch) write refused, and
 * compare-and-swap conflicts reported with the current state.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { needEtcd, startEtcd, type TestEtcd } from '../support/etcd.js';
import { until } from '../support/cluster.js';
import { EtcdCoordinator } from '../../src/cluster/etcd-coordinator.js';
import { CoordinatorError, FencedError, type BrokerRegistration, type PartitionState } from '../../src/cluster/coordinator.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping etcd coordinator tests: ${missing}`);
const opts = { skip: missing ?? false };

let etcd: TestEtcd;
const open: EtcdCoordinator[] = [];
let prefixes = 0;

before(async () => {
  if (missing === null) etcd = await startEtcd();
});
after(async () => {
  await Promise.all(open.map((c) => c.close()));
  await etcd?.stop();
});

/** A coordinator on its own key prefix (a fresh cluster) unless one is given. */
function coordinator(prefix = `/cluster-${++prefixes}`, leaseTtlSeconds = 10): EtcdCoordinator {
  const c = new EtcdCoordinator({ endpoints: [etcd.url], prefix, leaseTtlSeconds });
  open.push(c);
  return c;
}

/** Resolves with the first broker list the watch reports that satisfies `pred`. */
function brokersWhere(c: EtcdCoordinator, pred: (b: BrokerRegistration[]) => boolean): Promise<BrokerRegistration[]> {
  return new Promise((resolve) => {
    const stop = c.watchBrokers((brokers) => {
      if (pred(brokers)) {
        stop();
        resolve(brokers);
      }
    });
  });
}

const state = (s: Partial<PartitionState> & { controllerEpoch: number }): PartitionState => ({ leader: 1, leaderEpoch: 0, replicas: [1, 2, 3], isr: [1, 2, 3], ...s });

test('brokers register, are listed and watched, and leave at once on close()', opts, async () => {
  const prefix = `/cluster-${++prefixes}`;
  const [a, b, observer] = [coordinator(prefix), coordinator(prefix), coordinator(prefix)];
  await a.registerBroker({ nodeId: 1, url: 'http://127.0.0.1:8081' });
  const both = brokersWhere(observer, (l) => l.length === 2);
  await b.registerBroker({ nodeId: 2, url: 'http://127.0.0.1:8082' });
  assert.deepEqual(await both, [
    { nodeId: 1, url: 'http://127.0.0.1:8081' },
    { nodeId: 2, url: 'http://127.0.0.1:8082' },
  ]);
  assert.deepEqual(await observer.brokers(), await both);

  await assert.rejects(coordinator(prefix).registerBroker({ nodeId: 1, url: 'http://127.0.0.1:9999' }), (err: Error) => err instanceof CoordinatorError && /node id 1 is already registered/.test(err.message));
  await a.registerBroker({ nodeId: 1, url: 'http://127.0.0.1:8091' }); // the holder may update its own registration

  const onlyB = brokersWhere(observer, (l) => l.length === 1);
  await a.close();
  assert.deepEqual(await onlyB, [{ nodeId: 2, url: 'http://127.0.0.1:8082' }]);
});

test('a broker killed with SIGKILL leaves when its lease lapses, and the controller office passes on with a higher epoch', opts, async () => {
  const prefix = `/cluster-${++prefixes}`;
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/etcd-session.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, etcd.url, prefix, '7', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/controller \d+\n/.test(out)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`session process exited (${code}) before becoming controller: ${out}`)));
    });
    const deadEpoch = Number(/controller (\d+)/.exec(out)![1]);
    const survivor = coordinator(prefix, 2);
    assert.deepEqual(await survivor.controller(), { nodeId: 7, epoch: deadEpoch });
    assert.deepEqual((await survivor.brokers()).map((b) => b.nodeId), [7]);

    const gone = brokersWhere(survivor, (l) => l.length === 0);
    const elected = survivor.campaign(8); // waits: node 7 holds the office
    child.kill('SIGKILL');
    await gone;
    const term = await elected;
    assert.equal(term.epoch, deadEpoch + 1);
    assert.deepEqual(await survivor.controller(), { nodeId: 8, epoch: deadEpoch + 1 });

    // anything still carrying the dead controller's epoch is refused
    await assert.rejects(survivor.writePartitionState('orders', 0, state({ controllerEpoch: deadEpoch }), null), (err: Error) => err instanceof FencedError && err.currentEpoch === deadEpoch + 1);
    assert.equal((await survivor.writePartitionState('orders', 0, state({ controllerEpoch: term.epoch }), null)).ok, true);
  } finally {
    child.kill('SIGKILL');
  }
});

test('two controllers cannot both act: the deposed one learns its term ended and its writes are refused', opts, async () => {
  const prefix = `/cluster-${++prefixes}`;
  const [c1, c2] = [coordinator(prefix), coordinator(prefix)];
  const t1 = await c1.campaign(1);
  assert.equal(t1.epoch, 1);
  const created = await c1.writePartitionState('orders', 0, state({ controllerEpoch: t1.epoch }), null);
  assert.equal(created.ok, true);

  let t2Won = false;
  const pending = c2.campaign(2).then((t) => ((t2Won = true), t));
  // c2 cannot win while c1 holds the office: resolve a round trip through etcd and check
  assert.deepEqual(await c2.controller(), { nodeId: 1, epoch: 1 });
  assert.equal(t2Won, false);

  // c1 loses the office without knowing why (here: its key is taken away, as a lapse would)
  const res = await fetch(`${etcd.url}/v3/kv/deleterange`, { method: 'POST', body: JSON.stringify({ key: Buffer.from(`${prefix}/controller`).toString('base64') }) });
  assert.equal(res.status, 200);
  const t2 = await pending;
  assert.equal(t2.epoch, 2);
  await t1.ended;

  // the zombie tries to act with the revision it last saw: fenced, not a conflict
  const rev = created.ok ? created.revision : '';
  await assert.rejects(c1.writePartitionState('orders', 0, state({ controllerEpoch: 1, leader: 2, leaderEpoch: 1 }), rev), (err: Error) => err instanceof FencedError && err.epoch === 1 && err.currentEpoch === 2);
  const now = await c2.partitionState('orders', 0);
  assert.deepEqual(now?.value, state({ controllerEpoch: 1 }));
  assert.equal((await c2.writePartitionState('orders', 0, state({ controllerEpoch: 2, leader: 2, leaderEpoch: 1 }), now!.revision)).ok, true);

  // resigning hands the office on
  const third = coordinator(prefix).campaign(3);
  await t2.resign();
  await t2.ended;
  assert.equal((await third).epoch, 3);
});

test('compare-and-swap conflicts surface with the current state', opts, async () => {
  const c = coordinator();
  const { epoch } = await c.campaign(1);
  const first = await c.writePartitionState('t/with spaces', 3, state({ controllerEpoch: epoch }), null);
  assert.ok(first.ok);

  const again = await c.writePartitionState('t/with spaces', 3, state({ controllerEpoch: epoch, leader: 2 }), null);
  assert.deepEqual(again, { ok: false, reason: 'conflict', current: { value: state({ controllerEpoch: epoch }), revision: first.revision } });

  const second = await c.writePartitionState('t/with spaces', 3, state({ controllerEpoch: epoch, isr: [1, 2] }), first.revision);
  assert.ok(second.ok);
  const stale = await c.writePartitionState('t/with spaces', 3, state({ controllerEpoch: epoch, isr: [1] }), first.revision);
  assert.equal(stale.ok, false);
  assert.deepEqual(!stale.ok && stale.current, { value: state({ controllerEpoch: epoch, isr: [1, 2] }), revision: second.revision });

  assert.equal(await c.partitionState('t/with spaces', 4), null);
  assert.equal(await c.partitionState('t', 3), null); // topic names are escaped: no prefix clash
});

test('a watch of document changes reports each write under its prefix by name, and nothing written before it or elsewhere', opts, async () => {
  const c = coordinator();
  const other = coordinator(); // another cluster on the same etcd
  assert.ok((await c.writeDocument('thing/before', { n: 0 }, null)).ok);
  const seen: Array<[string, unknown]> = [];
  let resets = 0;
  const seenAll = new Promise<void>((resolve) => {
    const stop = c.watchDocumentChanges('thing/', (name, doc) => {
      seen.push([name, doc?.value]);
      if (seen.length === 2) {
        stop();
        resolve();
      }
    }, () => resets++);
  });
  await until(async () => (resets > 0 ? true : undefined), 'the watch started');
  assert.ok((await other.writeDocument('thing/a', { n: 9 }, null)).ok);
  assert.ok((await c.writeDocument('things', { n: 9 }, null)).ok);
  const a = await c.writeDocument('thing/a b', { n: 1 }, null);
  assert.ok(a.ok);
  assert.ok((await c.writeDocument('thing/a b', { n: 2 }, a.revision)).ok);
  await seenAll;
  assert.deepEqual(seen, [['thing/a b', { n: 1 }], ['thing/a b', { n: 2 }]]);
  assert.equal(resets, 1);
});

test('a watch of the documents under a prefix reports them all, now and after each change; a delete by revision refuses a changed document', opts, async () => {
  const c = coordinator();
  const other = coordinator(); // another cluster on the same etcd
  const first = await c.writeDocument('kept/a', { n: 1 }, null);
  assert.ok(first.ok);
  assert.ok((await c.writeDocument('kepts', { n: 9 }, null)).ok);
  assert.ok((await other.writeDocument('kept/x', { n: 9 }, null)).ok);
  const reports: Array<Record<string, unknown>> = [];
  const stop = c.watchDocuments('kept/', (docs) => reports.push(Object.fromEntries([...docs].map(([name, d]) => [name, d.value]))));
  try {
    await until(async () => (reports.length > 0 ? true : undefined), 'the first report');
    assert.deepEqual(reports[0], { 'kept/a': { n: 1 } });
    const changed = await c.writeDocument('kept/a', { n: 2 }, first.revision);
    assert.ok(changed.ok);
    assert.equal(await c.deleteDocument('kept/a', first.revision), false, 'an older revision deletes nothing');
    assert.ok((await c.writeDocument('kept/b c', { n: 3 }, null)).ok);
    assert.equal(await c.deleteDocument('kept/a', changed.revision), true);
    assert.equal(await c.deleteDocument('kept/a', null), false, 'nothing left to delete');
    await until(async () => (JSON.stringify(reports.at(-1)) === JSON.stringify({ 'kept/b c': { n: 3 } }) ? true : undefined), 'the report after the delete');
    assert.ok(reports.some((r) => JSON.stringify(r) === JSON.stringify({ 'kept/a': { n: 2 } }) || JSON.stringify(r) === JSON.stringify({ 'kept/a': { n: 2 }, 'kept/b c': { n: 3 } })));
    assert.equal(await c.readDocument('kept/a'), null);
  } finally {
    stop();
  }
});

test('an unreachable etcd is a CoordinatorError naming the endpoints', opts, async () => {
  const c = new EtcdCoordinator({ endpoints: ['http://127.0.0.1:1'], prefix: 'x', requestTimeoutMs: 2000 });
  await assert.rejects(c.brokers(), (err: Error) => err instanceof CoordinatorError && /etcd unreachable at http:\/\/127\.0\.0\.1:1/.test(err.message));
  await c.close();
});
