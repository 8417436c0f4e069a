/**
 * IncrementalAlterConfigs over Webka's topic configs. Neither kafkajs nor Debian's
 * confluent-kafka sends it (their DescribeConfigs and AlterConfigs are tested in kafkajs.test.ts
 * and confluent-kafka.test.ts), so the request is encoded by the message table and sent as is.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, type Rest } from '../support/rest.js';
import { IncrementalAlterConfigs } from '../../src/kafka/messages-configs.js';
import { decodeStruct, encodeStruct } from '../../src/kafka/schema.js';
import { WireReader, WireWriter } from '../../src/kafka/wire.js';

let broker: TestBroker;
let api: Rest;

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
});
after(async () => broker?.close());

async function createTopic(name: string, configs: Record<string, unknown> = {}): Promise<void> {
  const r = await api.post('/v1/clusters/default/topics', { name, partitions: 1, configs });
  assert.equal(r.status, 201, r.text);
}

async function overrides(topic: string): Promise<Record<string, unknown>> {
  const r = await api.get(`/v1/clusters/default/topics/${topic}`);
  assert.equal(r.status, 200, r.text);
  return r.body.configs;
}

/** One IncrementalAlterConfigs request (version 0) encoded by the message table, and its decoded response. */
async function incrementalAlter(resources: unknown[]): Promise<Array<{ errorCode: number; errorMessage: string | null; resourceName: string }>> {
  const w = new WireWriter();
  w.int16(IncrementalAlterConfigs.key);
  w.int16(0);
  w.int32(1);
  w.int16(-1); // null client id
  encodeStruct(w, IncrementalAlterConfigs.request, { resources, validateOnly: false }, 0, false);
  const body = Buffer.concat(w.finish());
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  const data = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(broker.server.kafkaPort!, '127.0.0.1', () => s.write(Buffer.concat([size, body])));
    s.on('data', (d) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      if (all.length >= 4 && all.length >= 4 + all.readInt32BE(0)) {
        s.destroy();
        resolve(all);
      }
    });
    s.on('error', reject);
  });
  return decodeStruct(new WireReader(data, 8), IncrementalAlterConfigs.response, 0, false).responses;
}

test('IncrementalAlterConfigs sets and deletes single keys; APPEND and non-topic resources are refused', async () => {
  await createTopic('cfg-inc', { 'cleanup.policy': 'compact' });
  const ok = await incrementalAlter([{ resourceType: 2, resourceName: 'cfg-inc', configs: [{ name: 'retention.bytes', configOperation: 0, value: '1048576' }, { name: 'cleanup.policy', configOperation: 1, value: null }] }]);
  assert.deepEqual(ok.map((r) => r.errorCode), [0]);
  assert.deepEqual(await overrides('cfg-inc'), { 'retention.bytes': 1048576 });

  const refused = await incrementalAlter([
    { resourceType: 2, resourceName: 'cfg-inc', configs: [{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }] },
    { resourceType: 4, resourceName: '0', configs: [{ name: 'log.retention.ms', configOperation: 0, value: '1' }] },
  ]);
  assert.deepEqual(refused.map((r) => r.errorCode), [40, 42]); // INVALID_CONFIG, INVALID_REQUEST
  assert.match(refused[0].errorMessage!, /SET/);
  assert.deepEqual(await overrides('cfg-inc'), { 'retention.bytes': 1048576 });
});
