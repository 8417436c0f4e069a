/**
 * The SDK's producer against raw batched HTTP produce, both from this process to a broker child,
 * with the same fetch, the same 100 B records, the same batch size (1000 records per request),
 * acks=all and one request in flight (what an idempotent producer keeps per topic):
 *   SDK:      producer.send() once per record (queued, batched into RecordBatch v2 bodies,
 *             answered with its own partition and offset), idempotent (producer id and sequences)
 *   baseline: fetch POST of a prebuilt {"records":[...]} body of 1000 records, one after another
 * and the SDK producer against itself with wireFormat 'json' (JSON bodies: the producer before
 * it built RecordBatches), the same sends.
 */
import { Webka } from '@webka/client';
import { startBroker, api } from './lib/children.js';
import { alternate, compare } from './lib/measure.js';
import { produceBody, valueOf } from './lib/records.js';
import type { BenchContext, BenchRow } from './lib/types.js';

const BATCH = 1000;

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const broker = await startBroker(ctx);
  const url = `http://127.0.0.1:${broker.port}`;
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'sdk', partitions: 4 });
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'raw', partitions: 4 });
  const count = ctx.quick ? 20_000 : 300_000;
  const value = valueOf(100);
  const body = produceBody(BATCH);
  const webka = new Webka({ url });

  // This process's CPU time per 1000 records sent, per trial: the producer's own cost, which the
  // wall-clock figure hides when acks=all round trips (an fsync each) bound the rate.
  const cpuPer1000: Record<string, number[]> = { recordbatch: [], json: [] };
  const sdkWith = (wireFormat: 'recordbatch' | 'json', topic: string) => async (): Promise<number> => {
    const producer = webka.producer({ maxBatchRecords: BATCH, lingerMs: 5, wireFormat });
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    // Bounded like an application would be: when 4 batches wait for their answers, wait for the
    // oldest. Waiting also lets the queued request go out while the next batch is being filled.
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < count; i += BATCH) {
      const batch: Promise<unknown>[] = [];
      for (let j = i; j < i + BATCH && j < count; j++) batch.push(producer.send(topic, { value }));
      pending.push(Promise.all(batch));
      if (pending.length >= 4) await pending.shift();
    }
    await Promise.all(pending);
    await producer.close();
    const cpu = process.cpuUsage(cpu0);
    cpuPer1000[wireFormat].push(((cpu.user + cpu.system) / count) * 1000);
    return count / ((performance.now() - t0) / 1000);
  };

  const sdk = sdkWith('recordbatch', 'sdk');
  const sdkJson = sdkWith('json', 'sdk-json');
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'sdk-json', partitions: 4 });

  const raw = async (): Promise<number> => {
    const t0 = performance.now();
    for (let sent = 0; sent < count; sent += BATCH) {
      const res = await fetch(`${url}/v1/clusters/default/topics/raw/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (res.status !== 200) throw new Error(`raw produce answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
    return count / ((performance.now() - t0) / 1000);
  };

  ctx.log(`SDK producer vs raw batched HTTP produce, ${count} x 100 B records`);
  await sdk(); // warm both paths (JIT, connections, the producer id)
  await raw();
  const [s, r] = await alternate(ctx, sdk, raw);
  ctx.log(`SDK producer, RecordBatch bodies vs JSON bodies, ${count} x 100 B records`);
  await sdkJson();
  cpuPer1000.recordbatch.length = 0;
  cpuPer1000.json.length = 0;
  const [sb, sj] = await alternate(ctx, sdk, sdkJson);
  ctx.note('sdk: producer and raw fetch run in the bench process against a broker child; acks=all, batches of 1000 x 100 B, one request in flight, topic of 4 partitions.');
  return [
    compare({
      name: 'SDK producer, send() per record, idempotent',
      unit: 'records/s',
      runs: s,
      baselineName: 'raw fetch of prebuilt 1000-record bodies',
      baselineRuns: r,
      minRatio: 0.8,
    }),
    compare({
      name: 'SDK producer, RecordBatch bodies (default)',
      unit: 'records/s',
      runs: sb,
      baselineName: 'the same with wireFormat json (the SDK before)',
      baselineRuns: sj,
      minRatio: 2,
    }),
    compare({ name: '  producer process CPU per 1000 records', unit: 'µs', better: 'lower', runs: cpuPer1000.recordbatch, baselineName: 'the same with wireFormat json', baselineRuns: cpuPer1000.json }),
  ];
}
