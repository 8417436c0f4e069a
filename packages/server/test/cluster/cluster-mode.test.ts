/**
 * Cluster mode: real `webka start` processes with --node-id and --coordinator join a cluster on a
 * private etcd, GET /v1/brokers (and /v1/broker's nodes) on any of them lists the live brokers with
 * exactly one controller, a broker that stops leaves at once, the controller's SIGKILL hands the
 * office on once its lease lapses, and the settings are checked before anything starts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { needEtcd, startEtcd, freePort, type TestEtcd } from '../support/etcd.js';
import { startCliBroker, runCli, waitForReady, type CliBroker } from '../support/cli-broker.js';
import { RawKafka } from '../support/raw-kafka.js';
import { ApiVersions } from '../../src/kafka/messages-core.js';
import { tempDir } from '../support/start-broker.js';
import { loadConfig, ConfigError } from '../../src/config/config.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping cluster-mode tests: ${missing}`);
const opts = { skip: missing ?? false };

let etcd: TestEtcd;
const brokers: CliBroker[] = [];
const dirs: string[] = [];

before(async () => {
  if (missing === null) etcd = await startEtcd();
});
after(async () => {
  for (const b of brokers) b.child.kill('SIGKILL');
  await Promise.all(brokers.map((b) => b.exited));
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  await etcd?.stop();
});

interface Listed {
  nodeId: number;
  url: string;
  alive: boolean;
  controller: boolean;
}

async function listed(b: CliBroker): Promise<Listed[]> {
  const r = await fetch(`${b.url}/v1/brokers`);
  assert.equal(r.status, 200);
  return ((await r.json()) as { brokers: Listed[] }).brokers;
}

/** Polls `b`'s broker list until `pred` holds (bounded); returns that list. */
async function until(b: CliBroker, pred: (l: Listed[]) => boolean, what: string): Promise<Listed[]> {
  const deadline = Date.now() + 30_000;
  let last: Listed[] = [];
  while (Date.now() < deadline) {
    last = await listed(b);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: still ${JSON.stringify(last)}`);
}

async function start(nodeId: number, prefix: string): Promise<CliBroker> {
  const dir = tempDir();
  dirs.push(dir);
  // a 2 s lease: a killed controller's office passes on within about 2 s (etcd grants 2 s at its default election timeout)
  const b = await startCliBroker(['--port', '0', '--kafka-port', '-1', '--data-dir', dir, '--node-id', String(nodeId), '--coordinator', `${etcd.url.replace('http://', 'etcd://')}${prefix}`], { WEBKA_COORDINATOR_LEASE_SECONDS: '2' });
  brokers.push(b);
  return b;
}

test('brokers started with --coordinator see each other, one controller at a time', opts, async () => {
  const prefix = '/three';
  const [b1, b2, b3] = [await start(1, prefix), await start(2, prefix), await start(3, prefix)];
  const all = await until(b3, (l) => l.length === 3, 'three brokers listed');
  assert.deepEqual(all.map((b) => [b.nodeId, b.url, b.alive]), [
    [1, b1.url, true],
    [2, b2.url, true],
    [3, b3.url, true],
  ]);
  assert.equal(all.filter((b) => b.controller).length, 1);
  for (const b of [b1, b2]) assert.deepEqual(await listed(b), all); // any broker answers the same

  const info = (await (await fetch(`${b2.url}/v1/broker`)).json()) as { brokerId: number; brokers: { brokerId: number; port: number; controller: boolean }[] };
  assert.equal(info.brokerId, 2);
  assert.deepEqual(info.brokers.map((n) => [n.brokerId, n.port, n.controller]), all.map((b) => [b.nodeId, Number(new URL(b.url).port), b.controller]));

  // a node id that a live broker holds is refused, and the start fails saying so
  const dir = tempDir();
  dirs.push(dir);
  const dup = runCli(['start', '--host', '127.0.0.1', '--port', '0', '--kafka-port', '-1', '--data-dir', dir, '--node-id', '2', '--coordinator', `${etcd.url.replace('http://', 'etcd://')}${prefix}`]);
  assert.equal(await dup.exited, 1);
  assert.match(dup.stderr(), /node id 2 is already registered/);

  // a stopped broker leaves at once; a killed controller's office passes on when its lease lapses
  const controller = all.find((b) => b.controller)!;
  const byId = new Map([[1, b1], [2, b2], [3, b3]]);
  const others = [1, 2, 3].filter((n) => n !== controller.nodeId);
  const [stopped, survivor] = [byId.get(others[0])!, byId.get(others[1])!];
  stopped.child.kill('SIGTERM');
  assert.equal(await stopped.exited, 0);
  await until(survivor, (l) => l.length === 2 && !l.some((b) => b.nodeId === others[0]), 'stopped broker gone');

  byId.get(controller.nodeId)!.child.kill('SIGKILL');
  const after = await until(survivor, (l) => l.length === 1 && l[0].controller, 'survivor alone and controller');
  assert.equal(after[0].nodeId, others[1]);
});

test('a broker joining the cluster serves no topic and answers no Kafka request until it has read the cluster\'s metadata', opts, async () => {
  const dir = tempDir();
  dirs.push(dir);
  const [port, kafkaPort] = [await freePort(), await freePort()];
  // the join waits 4 s after the broker listens (a debug knob): time to see what it serves meanwhile
  const run = runCli(['start', '--host', '127.0.0.1', '--port', String(port), '--kafka-port', String(kafkaPort), '--data-dir', dir, '--node-id', '9', '--coordinator', `${etcd.url.replace('http://', 'etcd://')}/joining`], { WEBKA_DEBUG_JOIN_DELAY_MS: '4000' });
  const ready = waitForReady(run);
  const base = `http://127.0.0.1:${port}`;
  const listening = async (): Promise<boolean> => fetch(`${base}/health`).then((r) => r.ok, () => false);
  const deadline = Date.now() + 20_000;
  while (!(await listening())) {
    assert.ok(Date.now() < deadline, 'the broker listens');
    await new Promise((r) => setTimeout(r, 20));
  }
  const early = await fetch(`${base}/v1/clusters/default/topics`);
  assert.equal(early.status, 503);
  assert.equal(((await early.json()) as { error: { code: string } }).error.code, 'COORDINATION_UNAVAILABLE');
  const kafka = await RawKafka.connect(kafkaPort);
  try {
    const answer = kafka.call(ApiVersions, 0, {});
    const before = await Promise.race([answer.then(() => 'answered'), new Promise((r) => setTimeout(() => r('held'), 500))]);
    assert.equal(before, 'held', 'a Kafka request waits while the broker joins');
    const b = await ready;
    brokers.push(b);
    assert.equal((await answer).errorCode, 0, 'and is answered once it has joined');
  } finally {
    kafka.close();
  }
  assert.equal((await fetch(`${base}/v1/clusters/default/topics`)).status, 200);
});

test('a single node lists itself as its own controller', opts, async () => {
  const dir = tempDir();
  dirs.push(dir);
  const b = await startCliBroker(['--port', '0', '--kafka-port', '-1', '--data-dir', dir]);
  brokers.push(b);
  assert.deepEqual(await listed(b), [{ nodeId: 0, url: b.url, alive: true, controller: true }]);
});

test('cluster settings are checked before the broker starts', () => {
  const load = (flags: Record<string, unknown>): unknown => loadConfig({ flags, env: {}, cwd: '/' });
  assert.throws(() => load({ coordinator: 'etcd://127.0.0.1:2379/c' }), (e: Error) => e instanceof ConfigError && /nodeId is required.*--node-id/.test(e.message));
  assert.throws(() => load({ coordinator: 'http://127.0.0.1:2379/c', nodeId: 1 }), (e: Error) => e instanceof ConfigError && /coordinator must be an etcd:\/\/ URL/.test(e.message));
  assert.throws(() => load({ coordinator: 'etcd://127.0.0.1:2379', nodeId: 1 }), (e: Error) => e instanceof ConfigError && /needs a key prefix/.test(e.message));
  assert.throws(() => load({ coordinator: 'etcd://127.0.0.1:2379,nohost/c', nodeId: 1 }), (e: Error) => e instanceof ConfigError && /endpoint "nohost" must be host:port/.test(e.message));
  assert.throws(() => load({ advertisedUrl: 'ftp://x' }), (e: Error) => e instanceof ConfigError && /advertisedUrl must be an http/.test(e.message));
  const ok = load({ coordinator: 'etcd://127.0.0.1:2379,[::1]:2380/c', nodeId: 1, advertisedUrl: 'http://127.0.0.1:8081' }) as { nodeId: number; coordinator: string };
  assert.equal(ok.nodeId, 1);
});
