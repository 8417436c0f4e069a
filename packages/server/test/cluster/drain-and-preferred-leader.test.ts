/**
 * Draining a broker and preferred-leader election with real broker processes (three brokers with
 * authentication on, a private etcd). Only a principal with alter on the cluster may ask (another
 * gets 403 and nothing changes). A drained broker leads nothing and is in no ISR, so stopping it
 * leaves acks=all writes to every partition answered; leadership then returns to it by
 * preferred-leader election once it is back and undrained. Negative control: the same stop
 * without a drain leaves acks=all writes to a partition it followed unanswered, since the leader
 * waits for it until replicaLagTimeMaxMs (60 s here).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { needEtcd } from '../support/etcd.js';
import { startCluster, until, type TestCluster } from '../support/cluster.js';
import { runCli, type CliRun } from '../support/cli-broker.js';
import { tempDir } from '../support/start-broker.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping drain and preferred-leader tests: ${missing}`);
const opts = { skip: missing ?? false };

const ENV = { WEBKA_AUTH: 'true', WEBKA_INTER_BROKER_SECRET: 'test-inter-broker-secret-0123456789abcdef', WEBKA_REPLICA_LAG_TIME_MAX_MS: '60000', WEBKA_COORDINATOR_LEASE_SECONDS: '6' };
let cluster: TestCluster;
let adminKey: string;

before(async () => {
  if (missing !== null) return;
  cluster = await startCluster('/drain', ENV);
  await Promise.all([1, 2, 3].map((n) => cluster.start(n)));
  const file = [1, 2, 3].map((n) => path.join(cluster.dirs.get(n)!, 'initial-admin-key')).find((f) => fs.existsSync(f))!;
  adminKey = /^key=(\S+)$/m.exec(fs.readFileSync(file, 'utf8'))![1];
});
after(async () => {
  await cluster?.stop();
});

interface PartitionView {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

const url = (n: number): string => cluster.brokers.get(n)!.url;
const live = (): number[] => [...cluster.brokers.keys()];

async function call(n: number, method: string, p: string, key: string, body?: unknown, timeoutMs = 15_000): Promise<{ status: number; body: any }> {
  const r = await fetch(url(n) + p, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, body: await r.json().catch(() => null) };
}

async function partitions(n = live()[0]): Promise<PartitionView[]> {
  const r = await call(n, 'GET', '/v1/clusters/default/topics/orders', adminKey);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.partitionInfo as PartitionView[];
}

/** Runs the `webka` command against broker n with `key`; its exit code and stdout. */
async function webka(n: number, key: string, args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const home = tempDir();
  const run: CliRun = runCli(['--url', url(n), ...args], { WEBKA_TOKEN: key, HOME: home, XDG_CONFIG_HOME: home });
  const code = await run.exited;
  fs.rmSync(home, { recursive: true, force: true });
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** An acks=all write to `partition` through broker n, retried until acknowledged or `withinMs` passes; true when acknowledged. */
async function write(n: number, partition: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    try {
      const r = await call(n, 'POST', '/v1/clusters/default/topics/orders/records?acks=all', adminKey, { records: [{ partition, value: `v-${partition}-${Date.now()}` }] }, Math.max(100, deadline - Date.now()));
      if (r.status === 200) return true;
    } catch {
      // timed out
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

test('drain, stop with acks=all writes answered, preferred-leader election; alter on the cluster needed', opts, async (t) => {
  const made = await call(1, 'POST', '/v1/clusters/default/topics', adminKey, { name: 'orders', partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  for (const n of [1, 2, 3]) await until(async () => ((await call(n, 'GET', '/v1/clusters/default/topics/orders', adminKey)).status === 200 ? true : undefined), `broker ${n} has the topic`);
  const x = (await partitions())[0].replicas[0];
  const other = [1, 2, 3].find((n) => n !== x)!;

  // a principal that may describe the cluster but not alter it gets 403, and nothing changes
  const p = await call(1, 'POST', '/v1/principals', adminKey, { name: 'operator', createKey: true });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const opKey = p.body.key.key as string;
  const acl = await call(1, 'POST', '/v1/acls', adminKey, { principal: 'operator', effect: 'allow', operations: ['describe'], resource: { type: 'cluster', name: '*' } });
  assert.equal(acl.status, 201, JSON.stringify(acl.body));
  await until(async () => ((await call(other, 'GET', `/v1/brokers/${x}/drain`, opKey)).status === 200 ? true : undefined), 'the operator may read a drain on every broker');
  for (const [method, route, body] of [
    ['POST', `/v1/brokers/${x}/drain`, {}],
    ['POST', '/v1/preferred-leader-election', {}],
    ['POST', '/v1/clusters/default/topics/orders/partitions/0/reassignment', { replicas: [other, x] }],
  ] as const) {
    const r = await call(other, method, route, opKey, body);
    assert.equal(r.status, 403, `${method} ${route}: ${JSON.stringify(r.body)}`);
  }
  assert.equal((await call(other, 'GET', `/v1/brokers/${x}/drain`, opKey)).body.draining, false);
  assert.equal((await partitions())[0].replicas.length, 3);
  // bad input: an unknown broker
  assert.equal((await call(other, 'POST', '/v1/brokers/9/drain', adminKey, {})).body.error.code, 'BROKER_NOT_FOUND');

  const refused = await webka(other, opKey, ['brokers', 'drain', String(x)]);
  assert.equal(refused.code, 6, `the CLI exits 6 when not allowed: ${refused.stderr}`);

  // drain x with the CLI, through another broker, with alter on the cluster (granted now)
  const grant = await call(1, 'POST', '/v1/acls', adminKey, { principal: 'operator', effect: 'allow', operations: ['alter'], resource: { type: 'cluster', name: '*' } });
  assert.equal(grant.status, 201, JSON.stringify(grant.body));
  const drained = await webka(other, opKey, ['brokers', 'drain', String(x), '--wait', '--json']);
  assert.equal(drained.code, 0, drained.stderr);
  const status = JSON.parse(drained.stdout);
  assert.equal(status.draining, true);
  assert.equal(status.done, true, '--wait returns once the drain is done');
  assert.equal(status.leaderships, 0);
  assert.equal(status.inSyncReplicas, 0);
  for (const part of await partitions()) {
    assert.notEqual(part.leader, x, `partition ${part.partition} is led by another broker`);
    assert.ok(!part.isr.includes(x), `broker ${x} left partition ${part.partition}'s ISR`);
  }
  const elect = await call(other, 'POST', '/v1/preferred-leader-election', adminKey, { cluster: 'default', topic: 'orders', partition: 0 });
  assert.equal(elect.status, 200, JSON.stringify(elect.body));
  assert.equal(elect.body.partitions[0].result, 'not-available', 'a broker being drained does not get leadership back');

  // stopped (SIGTERM): every partition still takes acks=all writes
  cluster.brokers.get(x)!.child.kill('SIGTERM');
  await cluster.brokers.get(x)!.exited;
  cluster.brokers.delete(x);
  for (const part of [0, 1, 2]) assert.ok(await write(other, part, 10_000), `partition ${part} answers an acks=all write after the drained broker stopped`);

  // back and undrained: it catches up and rejoins; preferred-leader election gives it partition 0 again
  await cluster.start(x);
  const undrained = await call(other, 'DELETE', `/v1/brokers/${x}/drain`, adminKey);
  assert.equal(undrained.status, 200, JSON.stringify(undrained.body));
  assert.equal(undrained.body.draining, false);
  await until(async () => ((await partitions(other)).every((q) => q.isr.length === 3) ? true : undefined), 'every replica back in sync');
  assert.notEqual((await partitions())[0].leader, x);
  const back = await webka(x, adminKey, ['partitions', 'elect-leaders', 'orders', '--json']);
  assert.equal(back.code, 0, back.stderr);
  const p0 = JSON.parse(back.stdout).partitions.find((q: { partition: number }) => q.partition === 0);
  assert.equal(p0.result, 'elected');
  assert.equal(p0.leader, x);
  await until(async () => ((await partitions(other))[0].leader === x ? true : undefined), 'partition 0 led by its preferred replica');

  // negative control: stopping x without a drain leaves a partition it follows without acks=all answers
  const followed = (await partitions(other)).find((q) => q.leader !== x && q.isr.includes(x))!;
  assert.ok(followed !== undefined, 'x follows some partition');
  cluster.brokers.get(x)!.child.kill('SIGTERM');
  await cluster.brokers.get(x)!.exited;
  cluster.brokers.delete(x);
  const answered = await write(followed.leader, followed.partition, 4_000);
  t.diagnostic(`drained broker ${x}; without a drain, partition ${followed.partition} answered within 4 s: ${answered}`);
  assert.equal(answered, false, 'without a drain the leader waits for the stopped follower');
});
