/**
 * The Kafka listener: a librdkafka producer (Debian's python3-confluent-kafka) sending 100 B
 * records to one partition of Webka over the Kafka protocol, against the same producer sending
 * to librdkafka's own in-memory mock cluster (test.mock.num.brokers) in the same run; acks=all
 * and acks=1. Skipped with a note where python3-confluent-kafka is not installed
 * (apt-get install python3-confluent-kafka; the Kafka tests install it themselves).
 */
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { startBroker, api } from './lib/children.js';
import { alternate, compare } from './lib/measure.js';
import type { BenchContext, BenchRow } from './lib/types.js';

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

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  if (spawnSync('/usr/bin/python3', ['-c', 'import confluent_kafka'], { stdio: 'ignore' }).status !== 0) {
    ctx.note('kafka: skipped: python3-confluent-kafka is not installed (apt-get install python3-confluent-kafka)');
    return [];
  }
  const broker = await startBroker(ctx);
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'kafka-bench', partitions: 1 });
  const records = ctx.quick ? 20_000 : 300_000;
  const rows: BenchRow[] = [];
  for (const acks of ['all', '1']) {
    ctx.log(`librdkafka producer, acks=${acks}: Webka vs mock cluster`);
    const [webka, mock] = await alternate(ctx, producer(ctx, `127.0.0.1:${broker.kafkaPort}`, acks, records), producer(ctx, 'mock', acks, records));
    rows.push(compare({ name: `librdkafka produce 100 B to Webka over Kafka, acks=${acks}`, unit: 'records/s', runs: webka, baselineName: 'librdkafka mock cluster (in memory)', baselineRuns: mock, minRatio: 0.5 }));
  }
  return rows;
}
