/**
 * The SDK against three brokers (real processes, a private etcd): given every broker's URL, an
 * idempotent producer carries on when the broker it talks to is killed with kill -9 (its next
 * attempt goes to another broker, with the same sequence), and every record sent is stored once;
 * a call made once (an admin call, the CLI) whose first broker is dead goes to the next at once.
 * Negative control: given only the killed broker's URL, the same send fails.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Webka, WebkaError } from '@webka/client';
import { needEtcd } from '../support/etcd.js';
import { startCluster, postJson, until, untilBrokers, type TestCluster } from '../support/cluster.js';
import { checkHistory } from '../support/history.js';
import { runCli } from '../support/cli-broker.js';

const missing = needEtcd();
if (missing !== null) console.log(`# skipping SDK cluster tests: ${missing}`);

let cluster: TestCluster | undefined;
after(async () => cluster?.stop());

const TOPIC = 'clicks';

test('an SDK producer given every broker carries on when its broker is killed: each record stored once; given only that broker, it fails', { skip: missing ?? false, timeout: 120_000 }, async () => {
  const c = (cluster = await startCluster('/sdk', { WEBKA_COORDINATOR_LEASE_SECONDS: '1', WEBKA_REPLICA_LAG_TIME_MAX_MS: '2000' }));
  await Promise.all([1, 2, 3].map((n) => c.start(n)));
  await untilBrokers(c.brokers.get(1)!, 3);
  const urls = [1, 2, 3].map((n) => c.brokers.get(n)!.url);
  const created = await postJson(`${urls[0]}/v1/clusters/default/topics`, { name: TOPIC, partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));

  const webka = new Webka({ url: urls });
  const producer = webka.producer({ lingerMs: 1, deliveryTimeoutMs: 60_000 });
  const sent: string[] = [];
  const send = async (from: number, to: number): Promise<void> => {
    const values = Array.from({ length: to - from }, (_, i) => `v${from + i}`);
    await Promise.all(values.map((v) => producer.send(TOPIC, { key: v, value: v })));
    sent.push(...values);
  };
  for (let i = 0; i < 100; i += 20) await send(i, i + 20);
  const first = webka.http.baseUrl;
  const victim = [...c.brokers].find(([, b]) => b.url === first)![0];
  await c.kill(victim);
  for (let i = 100; i < 300; i += 20) await send(i, i + 20);
  assert.notEqual(webka.http.baseUrl, first, 'the SDK moved on to another broker');
  await producer.close();

  const h = await until(async () => {
    await c.start(victim); // back, so that the check can compare every replica
    return true;
  }, 'the killed broker starts again').then(() => checkHistory(c, TOPIC, sent));
  assert.deepEqual(h.lost, [], 'sent but missing');
  assert.deepEqual(h.duplicates, [], 'stored twice');
  assert.equal(h.read, 300);

  // a call made once (an admin call, the CLI's) whose first broker is dead goes to the next at once
  await c.kill(victim);
  const live = urls.filter((u) => u !== first);
  const topics = await new Webka({ url: [first, ...live] }).admin().listTopics();
  assert.ok(topics.some((t) => t.name === TOPIC), JSON.stringify(topics));
  const cli = runCli(['topics', 'list', '--url', [first, ...live].join(',')]);
  assert.equal(await cli.exited, 0, cli.stderr());
  assert.match(cli.stdout(), new RegExp(TOPIC));

  // the negative control: a producer that knows only a dead broker cannot send
  const alone = new Webka({ url: first }).producer({ deliveryTimeoutMs: 2_000, requestTimeoutMs: 1_000 });
  await assert.rejects(alone.send(TOPIC, { value: 'nowhere to go' }), (err: unknown) => err instanceof WebkaError && ['NETWORK_ERROR', 'TIMEOUT'].includes(err.code));
  await alone.close().catch(() => undefined);
});
