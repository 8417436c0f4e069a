/**
 * Records written by Kafka clients read over every HTTP reader alike: kafkajs (uncompressed and
 * gzip batches) and kcat produce keys (text, bytes, none), headers and values of every kind
 * (UTF-8 text, JSON, bytes that are not UTF-8, empty, a tombstone, text holding "\n\nevent: x");
 * an HTTP fetch, an SSE stream and a WebSocket subscription then show each record the same, as
 * produced and with valueFormat=binary, and the binary form decodes to exactly the bytes the
 * client sent. kafkajs reads the gzip records back over Kafka too.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, CompressionTypes, type Message } from 'kafkajs';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, type Rest } from '../support/rest.js';
import { SseClient } from '../support/sse-client.js';
import { WsClient } from '../support/ws-client.js';
import { needDebianPackages, KCAT } from '../support/debian-packages.js';
import { kcat } from '../support/kafka-clients.js';

const missingKcat = needDebianPackages(KCAT);
if (missingKcat !== null) console.log(`# skipping the kcat part: ${missingKcat}`);

let broker: TestBroker;
let api: Rest;
let kafka: Kafka;

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
  kafka = new Kafka({ clientId: 'cross-protocol', brokers: [`127.0.0.1:${broker.server.kafkaPort}`], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
});
after(async () => broker?.close());

const MESSAGES: Message[] = [
  { key: 'k-text', value: 'plain text ✓ ünïcödé', headers: { source: 'kafkajs', 'ünï': 'cödé ✓' } },
  { key: 'k-json', value: '{"total":42,"items":["a","b"]}', headers: { kind: 'json' } },
  { key: null, value: Buffer.from([0xff, 0x00, 0x41, 0xc3]) },
  { key: Buffer.from([0xfe, 0x01, 0x80]), value: '' },
  { key: 'tomb', value: null },
  { key: 'k-sse', value: 'a\n\nevent: x\ndata: y', headers: { multi: 'line\nbreak' } },
];

const bytes = (v: Message['value'] | Message['key']): Buffer | null => (v === null || v === undefined ? null : Buffer.from(v));

/** The partition's records as an HTTP fetch, an SSE stream and a WebSocket subscription give them. */
async function readEverywhere(topic: string, count: number, valueFormat?: string): Promise<{ http: any[]; sse: any[]; ws: any[] }> {
  const q = valueFormat === undefined ? '' : `&valueFormat=${valueFormat}`;
  const fetched = await api.get(`/v1/clusters/default/topics/${topic}/partitions/0/records?offset=0${q}`);
  assert.equal(fetched.status, 200, fetched.text);
  const sse = await SseClient.open(`${broker.url}/v1/clusters/default/topics/${topic}/partitions/0/records?offset=earliest${q}`);
  assert.equal(sse.status, 200);
  const ws = await WsClient.connect(broker.url);
  try {
    ws.send({ type: 'subscribe', id: 's', cluster: 'default', topic, partition: 0, offset: 0, ...(valueFormat === undefined ? {} : { valueFormat }) });
    const { subscription } = await ws.waitFor((f) => f.type === 'subscribed' && f.id === 's', 30_000, 'subscribed');
    await sse.until((c) => c.records().length >= count, 30_000, `${count} records over SSE`);
    await ws.waitFor(() => ws.records(subscription).length >= count, 30_000, `${count} records over WebSocket`);
    return { http: fetched.body.records, sse: sse.records(), ws: ws.frames.filter((f) => f.type === 'records' && f.subscription === subscription).flatMap((f) => f.records) };
  } finally {
    sse.close();
    ws.ws.close();
  }
}

/** Decodes a record's key or value as shown with its encoding, to bytes. */
function decoded(shown: unknown, encoding: string | undefined): Buffer | null {
  if (shown === null) return null;
  return encoding === 'base64' ? Buffer.from(shown as string, 'base64') : Buffer.from(shown as string, 'utf8');
}

async function checkSame(topic: string, sent: Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, string> }>): Promise<void> {
  for (const format of [undefined, 'binary']) {
    const { http, sse, ws } = await readEverywhere(topic, sent.length, format);
    assert.equal(http.length, sent.length);
    assert.deepEqual(sse.slice(0, sent.length), http, `SSE shows what HTTP fetch shows (valueFormat ${format ?? 'as produced'})`);
    assert.deepEqual(ws.slice(0, sent.length), http, `WebSocket shows what HTTP fetch shows (valueFormat ${format ?? 'as produced'})`);
    for (const [i, r] of http.entries()) {
      assert.deepEqual(decoded(r.key, r.keyEncoding), sent[i].key, `record ${i}: the key's bytes`);
      assert.deepEqual(r.headers, sent[i].headers, `record ${i}: the headers`);
      if (format === 'binary') assert.deepEqual(decoded(r.value, r.value === null ? undefined : 'base64'), sent[i].value, `record ${i}: the value's bytes`);
    }
  }
}

for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
  const name = compression === CompressionTypes.None ? 'uncompressed' : 'gzip';
  test(`kafkajs records (${name}) read the same over HTTP fetch, SSE and WebSocket, byte for byte`, async () => {
    const topic = `kjs-${name}`;
    assert.equal((await api.post('/v1/clusters/default/topics', { name: topic, partitions: 1 })).status, 201);
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, compression, messages: MESSAGES.map((m) => ({ ...m, partition: 0 })) });
    } finally {
      await producer.disconnect();
    }
    const sent = MESSAGES.map((m) => ({ key: bytes(m.key), value: bytes(m.value), headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])) }));
    await checkSame(topic, sent);

    // and back over Kafka, decompressed by kafkajs: the same bytes
    const consumer = kafka.consumer({ groupId: `read-${name}`, sessionTimeout: 6000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, string> }> = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            got.push({ key: message.key, value: message.value, headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])) });
            if (got.length === sent.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    assert.deepEqual(
      got.map((m) => ({ ...m, key: m.key === null || m.key.length > 0 ? m.key : null })),
      sent,
    );
  });
}

test('kcat records read the same over HTTP fetch, SSE and WebSocket, byte for byte', { skip: missingKcat ?? false }, async () => {
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'kcat-streams', partitions: 1 })).status, 201);
  const lines = [
    ['k1', 'plain text ✓'],
    ['k2', '{"json":true,"n":10001}'],
    ['k3', '10001'],
  ];
  const produced = await kcat(broker.server.kafkaPort!, ['-P', '-t', 'kcat-streams', '-p', '0', '-K:', '-H', 'origin=kcat', '-H', 'ünï=cödé'], lines.map(([k, v]) => `${k}:${v}`).join('\n') + '\n');
  assert.equal(produced.code, 0, produced.stderr);
  await checkSame('kcat-streams', lines.map(([k, v]) => ({ key: Buffer.from(k), value: Buffer.from(v), headers: { origin: 'kcat', 'ünï': 'cödé' } })));
});
