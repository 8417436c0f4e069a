/**
 * One value model (docs/values.md): a value reads back the way it was produced, whoever wrote it
 * and whoever reads it. Lines the CLI sends as text, JSON values, text and bytes from the SDK
 * and HTTP are read with no format asked by an HTTP fetch, a group poll, an SSE stream, a
 * WebSocket subscription, the SDK's partition and group consumers and `webka consume --json`,
 * and each reader sees the same values: text as the same text (a line "10001" stays the string
 * "10001"), JSON as JSON, bytes as base64 with valueEncoding. A reader that asks for a format
 * gets that format. A record without a tag (a Kafka client's) is shown by what its bytes are.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Webka } from '@webka/client';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, type Rest } from '../support/rest.js';
import { SseClient } from '../support/sse-client.js';
import { WsClient } from '../support/ws-client.js';
import { CLI } from '../support/cli-broker.js';
import { readFormat, renderRecord } from '../../src/http/record-json.js';
import { decodeRecords, encodeBatch, VALUE_FORMAT_TEXT, type DecodedRecord } from '../../src/storage/record-batch.js';

let broker: TestBroker;
let api: Rest;
const T = '/v1/clusters/default/topics';

/** What every reader must see, in offset order: [value, valueEncoding]. */
const EXPECTED: [unknown, string | undefined][] = [
  ['from-the-cli-1', undefined],
  ['10001', undefined],
  ['{"not":"parsed"}', undefined],
  [{ total: 42 }, undefined],
  ['a JSON string', undefined],
  [7, undefined],
  ['10002', undefined],
  ['/wBB', 'base64'],
];

function cli(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, WEBKA_URL: broker.url, XDG_CONFIG_HOME: '/nonexistent' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const seen = (records: { value: unknown; valueEncoding?: string }[]): [unknown, string | undefined][] => records.map((r) => [r.value, r.valueEncoding]);

before(async () => {
  broker = await startBroker();
  api = rest(broker.url);
  assert.equal((await api.post(T, { name: 'values', partitions: 1 })).status, 201);
  // the CLI's default: each line as text
  const r = await cli(['produce', 'values', '--partition', '0'], 'from-the-cli-1\n10001\n{"not":"parsed"}\n');
  assert.equal(r.code, 0, r.stderr);
  const webka = new Webka({ url: broker.url });
  const json = webka.producer();
  await json.send('values', [{ value: { total: 42 }, partition: 0 }, { value: 'a JSON string', partition: 0 }, { value: 7, partition: 0 }]);
  await json.close();
  const text = webka.producer({ valueFormat: 'text' });
  await text.send('values', { value: '10002', partition: 0 });
  await text.close();
  const bytes = await api.post(`${T}/values/records`, { valueFormat: 'binary', records: [{ value: '/wBB', partition: 0 }] });
  assert.equal(bytes.status, 200, bytes.text);
});
after(() => broker.close());

test('an HTTP fetch with no format shows each value as it was produced', async () => {
  const r = await api.get(`${T}/values/partitions/0/records?offset=0`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(seen(r.body.records), EXPECTED);
});

test('a group poll, an SSE stream and a WebSocket subscription show the same values', async () => {
  const join = await api.post('/v1/clusters/default/groups/values-poll/members', { topics: ['values'], autoOffsetReset: 'earliest' });
  assert.equal(join.status, 201, join.text);
  const poll = await api.get(`/v1/clusters/default/groups/values-poll/members/${join.body.memberId}/records?maxWaitMs=2000`);
  assert.equal(poll.status, 200, poll.text);
  assert.deepEqual(seen(poll.body.records), EXPECTED);

  const sse = await SseClient.open(`${broker.url}${T}/values/records?offset=earliest`);
  try {
    await sse.until((c) => c.records().length >= EXPECTED.length, 5000, 'every record');
    assert.deepEqual(seen(sse.records()), EXPECTED);
  } finally {
    sse.close();
  }

  const ws = await WsClient.connect(broker.url);
  try {
    const sub = await ws.request({ type: 'subscribe', id: 'v', cluster: 'default', topic: 'values', partition: 0, offset: 0 });
    assert.equal(sub.type, 'subscribed', JSON.stringify(sub));
    const records = (): any[] => ws.frames.filter((f) => f.type === 'records').flatMap((f) => f.records);
    await ws.waitFor(() => records().length >= EXPECTED.length, 5000, 'every record');
    assert.deepEqual(seen(records()), EXPECTED);
  } finally {
    ws.close();
  }
});

test('the SDK\'s consumers and `webka consume --json` show the same values', async () => {
  const webka = new Webka({ url: broker.url });
  const one: any[] = [];
  for await (const r of webka.consumer({ topic: 'values', partition: 0, follow: false })) one.push(r);
  assert.deepEqual(seen(one), EXPECTED);

  const group = webka.consumer({ groupId: 'values-sdk', topics: 'values', autoOffsetReset: 'earliest' });
  const grouped: any[] = [];
  for await (const r of group) {
    grouped.push(r);
    if (grouped.length === EXPECTED.length) break;
  }
  await group.close();
  assert.deepEqual(seen(grouped), EXPECTED);

  const r = await cli(['consume', 'values', '--partition', '0', '--from-beginning', '--json'], '');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(seen(r.stdout.trim().split('\n').map((l) => JSON.parse(l))), EXPECTED);
  // the template prints text as it is and JSON as its text
  const plain = await cli(['consume', 'values', '--partition', '0', '--from-beginning'], '');
  assert.equal(plain.code, 0, plain.stderr);
  assert.deepEqual(plain.stdout.trim().split('\n').slice(0, 7), ['from-the-cli-1', '10001', '{"not":"parsed"}', '{"total":42}', '"a JSON string"', '7', '10002']);
});

test('a reader that asks for a format gets it', async () => {
  const json = await api.get(`${T}/values/partitions/0/records?offset=0&valueFormat=json`);
  assert.deepEqual(seen(json.body.records).slice(0, 4), [
    ['ZnJvbS10aGUtY2xpLTE=', 'base64'],
    [10001, undefined],
    [{ not: 'parsed' }, undefined],
    [{ total: 42 }, undefined],
  ]);
  const text = await api.get(`${T}/values/partitions/0/records?offset=0&valueFormat=text`);
  assert.deepEqual(seen(text.body.records).slice(3, 7), [['{"total":42}', undefined], ['"a JSON string"', undefined], ['7', undefined], ['10002', undefined]]);
  const binary = await api.get(`${T}/values/partitions/0/records?offset=0&valueFormat=binary`);
  assert.deepEqual(seen(binary.body.records)[1], ['MTAwMDE=', 'base64']);
});

test('a record without a format tag (a Kafka client\'s) shows as JSON when it parses, else as text, else as base64', () => {
  const show = (value: Buffer, attributes = 0): unknown => JSON.parse(renderRecord({ offset: 0, timestamp: 0, key: null, value, headers: [], attributes }, 'text', readFormat(undefined)));
  assert.deepEqual(show(Buffer.from('{"a":1}')), { offset: 0, timestamp: 0, key: null, value: { a: 1 }, headers: {} });
  assert.equal((show(Buffer.from('10001')) as any).value, 10001);
  assert.equal((show(Buffer.from('plain words')) as any).value, 'plain words');
  assert.deepEqual(show(Buffer.from([0xff, 0x00])), { offset: 0, timestamp: 0, key: null, value: '/wA=', headers: {}, valueEncoding: 'base64' });
  // the tag survives encoding: text "10001" stays text
  const out: DecodedRecord[] = [];
  decodeRecords(encodeBatch([{ key: null, value: Buffer.from('10001'), timestamp: 1, attributes: VALUE_FORMAT_TEXT }], 0), 0, out);
  assert.equal(out[0].attributes, VALUE_FORMAT_TEXT);
  assert.equal((JSON.parse(renderRecord(out[0], 'text', readFormat(undefined))) as any).value, '10001');
});
