/**
 * Protocol fuzzing against the Kafka listener: frames that lie about their size, truncated and
 * random bodies, unknown API keys and versions. Each closes that connection or is answered with
 * an error; the broker keeps serving other clients.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { API_HANDLERS } from '../../src/kafka/apis/index.js';

let broker: TestBroker;
let port: number;

before(async () => {
  broker = await startBroker({ config: { kafkaMaxRequestBytes: 64 * 1024 } });
  port = broker.server.kafkaPort!;
});
after(async () => broker?.close());

/** Sends bytes and resolves with what came back once the server closes the socket or goes quiet after answering. */
function exchange(bytes: Buffer, expectAnswer = false): Promise<{ closed: boolean; data: Buffer }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      s.destroy();
      resolve({ closed, data: Buffer.concat(chunks) });
    };
    s.on('data', (d) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      if (expectAnswer && all.length >= 4 && all.length >= 4 + all.readInt32BE(0)) done(false);
    });
    s.on('close', () => done(true));
    s.on('error', () => done(true));
    s.write(bytes);
  });
}

function frame(apiKey: number, version: number, body: Buffer = Buffer.alloc(0), correlationId = 7): Buffer {
  const header = Buffer.alloc(10);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(version, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(-1, 8); // null client id
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length);
  return Buffer.concat([size, header, body]);
}

async function apiVersionsWorks(): Promise<void> {
  const r = await exchange(frame(18, 0), true);
  assert.equal(r.closed, false);
  assert.equal(r.data.readInt32BE(4), 7); // correlation id
  assert.equal(r.data.readInt16BE(8), 0); // no error
}

test('a size prefix above the frame limit closes the connection before the body is sent', async () => {
  const size = Buffer.alloc(4);
  size.writeInt32BE(1 << 30);
  assert.equal((await exchange(size)).closed, true);
  size.writeInt32BE(-5);
  assert.equal((await exchange(size)).closed, true);
  await apiVersionsWorks();
});

test('unknown API keys and unsupported versions close the connection; ApiVersions answers UNSUPPORTED_VERSION', async () => {
  assert.equal((await exchange(frame(9999, 0))).closed, true);
  assert.equal((await exchange(frame(3, 99))).closed, true);
  const r = await exchange(frame(18, 99), true);
  assert.equal(r.closed, false);
  assert.equal(r.data.readInt16BE(8), 35);
  await apiVersionsWorks();
});

test('bodies that lie about lengths or array counts close the connection', async () => {
  const hugeCount = Buffer.from([0x7f, 0xff, 0xff, 0xff]);
  assert.equal((await exchange(frame(3, 1, hugeCount))).closed, true);
  const produce = Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0x75, 0x30]), hugeCount]);
  assert.equal((await exchange(frame(0, 3, produce))).closed, true);
  await apiVersionsWorks();
});

test('random bodies for every API either get an answer or close the connection, and the broker keeps serving', async () => {
  const apis = [...API_HANDLERS.values()].map((h) => h.def);
  for (let i = 0; i < 300; i++) {
    const def = apis[i % apis.length];
    const body = randomBytes(i % 50);
    const version = def.minVersion + (i % (def.maxVersion - def.minVersion + 1));
    const r = await exchange(frame(def.key, version, body), true);
    if (!r.closed) assert.equal(r.data.readInt32BE(4), 7);
  }
  await apiVersionsWorks();
  const health = await fetch(broker.url + '/health');
  assert.equal(health.status, 200);
});

test('Produce versions 0-2 are listed (librdkafka compresses only then) but refused with UNSUPPORTED_FOR_MESSAGE_FORMAT, writing nothing', async () => {
  const created = await fetch(`${broker.url}/v1/clusters/default/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'old-produce', partitions: 1 }) });
  assert.equal(created.status, 201);
  const records = Buffer.from('a message set of format 0 or 1 would be here');
  const name = Buffer.from('old-produce');
  const body = Buffer.alloc(2 + 4 + 4 + 2 + name.length + 4 + 4 + 4 + records.length);
  let pos = body.writeInt16BE(1, 0); // acks
  pos = body.writeInt32BE(5000, pos); // timeout
  pos = body.writeInt32BE(1, pos); // one topic
  pos = body.writeInt16BE(name.length, pos);
  pos += name.copy(body, pos);
  pos = body.writeInt32BE(1, pos); // one partition
  pos = body.writeInt32BE(0, pos);
  pos = body.writeInt32BE(records.length, pos);
  records.copy(body, pos);
  const r = await exchange(frame(0, 2, body), true);
  assert.equal(r.closed, false);
  // size, correlation id, 1 topic, name, 1 partition, index, errorCode
  const errorAt = 4 + 4 + 4 + 2 + name.length + 4 + 4;
  assert.equal(r.data.readInt16BE(errorAt), 43);
  const end = await fetch(`${broker.url}/v1/clusters/default/topics/old-produce/partitions/0/offsets`);
  assert.equal((await end.json()).latest, 0);
  await apiVersionsWorks();
});
