/**
 * The Kafka listener: a librdkafka producer (Debian's python3-confluent-kafka) sending 100 B
 * records to one partition of Webka over the Kafka protocol, against the same producer sending
 * to librdkafka's own in-memory mock cluster (test.mock.num.brokers) in the same run; acks=all
 * and acks=1. Skipped with a note where python3-confluent-kafka is not installed
 * (apt-get install python3-confluent-kafka; the Kafka tests install it themselves).
 * And kafkajs (from this process, over Kafka) against the SDK's producer (from this process,
 * over HTTP): both idempotent, acks=all, batches of 1000 x 100 B keyless records, one request in
 * flight, to a topic of 4 partitions of the same broker.
 */
import { Kafka, logLevel } from 'kafkajs';
import { Webka } from '@webka/client';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { startBroker, api } from './lib/children.js';
import { alternate, compare } from './lib/measure.js';
import { valueOf } from './lib/records.js';
import type { BenchContext, BenchRow } from './lib/types.js';

const BATCH = 1000;

function producer(ctx: BenchContext, target: string, acks: string, records: number): () => Promise<number> {
  const script = path.join(ctx.root, 'bench/lib/kafka-producer.py');
  return () =>
    new Promise((resolve, reject) => {
      const child = spawn('/usr/bin/python3', [script, target, 'kafka-bench', String(records), acks], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => {
        try {
          const r = JSON.parse(out) as { recordsPerSec: number; failed: number; firstError: string | null };
          if (code !== 0 || r.failed > 0) return reject(new Error(`kafka producer to ${target}: exit ${code}, ${r.failed} failed (${r.firstError})`));
          resolve(r.recordsPerSec);
        } catch {
          reject(new Error(`kafka producer to ${target} exited ${code}: ${out}`));
        }
      });
    });
}

/** kafkajs and the SDK producer, each sending `count` records in batches of BATCH, one batch at a time. */
async function kafkajsVsSdk(ctx: BenchContext, port: number, kafkaPort: number, count: number): Promise<BenchRow> {
  await api(port, 'POST', '/v1/clusters/default/topics', { name: 'kafkajs-bench', partitions: 4 });
  await api(port, 'POST', '/v1/clusters/default/topics', { name: 'sdk-bench', partitions: 4 });
  const value = valueOf(100);
  const kafka = new Kafka({ clientId: 'bench', brokers: [`127.0.0.1:${kafkaPort}`], logLevel: logLevel.NOTHING });
  const kp = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await kp.connect();
  ctx.onCleanup(() => kp.disconnect());
  const messages = Array.from({ length: BATCH }, () => ({ value }));
  const viaKafkajs = async (): Promise<number> => {
    const t0 = performance.now();
    for (let sent = 0; sent < count; sent += BATCH) await kp.send({ topic: 'kafkajs-bench', acks: -1, messages });
    return count / ((performance.now() - t0) / 1000);
  };
  const webka = new Webka({ url: `http://127.0.0.1:${port}` });
  const viaSdk = async (): Promise<number> => {
    const producer = webka.producer({ maxBatchRecords: BATCH, lingerMs: 5 });
    const t0 = performance.now();
    for (let i = 0; i < count; i += BATCH) {
      const batch: Promise<unknown>[] = [];
      for (let j = i; j < i + BATCH && j < count; j++) batch.push(producer.send('sdk-bench', { value }));
      await Promise.all(batch);
    }
    await producer.close();
    return count / ((performance.now() - t0) / 1000);
  };
  ctx.log('kafkajs over Kafka vs the SDK producer over HTTP');
  await viaKafkajs(); // warm both paths (JIT, connections, producer ids)
  await viaSdk();
  const [k, s] = await alternate(ctx, viaKafkajs, viaSdk);
  return compare({ name: 'kafkajs produce over Kafka, idempotent, 1000 x 100 B per request', unit: 'records/s', runs: k, baselineName: 'SDK producer over HTTP, the same batches', baselineRuns: s });
}

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const broker = await startBroker(ctx);
  const records = ctx.quick ? 20_000 : 300_000;
  const rows: BenchRow[] = [await kafkajsVsSdk(ctx, broker.port, broker.kafkaPort, ctx.quick ? 20_000 : 100_000)];
  if (spawnSync('/usr/bin/python3', ['-c', 'import confluent_kafka'], { stdio: 'ignore' }).status !== 0) {
    ctx.note('kafka: librdkafka rows skipped: python3-confluent-kafka is not installed (apt-get install python3-confluent-kafka)');
    return rows;
  }
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'kafka-bench', partitions: 1 });
  for (const acks of ['all', '1']) {
    ctx.log(`librdkafka producer, acks=${acks}: Webka vs mock cluster`);
    const [webka, mock] = await alternate(ctx, producer(ctx, `127.0.0.1:${broker.kafkaPort}`, acks, records), producer(ctx, 'mock', acks, records));
    rows.push(compare({ name: `librdkafka produce 100 B to Webka over Kafka, acks=${acks}`, unit: 'records/s', runs: webka, baselineName: 'librdkafka mock cluster (in memory)', baselineRuns: mock, minRatio: 0.5 }));
  }
  return rows;
}
