/**
 * A consume-process-produce pipeline, run as a child process by
 * test/transactions/exactly-once-pipeline.test.ts and test/cluster/cluster-exactly-once.test.ts
 * (which SIGKILL and restart it). It reads the input topic in a consumer group and writes, for
 * every input record, one record to each of two output topics, keyed as the input:
 *
 *   out1: { in: "<partition>:<offset>", v: value * 2 }     out2: { in: "<partition>:<offset>", s: "#<value>" }
 *
 * in batches of exactly `batch` records. Modes:
 *   transactional   one transaction per batch: both sends and the input offsets, then commit
 *   at-least-once   an idempotent producer's sends, then a separate commit of the input offsets
 *
 * It prints one JSON line per batch done ({"done":n}) and exits non-zero on any failure it does
 * not retry itself (the test restarts it, as a supervisor would). Plain JavaScript on the built
 * SDK, so a restart costs one Node start rather than a TypeScript compile.
 *
 * Usage: node eos-pipeline.mjs <url> <mode> <input> <out1> <out2> <groupId> <batch>
 *
 * With WEBKA_EOS_TRACE=1 each done line also names the batch's input records in the order they
 * were handed out ({"done":n,"in":["<partition>:<offset>",...]}), so a test can tell which
 * batch read what.
 */
import { Webka } from '@webka/client';

const [url, mode, input, out1, out2, groupId, batchArg] = process.argv.slice(2);
const batchSize = Number(batchArg);
if (!['transactional', 'at-least-once'].includes(mode) || !(batchSize > 0)) {
  console.error('usage: eos-pipeline.mjs <url> transactional|at-least-once <input> <out1> <out2> <groupId> <batch>');
  process.exit(64);
}

const fail = (err) => {
  console.error(`pipeline failed: ${err?.code ?? ''} ${err?.message ?? err}`);
  process.exit(2);
};
process.on('unhandledRejection', fail);

const retry = { retryBackoffMs: 50, retryBackoffMaxMs: 500 };
const webka = new Webka({ url });
const toOut1 = (r) => ({ key: r.key, value: { in: `${r.partition}:${r.offset}`, v: r.value * 2 } });
const toOut2 = (r) => ({ key: r.key, value: { in: `${r.partition}:${r.offset}`, s: `#${r.value}` } });

let tx;
let producer;
if (mode === 'transactional') {
  tx = webka.transactionalProducer({ transactionalId: `${groupId}-pipeline`, timeoutMs: 30_000, deliveryTimeoutMs: 60_000, ...retry });
  // Before reading: fences the killed predecessor and ends what it left open, so the committed
  // offsets the consumer starts from are final.
  await tx.init();
} else {
  producer = webka.producer({ lingerMs: 0, deliveryTimeoutMs: 60_000, ...retry });
}

const consumer = webka.consumer({
  groupId,
  topics: input,
  autoCommit: false,
  autoOffsetReset: 'earliest',
  isolation: mode === 'transactional' ? 'read_committed' : 'read_uncommitted',
  // A killed predecessor keeps its partitions until its session ends.
  sessionTimeoutMs: 2_500,
  heartbeatIntervalMs: 400,
  onError: fail,
  ...retry,
});

let batch = [];
try {
  for await (const r of consumer) {
    batch.push(r);
    // Only whole batches: the positions handed to sendOffsets/commit are those after the last
    // record handed out, which is the batch's last one only while no further record was asked for.
    if (batch.length < batchSize) continue;
    if (tx !== undefined) {
      await tx.begin();
      const sent = Promise.all([tx.send(out1, batch.map(toOut1)), tx.send(out2, batch.map(toOut2))]);
      await tx.sendOffsets(consumer);
      await sent;
      await tx.commit();
    } else {
      await Promise.all([producer.send(out1, batch.map(toOut1)), producer.send(out2, batch.map(toOut2))]);
      await consumer.commit(consumer.transactionOffsets().offsets);
    }
    console.log(JSON.stringify(process.env.WEBKA_EOS_TRACE === '1' ? { done: batch.length, in: batch.map((r) => `${r.partition}:${r.offset}`) } : { done: batch.length }));
    batch = [];
  }
} catch (err) {
  fail(err);
}
