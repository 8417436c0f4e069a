/**
 * Consumer groups over HTTP, against a broker in a child process, all driven by this process's
 * fetch() so that the figure and its baseline pay for the same HTTP client:
 *   (f) group consume throughput, 1 and 4 members polling a 12-partition topic of 100 B records
 *       (1000 records per poll), vs plain fetches of 1000 records from one partition;
 *   (g) time until a group of 9 members, each waiting in a long poll, is Stable again after a
 *       10th member joins;
 *   (h) commit throughput (one offset per commit, acks=all), 8 members at once, vs produce of one
 *       record per request with acks=all by 8 clients at once.
 */
import { startBroker, api } from './lib/children.js';
import { alternate, compare, sleep } from './lib/measure.js';
import { valueOf } from './lib/records.js';
import type { BenchContext, BenchRow } from './lib/types.js';

const PARTITIONS = 12;
const POLL_RECORDS = 1000;

async function json(url: string, init?: RequestInit): Promise<any> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${res.status}: ${text}`);
  return text.length > 0 ? JSON.parse(text) : undefined;
}

const post = (url: string, body?: unknown): Promise<any> =>
  json(url, { method: 'POST', headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const broker = await startBroker(ctx);
  const base = `http://127.0.0.1:${broker.port}/v1/clusters/default`;
  const rows: BenchRow[] = [];
  const perPartition = ctx.quick ? 5_000 : 40_000;
  const value = valueOf(100);

  ctx.log('(f) filling a 12-partition topic and a 1-partition one');
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'grouped', partitions: PARTITIONS });
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'single', partitions: 1 });
  for (let p = 0; p <= PARTITIONS; p++) {
    const topic = p === PARTITIONS ? 'single' : 'grouped';
    const body = { records: Array.from({ length: 1000 }, () => ({ value, partition: p === PARTITIONS ? 0 : p })) };
    const rounds = p === PARTITIONS ? (perPartition * PARTITIONS) / 1000 : perPartition / 1000;
    for (let i = 0; i < rounds; i++) await api(broker.port, 'POST', `/v1/clusters/default/topics/${topic}/records?acks=1`, body);
  }

  let trial = 0;
  /** Records/s of `members` members reading the topic from the start, until time is up or it is read. */
  const groupConsume = async (members: number): Promise<number> => {
    const group = `bench-${members}-${trial++}`;
    const ids: string[] = [];
    for (let i = 0; i < members; i++) ids.push((await post(`${base}/groups/${group}/members`, { topics: ['grouped'], autoOffsetReset: 'earliest', autoCommit: false })).memberId);
    const deadline = performance.now() + ctx.seconds * 1000;
    const started = performance.now();
    let records = 0;
    await Promise.all(ids.map(async (id) => {
      while (performance.now() < deadline) {
        const r = await json(`${base}/groups/${group}/members/${id}/records?maxRecords=${POLL_RECORDS}`);
        if (r.records.length === 0) break;
        records += r.records.length;
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    for (const id of ids) await json(`${base}/groups/${group}/members/${id}`, { method: 'DELETE' });
    return records / seconds;
  };
  const plainFetch = async (): Promise<number> => {
    const deadline = performance.now() + ctx.seconds * 1000;
    const started = performance.now();
    let offset = 0;
    let records = 0;
    while (performance.now() < deadline) {
      const r = await json(`${base}/topics/single/partitions/0/records?offset=${offset}&maxRecords=${POLL_RECORDS}`);
      if (r.records.length === 0) break;
      records += r.records.length;
      offset = r.nextOffset;
    }
    return records / ((performance.now() - started) / 1000);
  };
  ctx.log('(f) group consume vs plain fetch');
  const [one, four, plain] = await alternate(ctx, () => groupConsume(1), () => groupConsume(4), plainFetch);
  rows.push(compare({ name: `group consume, 1 member, ${PARTITIONS} partitions, ${POLL_RECORDS}/poll`, unit: 'records/s', runs: one, baselineName: `plain fetch of 1 partition, ${POLL_RECORDS}/request`, baselineRuns: plain, minRatio: 0.8 }));
  rows.push(compare({ name: `group consume, 4 members, ${PARTITIONS} partitions, ${POLL_RECORDS}/poll`, unit: 'records/s', runs: four, baselineName: `plain fetch of 1 partition, ${POLL_RECORDS}/request`, baselineRuns: plain, minRatio: 0.8 }));

  ctx.log('(g) time to a stable group after a 10th member joins');
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'quiet', partitions: PARTITIONS });
  const stableAfterJoin = async (): Promise<number> => {
    const group = `join-${trial++}`;
    const ids: string[] = [];
    const stop = new AbortController();
    const loops: Array<Promise<void>> = [];
    for (let i = 0; i < 9; i++) {
      const id = (await post(`${base}/groups/${group}/members`, { topics: ['quiet'], sessionTimeoutMs: 30_000 })).memberId as string;
      ids.push(id);
      loops.push((async () => {
        while (!stop.signal.aborted) {
          await fetch(`${base}/groups/${group}/members/${id}/records?maxWaitMs=5000`, { signal: stop.signal }).then((r) => r.text()).catch(() => undefined);
        }
      })());
    }
    while ((await json(`${base}/groups/${group}`)).state !== 'Stable') await sleep(5);
    const t0 = performance.now();
    const tenth = (await post(`${base}/groups/${group}/members`, { topics: ['quiet'] })).memberId as string;
    ids.push(tenth);
    while ((await json(`${base}/groups/${group}`)).state !== 'Stable') { /* ask again at once */ }
    const ms = performance.now() - t0;
    stop.abort();
    await Promise.all(loops);
    for (const id of ids) await fetch(`${base}/groups/${group}/members/${id}`, { method: 'DELETE' });
    return ms;
  };
  const [stable] = await alternate(ctx, stableAfterJoin);
  rows.push(compare({ name: 'stable after a 10th member joins (9 in long polls)', unit: 'ms', better: 'lower', runs: stable, max: 500 }));

  ctx.log('(h) commit throughput vs single-record produce, acks=all');
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'commits', partitions: 8 });
  const commitIds: string[] = [];
  for (let i = 0; i < 8; i++) commitIds.push((await post(`${base}/groups/committers/members`, { topics: ['commits'], autoCommit: false })).memberId);
  const owned = new Map<string, number>();
  for (const id of commitIds) owned.set(id, (await post(`${base}/groups/committers/members/${id}/heartbeat`)).assignment[0].partition);
  const closedLoop = async (clients: number, request: (i: number) => Promise<unknown>): Promise<number> => {
    const deadline = performance.now() + ctx.seconds * 1000;
    const started = performance.now();
    let n = 0;
    await Promise.all(Array.from({ length: clients }, async (_, i) => {
      while (performance.now() < deadline) {
        await request(i);
        n++;
      }
    }));
    return n / ((performance.now() - started) / 1000);
  };
  const [commits, produces] = await alternate(
    ctx,
    () => closedLoop(8, (i) => post(`${base}/groups/committers/members/${commitIds[i]}/offsets`, { offsets: [{ topic: 'commits', partition: owned.get(commitIds[i])!, offset: 0 }] })),
    () => closedLoop(8, () => post(`${base}/topics/commits/records`, { records: [{ value: 1 }] })),
  );
  rows.push(compare({ name: 'offset commits, 8 members at once (acks=all)', unit: 'commits/s', runs: commits, baselineName: 'produce 1 record/request, 8 clients, acks=all', baselineRuns: produces }));
  ctx.note('groups: (f) and (g) use fetch() from the bench process for the figure and the baseline alike; (f) stops a trial early when the topic is read to its end.');
  return rows;
}
