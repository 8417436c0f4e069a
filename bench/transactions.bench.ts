/**
 * Transactions over HTTP, against a broker in a child process, all driven by this process's
 * fetch() so that each figure and its baseline pay for the same HTTP client:
 *   (t) transactional produce: 8 producers, each with its own transactional id and partition,
 *       in a loop of one transaction of 100 records of 100 B (one produce, then commit), vs the
 *       same 8 clients as idempotent producers sending 100 records per request (acks=all);
 *   (u) read_committed fetch vs read_uncommitted fetch of the same partitions of 100 B records
 *       written in committed transactions of 100 records (so both read the same records and
 *       skip the same markers): 4 readers, each its own partition, 1000 records per fetch.
 */
import { startBroker, api } from './lib/children.js';
import { alternate, compare } from './lib/measure.js';
import { valueOf } from './lib/records.js';
import type { BenchContext, BenchRow } from './lib/types.js';

const PRODUCERS = 8;
const TXN_RECORDS = 100;
const READERS = 4;
const FETCH_RECORDS = 1000;

async function json(url: string, init?: RequestInit): Promise<any> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${res.status}: ${text}`);
  return text.length > 0 ? JSON.parse(text) : undefined;
}

/** A POST whose body is JSON text already. */
const post = (url: string, body: string): Promise<any> => json(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

/** `{"records":[…]}` fields: TXN_RECORDS records of 100 B for one partition. */
function recordsFor(partition: number): string {
  const one = JSON.stringify({ value: valueOf(100), partition });
  return `"records":[${new Array(TXN_RECORDS).fill(one).join(',')}]`;
}

interface Writer {
  /** Body fields naming the producer: producer id and epoch, and the transactional id when there is one. */
  fields: string;
  transactionalId?: string;
  producerId: number;
  producerEpoch: number;
  /** Next request sequence per topic (the broker numbers a producer's requests per topic). */
  sequences: Map<string, number>;
  partition: number;
}

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const broker = await startBroker(ctx);
  const base = `http://127.0.0.1:${broker.port}/v1/clusters/default`;
  const rows: BenchRow[] = [];
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'txn', partitions: PRODUCERS });
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'idem', partitions: PRODUCERS });

  const transactional: Writer[] = [];
  const idempotent: Writer[] = [];
  for (let i = 0; i < PRODUCERS; i++) {
    const transactionalId = `bench-${i}`;
    const t = await post(`${base}/transactions`, JSON.stringify({ transactionalId }));
    transactional.push({ transactionalId, producerId: t.producerId, producerEpoch: t.producerEpoch, sequences: new Map(), partition: i, fields: `"transactionalId":"${transactionalId}","producerId":${t.producerId},"producerEpoch":${t.producerEpoch}` });
    const p = await post(`${base}/producers`, '{}');
    idempotent.push({ producerId: p.producerId, producerEpoch: p.producerEpoch, sequences: new Map(), partition: i, fields: `"producerId":${p.producerId},"producerEpoch":${p.producerEpoch}` });
  }
  const bodies = Array.from({ length: PRODUCERS }, (_, i) => recordsFor(i));
  const produce = (topic: string, w: Writer): Promise<unknown> => {
    const sequence = w.sequences.get(topic) ?? 0;
    w.sequences.set(topic, sequence + 1);
    return post(`${base}/topics/${topic}/records`, `{${w.fields},"sequence":${sequence},${bodies[w.partition]}}`);
  };
  const commit = (w: Writer): Promise<unknown> => post(`${base}/transactions/${w.transactionalId}/commit`, `{"producerId":${w.producerId},"producerEpoch":${w.producerEpoch}}`);

  /** Records/s of `step` run in a loop by every writer until the time is up. */
  const closedLoop = async (writers: Writer[], step: (w: Writer) => Promise<unknown>): Promise<number> => {
    const deadline = performance.now() + ctx.seconds * 1000;
    const started = performance.now();
    let records = 0;
    await Promise.all(writers.map(async (w) => {
      while (performance.now() < deadline) {
        await step(w);
        records += TXN_RECORDS;
      }
    }));
    return records / ((performance.now() - started) / 1000);
  };

  ctx.log('(t) transactional produce vs idempotent produce');
  const [txns, idem] = await alternate(
    ctx,
    () => closedLoop(transactional, async (w) => {
      await produce('txn', w);
      await commit(w);
    }),
    () => closedLoop(idempotent, (w) => produce('idem', w)),
  );
  rows.push(compare({
    name: `transactional produce, ${PRODUCERS} producers, ${TXN_RECORDS} x 100 B per transaction`,
    unit: 'records/s',
    runs: txns,
    baselineName: `idempotent produce, ${TXN_RECORDS} x 100 B per request, acks=all`,
    baselineRuns: idem,
    minRatio: 0.5,
  }));

  ctx.log('(u) filling partitions with committed transactions');
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'committed', partitions: READERS });
  const perPartition = ctx.quick ? 5_000 : 30_000;
  await Promise.all(transactional.slice(0, READERS).map(async (w) => {
    for (let n = 0; n < perPartition; n += TXN_RECORDS) {
      await produce('committed', w);
      await commit(w);
    }
  }));

  /** Records/s of READERS clients, each reading its partition from 0 to its end, again and again. */
  const readAll = async (isolation: 'read_committed' | 'read_uncommitted'): Promise<number> => {
    const deadline = performance.now() + ctx.seconds * 1000;
    const started = performance.now();
    let records = 0;
    await Promise.all(Array.from({ length: READERS }, async (_, p) => {
      let offset = 0;
      while (performance.now() < deadline) {
        const r = await json(`${base}/topics/committed/partitions/${p}/records?offset=${offset}&maxRecords=${FETCH_RECORDS}&isolation=${isolation}`);
        records += r.records.length;
        offset = r.records.length === 0 ? 0 : r.nextOffset;
      }
    }));
    return records / ((performance.now() - started) / 1000);
  };
  ctx.log('(u) read_committed vs read_uncommitted fetch');
  const [committed, uncommitted] = await alternate(ctx, () => readAll('read_committed'), () => readAll('read_uncommitted'));
  rows.push(compare({
    name: `read_committed fetch, ${READERS} readers, ${FETCH_RECORDS}/request`,
    unit: 'records/s',
    runs: committed,
    baselineName: 'read_uncommitted fetch of the same records',
    baselineRuns: uncommitted,
    minRatio: 0.9,
  }));
  ctx.note(
    `transactions: (t) each producer writes its own partition, one produce request and one commit per transaction, one transaction at a time; ` +
      `(u) reads ${perPartition.toLocaleString('en-US')} records per partition written in committed transactions of ${TXN_RECORDS} (a marker after each), wrapping to offset 0 at the end.`,
  );
  return rows;
}
