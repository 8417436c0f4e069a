/**
 * Numeric configs are bounded by what the code can hold. segment.bytes is at most 1 GiB, as with
 * Kafka: offset index positions are int32, and a segment of 2 GiB or more overflowed them, so every
 * append with an index entry failed and the segment never rolled. A value out of range is refused
 * (topic, PATCH and cluster defaults alike) and changes nothing; a catalog written before the bound
 * existed takes effect at the bound. Every numeric key, topic config and broker setting, has both
 * bounds, within the integers a double holds exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBroker } from '../support/start-broker.js';
import { rest, assertError } from '../support/rest.js';
import { TOPIC_CONFIGS } from '../../src/catalog/topic-config.js';
import { CONFIG_KEYS } from '../../src/config/config.js';

const GiB = 1024 * 1024 * 1024;

test('segment.bytes is at most 1 GiB wherever it is set; a stored larger value takes effect as 1 GiB', async () => {
  let broker = await startBroker();
  try {
    let api = rest(broker.url);
    for (const size of [2 * GiB, 2 ** 32, GiB + 1]) {
      const msg = assertError(await api.post('/v1/clusters/default/topics', { name: 'big', configs: { 'segment.bytes': size } }), 400, 'INVALID_CONFIG');
      assert.match(msg, /segment\.bytes.*1073741824/);
    }
    assertError(await api.get('/v1/clusters/default/topics/big'), 404, 'TOPIC_NOT_FOUND');
    const ok = await api.post('/v1/clusters/default/topics', { name: 'big', configs: { 'segment.bytes': GiB } });
    assert.equal(ok.status, 201, ok.text);
    assertError(await api.patch('/v1/clusters/default/topics/big', { configs: { 'segment.bytes': 3 * GiB } }), 400, 'INVALID_CONFIG');
    assertError(await api.patch('/v1/clusters/default/topics/big', { configs: { 'max.message.bytes': 2 * GiB } }), 400, 'INVALID_CONFIG');
    assertError(await api.patch('/v1/clusters/default', { defaults: { configs: { 'segment.bytes': 2 * GiB } } }), 400, 'INVALID_CONFIG');
    assert.equal((await api.get('/v1/clusters/default/topics/big')).body.configs['segment.bytes'], GiB, 'the refused changes changed nothing');

    // a catalog written before the bound existed
    await broker.server.close();
    const file = path.join(broker.dataDir, 'catalog.json');
    const catalog = JSON.parse(fs.readFileSync(file, 'utf8'));
    const stored = JSON.stringify(catalog).replace('"segment.bytes":1073741824', `"segment.bytes":${4 * GiB}`);
    assert.notEqual(stored, JSON.stringify(catalog), 'the test found the stored config');
    fs.writeFileSync(file, stored);
    broker = await startBroker({ dataDir: broker.dataDir });
    api = rest(broker.url);
    const d = await api.get('/v1/clusters/default/topics/big');
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(d.body.effectiveConfigs['segment.bytes'], { value: GiB, source: 'topic' });
    const produced = await api.post('/v1/clusters/default/topics/big/records', { records: [{ value: 1 }] });
    assert.equal(produced.status, 200, produced.text);
  } finally {
    await broker.close();
    fs.rmSync(broker.dataDir, { recursive: true, force: true });
  }
});

test('every numeric config has both bounds, within the integers a double holds exactly', () => {
  for (const [key, def] of Object.entries(TOPIC_CONFIGS)) {
    if (def.type !== 'long') continue;
    assert.ok(def.min !== undefined && def.max !== undefined, `${key} has bounds`);
    assert.ok(Number.isSafeInteger(def.min) && Number.isSafeInteger(def.max) && def.min <= (def.default as number) && (def.default as number) <= def.max, key);
  }
  for (const [key, def] of Object.entries(CONFIG_KEYS) as Array<[string, { type: string; min?: number; max?: number; default: unknown }]>) {
    if (def.type !== 'int') continue;
    assert.ok(def.min !== undefined && def.max !== undefined, `${key} has bounds`);
    assert.ok(Number.isSafeInteger(def.min) && Number.isSafeInteger(def.max) && def.min <= (def.default as number) && (def.default as number) <= def.max, key);
  }
});
