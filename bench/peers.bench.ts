/**
 * (g) Peers: the same 100 B records published from this one benchmark process to Webka over
 * HTTP (1000 records per request, acks=1), to a NATS JetStream stream (file storage, async
 * publishes with up to 1000 awaiting their ack) and to Redis with XADD (pipelines of 1000).
 * Each peer runs only where its server answers on loopback (127.0.0.1:4222, 127.0.0.1:6379);
 * otherwise the row is skipped with a note.
 */
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { startBroker, api } from './lib/children.js';
import { buildRequest, closedLoop } from './lib/http-client.js';
import { alternate, compare } from './lib/measure.js';
import { produceBody } from './lib/records.js';
import type { BenchContext, BenchRow } from './lib/types.js';

const WINDOW = 1000;
const STREAM = 'WEBKA_BENCH';
const SUBJECT = 'webka.bench';
const REDIS_KEY = 'webka-bench-stream';

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const payload = Buffer.alloc(100, 'v');
  const rows: BenchRow[] = [];

  const broker = await startBroker(ctx);
  await api(broker.port, 'POST', '/v1/clusters/default/topics', { name: 'peers', partitions: 1 });
  const request = buildRequest('POST', `127.0.0.1:${broker.port}`, '/v1/clusters/default/topics/peers/records?acks=1', produceBody(1000));
  const webka = async (): Promise<number> => {
    const r = await closedLoop({ port: broker.port, connections: 4, seconds: ctx.seconds, warmupSeconds: 0.3, next: () => request, expectStatus: 200 });
    if (r.failures > 0) throw new Error(`webka produce failed: ${r.firstFailure}`);
    return (r.requests * 1000) / r.seconds;
  };

  const nc = await natsConnect({ servers: '127.0.0.1:4222', timeout: 1000, reconnect: false }).catch((err: Error) => {
    ctx.note(`peers: NATS JetStream skipped: nothing answered on 127.0.0.1:4222 (${err.message})`);
    return null;
  });
  if (nc !== null) {
    ctx.onCleanup(() => nc.close());
    const jetstreamRun = await jetStreamPublisher(ctx, nc, payload);
    if (jetstreamRun !== null) {
      ctx.log('JetStream vs Webka');
      const [w, j] = await alternate(ctx, webka, jetstreamRun);
      rows.push(compare({ name: 'Webka HTTP produce 1000 x 100 B/req, acks=1 (this process)', unit: 'records/s', runs: w, baselineName: 'NATS JetStream publish, 1000 in flight', baselineRuns: j }));
    }
  }

  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  const redisUp = await redis.connect().then(() => true, (err: Error) => {
    ctx.note(`peers: Redis skipped: nothing answered on 127.0.0.1:6379 (${err.message})`);
    return false;
  });
  if (redisUp) {
    ctx.onCleanup(async () => {
      await redis.del(REDIS_KEY).catch(() => undefined);
      redis.disconnect();
    });
    ctx.log('Redis XADD vs Webka');
    const xadd = async (): Promise<number> => {
      await redis.del(REDIS_KEY);
      const warmEnd = performance.now() + 300;
      const end = warmEnd + ctx.seconds * 1000;
      let n = 0;
      for (;;) {
        const p = redis.pipeline();
        for (let i = 0; i < WINDOW; i++) p.xadd(REDIS_KEY, '*', 'v', payload);
        const results = await p.exec();
        const now = performance.now();
        if (now > end) break;
        const failed = results?.find(([err]) => err !== null);
        if (failed) throw failed[0]!;
        if (now >= warmEnd) n += WINDOW;
      }
      return n / ctx.seconds;
    };
    const [w, r] = await alternate(ctx, webka, xadd);
    rows.push(compare({ name: 'Webka HTTP produce 1000 x 100 B/req, acks=1 (this process)', unit: 'records/s', runs: w, baselineName: 'Redis XADD, pipelines of 1000', baselineRuns: r }));
  }
  ctx.note('peers: every client runs in the benchmark process itself (Webka over 4 keep-alive connections); JetStream acknowledges once the message is in its file store (not fsynced), Redis here keeps nothing on disk; compare with Webka acks=1.');
  return rows;
}

async function jetStreamPublisher(ctx: BenchContext, nc: NatsConnection, payload: Buffer): Promise<(() => Promise<number>) | null> {
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(STREAM).catch(() => undefined);
    await jsm.streams.add({ name: STREAM, subjects: [SUBJECT], storage: StorageType.File, max_bytes: 1 << 30 });
    ctx.onCleanup(async () => {
      await jsm.streams.delete(STREAM).catch(() => undefined);
    });
  } catch (err) {
    ctx.note(`peers: NATS JetStream skipped: the server answered but JetStream did not (${(err as Error).message})`);
    return null;
  }
  const js = jetstream(nc);
  return async () => {
    const warmEnd = performance.now() + 300;
    const end = warmEnd + ctx.seconds * 1000;
    let n = 0;
    for (;;) {
      const acks = new Array<Promise<unknown>>(WINDOW);
      for (let i = 0; i < WINDOW; i++) acks[i] = js.publish(SUBJECT, payload);
      await Promise.all(acks);
      const now = performance.now();
      if (now > end) break;
      if (now >= warmEnd) n += WINDOW;
    }
    return n / ctx.seconds;
  };
}
