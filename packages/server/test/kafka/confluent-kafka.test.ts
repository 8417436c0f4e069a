/**
 * python3-confluent-kafka (librdkafka 2.0.2, Debian's) against the Kafka listener: an idempotent
 * producer with keys placed by murmur2 whose batch, retried after its answer was lost, is written
 * once, a consumer group that commits and resumes from its
 * committed offset, a group of two members that rebalances when one leaves, offsets shared with
 * the HTTP API, a group of one protocol refused to the other, and a transactional
 * consume-process-produce that commits and aborts, and the AdminClient's topic configs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, type Rest } from '../support/rest.js';
import { needDebianPackages, CONFLUENT_KAFKA } from '../support/debian-packages.js';
import { run } from '../support/kafka-clients.js';
import { dropFirstProduceAnswer } from '../support/kafka-proxy.js';
import { partitionForKey } from '@webka/protocol';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'confluent-clients.py');
const missing = needDebianPackages(CONFLUENT_KAFKA);
if (missing !== null) console.log(`# skipping confluent-kafka tests: ${missing}`);
const opts = { skip: missing ?? false, timeout: 120_000 };

let broker: TestBroker;
let api: Rest;
let bootstrap: string;

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
  bootstrap = `127.0.0.1:${broker.server.kafkaPort}`;
});
after(async () => broker?.close());

type Event = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function client(...args: string[]): Promise<Event[]> {
  const r = await run('/usr/bin/python3', [SCRIPT, ...args], '', 90_000);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

const one = (events: Event[], name: string): Event => {
  const e = events.find((x) => x.event === name);
  assert.ok(e, `no ${name} event in ${JSON.stringify(events).slice(0, 500)}`);
  return e;
};

async function createTopic(name: string, partitions: number): Promise<void> {
  const r = await api.post('/v1/clusters/default/topics', { name, partitions });
  assert.equal(r.status, 201, r.text);
}

test('an idempotent producer writes keyed records where murmur2 puts them, each once', opts, async () => {
  await createTopic('idem', 4);
  const produced = one(await client('produce', bootstrap, 'idem', '40', 'key', 'true'), 'produced');
  assert.equal(produced.results.length, 40);
  for (const r of produced.results) {
    assert.equal(r.error, null);
    assert.equal(r.partition, partitionForKey(Buffer.from(r.key), 4), r.key);
  }
  const info = await api.get('/v1/clusters/default/topics/idem');
  const total = info.body.partitionInfo.reduce((n: number, p: { highWatermark: number }) => n + p.highWatermark, 0);
  assert.equal(total, 40);
});

test('an idempotent producer\'s batch retried after its answer was lost is written once (negative control: without idempotence it is written twice)', opts, async () => {
  const b = await startBroker({ config: { kafkaAdvertisedHost: '127.0.0.2' } });
  const proxy = await dropFirstProduceAnswer(b.server.kafkaPort!);
  try {
    const http = rest(b.url);
    assert.equal((await http.post('/v1/clusters/default/topics', { name: 'py-retried', partitions: 1 })).status, 201);
    const values = async (): Promise<string[]> => {
      const r = await http.get('/v1/clusters/default/topics/py-retried/partitions/0/records?offset=0&valueFormat=text');
      assert.equal(r.status, 200, r.text);
      return r.body.records.map((x: { value: string }) => x.value);
    };
    // the script's first Produce is its batch: armed before it starts, the proxy drops that answer
    proxy.arm();
    const idem = one(await client('produce', `127.0.0.2:${b.server.kafkaPort}`, 'py-retried', '5', 'once', 'true'), 'produced');
    assert.deepEqual(idem.results.map((r: { error: string | null }) => r.error), [null, null, null, null, null]);
    assert.equal(proxy.dropped(), 1);
    assert.deepEqual(await values(), ['value-0', 'value-1', 'value-2', 'value-3', 'value-4']);

    proxy.arm();
    one(await client('produce', `127.0.0.2:${b.server.kafkaPort}`, 'py-retried', '2', 'twice', 'false'), 'produced');
    assert.equal(proxy.dropped(), 2);
    // the dropped answer's batch is stored twice (the two records may have gone in one batch or two)
    const control = (await values()).slice(5);
    assert.ok(control.length > new Set(control).size, `a record written twice: ${control.join(', ')}`);
    assert.deepEqual([...new Set(control)].sort(), ['value-0', 'value-1']);
  } finally {
    await proxy.close();
    await b.close();
  }
});

test('a group consumes from earliest, commits, and resumes from the committed offset; HTTP sees the offsets', opts, async () => {
  await createTopic('resume', 2);
  one(await client('produce', bootstrap, 'resume', '10', 'a', 'false'), 'produced');
  const first = await client('consume', bootstrap, 'resume', 'g-resume', '1000', '1000', 'true');
  assert.equal(one(first, 'consumed').records.length, 10);
  const committed = one(first, 'committed').offsets;

  const http = await api.get('/v1/clusters/default/groups/g-resume');
  assert.equal(http.status, 200, http.text);
  assert.deepEqual(Object.fromEntries(http.body.offsets.map((o: Event) => [String(o.partition), o.committed])), committed);
  for (const o of http.body.offsets) assert.equal(o.lag, 0);

  one(await client('produce', bootstrap, 'resume', '5', 'b', 'false'), 'produced');
  const second = one(await client('consume', bootstrap, 'resume', 'g-resume', '1000', '1000', 'true'), 'consumed');
  assert.deepEqual(second.records.map((r: Event) => r.key).sort(), ['b-0', 'b-1', 'b-2', 'b-3', 'b-4']);
});

/** A long-lived group member whose assignments arrive as events. */
function member(topic: string, group: string): { events: Event[]; waitFor(pred: (e: Event) => boolean): Promise<Event>; leave(): Promise<void> } {
  const child = spawn('/usr/bin/python3', [SCRIPT, 'member', bootstrap, topic, group], { stdio: ['pipe', 'pipe', 'inherit'] });
  const events: Event[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (!l.startsWith('{')) return;
    events.push(JSON.parse(l));
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    events,
    async waitFor(pred) {
      for (;;) {
        const e = events.find(pred);
        if (e !== undefined) return e;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    async leave() {
      child.stdin.end();
      await exited;
    },
  };
}

test('a group of two splits the partitions, and the one left takes them all when the other leaves', opts, async () => {
  await createTopic('pair', 4);
  const a = member('pair', 'g-pair');
  await a.waitFor((e) => e.event === 'assigned' && e.partitions.length === 4);
  const b = member('pair', 'g-pair');
  const bGot = await b.waitFor((e) => e.event === 'assigned' && e.partitions.length > 0);
  const aGot = await a.waitFor((e) => e.event === 'assigned' && e.partitions.length > 0 && e.partitions.length < 4);
  assert.deepEqual([...aGot.partitions, ...bGot.partitions].sort(), [0, 1, 2, 3]);

  const state = await api.get('/v1/clusters/default/groups');
  assert.equal(state.status, 200);
  // the group is Kafka's: HTTP consumers cannot join it while it has members
  const httpJoin = await api.post('/v1/clusters/default/groups/g-pair/members', { topics: ['pair'] });
  assert.equal(httpJoin.status, 409, httpJoin.text);
  assert.equal(httpJoin.body.error.code, 'INCONSISTENT_GROUP_PROTOCOL');

  const before = a.events.length;
  await b.leave();
  await a.waitFor((e) => a.events.indexOf(e) >= before && e.event === 'assigned' && e.partitions.length === 4);
  await a.leave();
});

test('a transactional consume-process-produce commits and aborts: read_committed sees only the committed records, the group only the committed offsets', opts, async () => {
  await createTopic('txn-in', 2);
  await createTopic('txn-out', 2);
  one(await client('produce', bootstrap, 'txn-in', '6', 'c', 'false'), 'produced');
  const committed = one(await client('txn', bootstrap, 'txn-in', 'txn-out', 'g-txn', 'tx-pipeline', 'commit', '6'), 'ended');
  assert.equal(committed.keys.length, 6);

  one(await client('produce', bootstrap, 'txn-in', '4', 'x', 'false'), 'produced');
  // resumes from the committed offsets: only the 4 new records, whose transaction aborts
  const aborted = one(await client('txn', bootstrap, 'txn-in', 'txn-out', 'g-txn', 'tx-pipeline', 'abort', '4'), 'ended');
  assert.deepEqual(aborted.keys, ['x-0', 'x-1', 'x-2', 'x-3']);

  const readCommitted = one(await client('read', bootstrap, 'txn-out', '2', 'read_committed'), 'read');
  assert.ok(readCommitted.complete);
  assert.deepEqual(readCommitted.records.map((r: Event) => r.key).sort(), committed.keys);
  for (const r of readCommitted.records) assert.match(r.value, /^processed-value-/);
  const readUncommitted = one(await client('read', bootstrap, 'txn-out', '2', 'read_uncommitted'), 'read');
  assert.deepEqual(readUncommitted.records.map((r: Event) => r.key).sort(), [...committed.keys, ...aborted.keys].sort());

  // HTTP readers see the same: read_committed skips the aborted records and the markers
  const overHttp: string[] = [];
  for (const p of [0, 1]) {
    const r = await api.get(`/v1/clusters/default/topics/txn-out/partitions/${p}/records?offset=0&isolation=read_committed`);
    assert.equal(r.status, 200, r.text);
    for (const rec of r.body.records) overHttp.push(rec.key);
  }
  assert.deepEqual(overHttp.sort(), committed.keys);

  // the group's offsets are the committed transaction's: 6 records consumed, the aborted 4 not
  const group = await api.get('/v1/clusters/default/groups/g-txn');
  assert.equal(group.status, 200, group.text);
  assert.equal(group.body.offsets.reduce((n: number, o: Event) => n + o.committed, 0), 6);
  const txn = await api.get('/v1/clusters/default/transactions/tx-pipeline');
  assert.equal(txn.status, 200, txn.text);
  assert.equal(txn.body.state, 'CompleteAbort');
});

test('confluent-kafka\'s AdminClient describes and alters topic configs', opts, async () => {
  await createTopic('cfg-py', 1);
  const events = await client('configs', bootstrap, 'cfg-py', 'cleanup.policy', 'compact');
  const configs = one(events, 'configs');
  assert.equal(configs.before['cleanup.policy'].value, 'delete');
  assert.equal(configs.before['cleanup.policy'].default, true);
  assert.equal(configs.after['cleanup.policy'].value, 'compact');
  assert.equal(configs.after['cleanup.policy'].default, false);
  assert.match(one(events, 'refused').error, /INVALID_CONFIG|must be one of/);
  assert.deepEqual((await api.get('/v1/clusters/default/topics/cfg-py')).body.configs, { 'cleanup.policy': 'compact' });
});
