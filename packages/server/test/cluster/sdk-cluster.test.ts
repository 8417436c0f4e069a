/**
 * The SDK against three brokers (real processes, a private etcd): given every broker's URL, an
 * idempotent producer carries on when the broker it talks to is killed with kill -9 (its next
 * attempt goes to another broker, with the same sequence), and every record sent is stored once;
 * a call made once (an admin call, the CLI) whose first broker is dead goes to the next at once.
 * Negative control: given only the killed broker's URL, the same send fails. Given one broker,
 * a producer sends each request whose partitions one broker leads straight to that leader (read
 * from the partitions route, which names each partition's leader), not through the broker given.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Webka, WebkaError } from '@webka/client';
import { needEtcd } from '../support/etcd.js';
import { startCluster, getJson, postJson, until, untilBrokers, type TestCluster } from '../support/cluster.js';
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

/** POST records requests a broker has answered (webka_http_requests_total), forwarded ones included. */
async function producesAnswered(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('webka_http_requests_total{') && line.includes('method="POST"') && line.includes('route="/v1/clusters/:cluster/topics/:topic/records"')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

test('an SDK producer given one broker sends each request whose partitions one broker leads straight to that leader', { skip: missing ?? false, timeout: 120_000 }, async () => {
  const c = await startCluster('/sdk-direct', {});
  try {
    await Promise.all([1, 2, 3].map((n) => c.start(n)));
    await untilBrokers(c.brokers.get(1)!, 3);
    const url = (n: number): string => c.brokers.get(n)!.url;
    const created = await postJson(`${url(1)}/v1/clusters/default/topics`, { name: 'direct', partitions: 3, replicationFactor: 3 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const leaders = (created.body.partitionInfo as { leader: number }[]).map((p) => p.leader);
    assert.equal(new Set(leaders).size, 3, `each broker leads one partition: ${leaders.join(',')}`);
    // the partitions route, which the SDK reads, names the same leaders on every broker
    for (const n of [1, 2, 3]) {
      const listed = await until(async () => {
        const r = await getJson(`${url(n)}/v1/clusters/default/topics/direct/partitions`);
        return r.status === 200 ? (r.body.partitions as { leader: number }[]).map((p) => p.leader) : undefined;
      }, `broker ${n} lists the partitions`);
      assert.deepEqual(listed, leaders, `the leaders broker ${n} lists`);
    }
    const before = await Promise.all([1, 2, 3].map((n) => producesAnswered(url(n))));
    // keyless records, one request at a time: each request goes to one partition, in turn
    const producer = new Webka({ url: url(1) }).producer({ lingerMs: 0 });
    const REQUESTS = 30;
    const written: number[] = [];
    for (let i = 0; i < REQUESTS; i++) written.push((await producer.send('direct', { value: `r${i}` })).partition);
    await producer.close();
    const after = await Promise.all([1, 2, 3].map((n) => producesAnswered(url(n))));
    const got = [1, 2, 3].map((n, i) => after[i] - before[i]);
    const mine = (n: number): number => written.filter((p) => leaders[p] === n).length;
    for (const n of [2, 3]) assert.ok(mine(n) >= 5, `the records went to every partition: ${written.join(',')}`);
    // broker 1 answered only the requests for the partition it leads; without going to the
    // leaders, it would have answered all of them (forwarding two thirds)
    assert.ok(got[0] <= mine(1) + 1, `broker 1 answered ${got[0]} produce requests; it leads partitions taking ${mine(1)} of ${REQUESTS}`);
    for (const n of [2, 3]) assert.ok(got[n - 1] >= mine(n), `broker ${n} answered ${got[n - 1]} produce requests, the ${mine(n)} for its partition`);
    const stored = await Promise.all([0, 1, 2].map(async (p) => (await getJson(`${url(leaders[p])}/v1/clusters/default/topics/direct/partitions/${p}/records?offset=0`)).body.records.length as number));
    assert.equal(stored.reduce((a, b) => a + b, 0), REQUESTS, 'every record stored once');
  } finally {
    await c.stop();
  }
});
