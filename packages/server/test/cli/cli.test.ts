/**
 * The `webka` command end to end, as a user runs it (the built dist/cli/main.js in a child
 * process) against a real broker: 100,000 lines piped into `produce` come back from `consume
 * --group`; output formats, --json, contexts and exit codes.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webka } from '@webka/client';
import { startBroker, tempDir, type TestBroker } from '../support/start-broker.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

let broker: TestBroker;
let configHome: string;

function webka(args: string[], opts: { input?: string; env?: Record<string, string | undefined> } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: configHome, WEBKA_URL: broker.url, WEBKA_TOKEN: undefined, WEBKA_CONTEXT: undefined, WEBKA_CLUSTER: undefined, ...opts.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

before(async () => {
  assert.ok(fs.existsSync(MAIN), `${MAIN} is missing: build first (npm run build)`);
  broker = await startBroker();
  configHome = tempDir('webka-cli-config-');
});
after(async () => {
  await broker.close();
  fs.rmSync(configHome, { recursive: true, force: true });
});

describe('webka CLI', () => {
  test('100,000 lines piped into produce come back from consume --group', async () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => (i % 1000 === 7 ? `línea ${i}\tcon "comillas" y {llaves}` : `line-${i}`));
    let r = await webka(['topics', 'create', 'lines', '--partitions', '3']);
    assert.equal(r.code, 0, r.stderr);
    r = await webka(['produce', 'lines', '--json'], { input: lines.join('\n') + '\n' });
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.records, 100_000);
    assert.equal(Object.values(summary.partitions as Record<string, number>).reduce((a, b) => a + b, 0), 100_000);
    r = await webka(['consume', 'lines', '--group', 'cli-e2e', '--from', 'beginning']);
    assert.equal(r.code, 0, r.stderr);
    const back = r.stdout.split('\n');
    assert.equal(back.pop(), '', 'output ends with a newline');
    assert.equal(back.length, 100_000);
    // Partitions interleave: compare as multisets.
    assert.deepEqual([...back].sort(), [...lines].sort());
    // The group committed everything: a second run prints nothing and ends.
    r = await webka(['consume', 'lines', '--group', 'cli-e2e', '--idle-ms', '300']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    r = await webka(['groups', 'describe', 'cli-e2e', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).totalLag, 0);
  });

  test('keys, templates and JSON output', async () => {
    assert.equal((await webka(['topics', 'create', 'keyed', '-p', '1'])).code, 0);
    let r = await webka(['produce', 'keyed', '-K', ':', '--value-format', 'json', '-H', 'src=cli'], { input: 'a:{"n":1}\nb:{"n":2}\r\n\nc:3\n' });
    assert.equal(r.code, 0, r.stderr);
    r = await webka(['consume', 'keyed', '-p', '0', '--from-beginning', '--format', '%p\\t%o\\t%k=%s %K %S [%h] %%\\n']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '0\t0\ta={"n":1} 1 7 [src=cli] %\n0\t1\tb={"n":2} 1 7 [src=cli] %\n0\t2\tc=3 1 1 [src=cli] %\n');
    r = await webka(['consume', 'keyed', '-p', '0', '--from', '1', '-n', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rec = JSON.parse(r.stdout);
    assert.deepEqual({ ...rec, timestamp: 0 }, { topic: 'keyed', partition: 0, offset: 1, timestamp: 0, key: 'b', value: { n: 2 }, headers: { src: 'cli' } });
    r = await webka(['consume', 'keyed', '-p', '0', '--from', `@${Date.now() + 60_000}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'nothing is at or after a future time');
    r = await webka(['topics', 'list', '--json']);
    assert.ok(JSON.parse(r.stdout).topics.some((t: { name: string }) => t.name === 'keyed'));
    r = await webka(['topics', 'describe', 'keyed', '--json']);
    assert.equal(JSON.parse(r.stdout).partitionInfo[0].highWatermark, 3);
  });

  test('exit codes: usage 2, not found 3, conflict 4, unreachable 5; --json errors', async () => {
    let r = await webka(['topics', 'describe', 'missing']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /TOPIC_NOT_FOUND/);
    r = await webka(['topics', 'describe', 'missing', '--json']);
    assert.equal(r.code, 3);
    assert.equal(JSON.parse(r.stderr).error.code, 'TOPIC_NOT_FOUND');
    assert.equal((await webka(['topics', 'create', 'twice'])).code, 0);
    assert.equal((await webka(['topics', 'create', 'twice'])).code, 4);
    assert.equal((await webka(['topics', 'create', 'twice', '--if-not-exists'])).code, 0);
    assert.equal((await webka(['topics', 'create', 'bad', '--partitions', 'many'])).code, 2);
    assert.equal((await webka(['no-such-command'])).code, 2);
    assert.equal((await webka(['consume', 'twice', '-p', '0', '-g', 'g'])).code, 2, 'consume takes --partition or --group, not both');
    r = await webka(['produce', 'twice', '--value-format', 'json'], { input: '{"ok":1}\nnot json\n' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /line 2/);
    assert.equal((await webka(['topics', 'list'], { env: { WEBKA_URL: 'http://127.0.0.1:9' } })).code, 5);
    r = await webka(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Exit codes/);
    r = await webka(['produce', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Examples/);
  });

  test('named contexts, overridden by --url and WEBKA_URL', async () => {
    const noUrl = { WEBKA_URL: undefined };
    let r = await webka(['context', 'add', 'dead', '--url', 'http://127.0.0.1:9'], { env: noUrl });
    assert.equal(r.code, 0, r.stderr);
    r = await webka(['context', 'add', 'local', '--url', broker.url], { env: noUrl });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await webka(['topics', 'list'], { env: noUrl })).code, 5, 'the first context added is the current one');
    assert.equal((await webka(['context', 'use', 'local'], { env: noUrl })).code, 0);
    assert.equal((await webka(['topics', 'list'], { env: noUrl })).code, 0);
    assert.equal((await webka(['topics', 'list', '--context', 'dead'], { env: noUrl })).code, 5);
    assert.equal((await webka(['topics', 'list', '--context', 'dead', '--url', broker.url], { env: noUrl })).code, 0, '--url wins');
    assert.equal((await webka(['topics', 'list', '--context', 'dead'], { env: { WEBKA_URL: broker.url } })).code, 0, 'WEBKA_URL wins');
    assert.equal((await webka(['context', 'use', 'nope'], { env: noUrl })).code, 2);
    r = await webka(['context', 'list', '--json'], { env: noUrl });
    const list = JSON.parse(r.stdout);
    assert.equal(list.current, 'local');
    assert.deepEqual(list.contexts.map((c: { name: string }) => c.name).sort(), ['dead', 'local']);
    const stored = JSON.parse(fs.readFileSync(path.join(configHome, 'webka', 'contexts.json'), 'utf8'));
    assert.equal(stored.contexts.local.url, broker.url);
  });

  test('groups: list, describe with lag, reset offsets, delete', async () => {
    assert.equal((await webka(['topics', 'create', 'grouped', '-p', '2'])).code, 0);
    assert.equal((await webka(['produce', 'grouped', '-K', ':'], { input: 'a:1\nb:2\nc:3\nd:4\n' })).code, 0);
    let r = await webka(['consume', 'grouped', '-g', 'gr', '--from', 'beginning', '-n', '4', '--transport', 'sse']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['1', '2', '3', '4']);
    r = await webka(['groups', 'list', '--json']);
    assert.ok(JSON.parse(r.stdout).groups.some((g: { group: string }) => g.group === 'gr'));
    r = await webka(['groups', 'describe', 'gr']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /LAG/);
    r = await webka(['groups', 'reset-offsets', 'gr', '--topic', 'grouped', '--to', 'beginning', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).offsets.every((o: { offset: number }) => o.offset === 0));
    r = await webka(['groups', 'describe', 'gr', '--json']);
    assert.equal(JSON.parse(r.stdout).totalLag, 4);
    assert.equal((await webka(['groups', 'delete', 'gr'])).code, 0);
    assert.equal((await webka(['groups', 'describe', 'gr'])).code, 3);
  });

  test('topics create --if-not-exists on an existing topic says it existed and how it differs', async () => {
    assert.equal((await webka(['topics', 'create', 'clicks', '--partitions', '3'])).code, 0);
    let r = await webka(['topics', 'create', 'clicks', '--partitions', '5', '--config', 'retention.ms=86400000', '--if-not-exists']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /created/);
    assert.match(r.stderr, /^topic clicks exists already \(3 partitions\), left as it is; it differs from what was asked: partitions is 3, not 5, retention\.ms is \d+, not 86400000/);
    r = await webka(['topics', 'create', 'clicks', '--partitions', '3', '--if-not-exists']);
    assert.equal(r.stderr, 'topic clicks exists already (3 partitions), left as it is\n');
    r = await webka(['topics', 'create', 'clicks', '-p', '5', '--if-not-exists', '--json']);
    const out = JSON.parse(r.stdout);
    assert.equal(out.existed, true);
    assert.deepEqual(out.differences, [{ setting: 'partitions', asked: 5, actual: 3 }]);
    assert.equal(JSON.parse((await webka(['topics', 'describe', 'clicks', '--json'])).stdout).partitions, 3, 'left as it is');
  });

  test('produce: a failure says how many records were written; --atomic sends each partition\'s share of a batch all or nothing', async () => {
    const count = async (topic: string): Promise<number[]> =>
      JSON.parse((await webka(['topics', 'describe', topic, '--json'])).stdout).partitionInfo.map((p: { highWatermark: number }) => p.highWatermark);
    assert.equal((await webka(['topics', 'create', 'halfway'])).code, 0);
    let r = await webka(['produce', 'halfway', '--value-format', 'json'], { input: '{"ok":1}\nnot json\n' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /line 2: .*\(1 record written before the error\)/);
    assert.deepEqual(await count('halfway'), [1]);

    assert.equal((await webka(['topics', 'create', 'all-or-nothing'])).code, 0);
    r = await webka(['produce', 'all-or-nothing', '--value-format', 'json', '--atomic'], { input: '{"ok":1}\nnot json\n' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /line 2: .*\(0 records written before the error; nothing from line 1 on was sent\)/);
    assert.deepEqual(await count('all-or-nothing'), [0]);
    // small batches: the batches before the bad line are written, the one holding it is not
    const lines = Array.from({ length: 30 }, (_, i) => `{"n":${i}}`);
    lines[25] = 'not json';
    r = await webka(['produce', 'all-or-nothing', '--value-format', 'json', '--atomic', '--batch-size', '400'], { input: lines.join('\n') + '\n' });
    assert.equal(r.code, 2);
    const m = /line 26: .*\((\d+) records written before the error; nothing from line (\d+) on was sent\)/.exec(r.stderr);
    assert.ok(m !== null, r.stderr);
    assert.equal(Number(m[1]), Number(m[2]) - 1, 'every line before the dropped batch was written');
    assert.ok(Number(m[1]) > 0 && Number(m[1]) < 25);
    assert.deepEqual(await count('all-or-nothing'), [Number(m[1])]);

    // keyed records land where the broker puts them (murmur2), one request per partition
    const keyed = Array.from({ length: 60 }, (_, i) => `user-${i}:${i}`).join('\n') + '\n';
    for (const t of ['keyed-plain', 'keyed-atomic']) assert.equal((await webka(['topics', 'create', t, '-p', '3'])).code, 0);
    assert.equal((await webka(['produce', 'keyed-plain', '-K', ':'], { input: keyed })).code, 0);
    r = await webka(['produce', 'keyed-atomic', '-K', ':', '--atomic', '--json'], { input: keyed });
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.records, 60);
    assert.equal(summary.requests, 3);
    assert.deepEqual(await count('keyed-atomic'), await count('keyed-plain'));
  });

  test('consume --match prints only the records the broker found, in every partition or one', async () => {
    assert.equal((await webka(['topics', 'create', 'searched', '-p', '2'])).code, 0);
    const lines = Array.from({ length: 3_000 }, (_, i) => (i % 1000 === 7 ? `user-${i}:Needle ${i}` : `user-${i}:hay ${i}`));
    assert.equal((await webka(['produce', 'searched', '-K', ':'], { input: lines.join('\n') + '\n' })).code, 0);
    let r = await webka(['consume', 'searched', '--match', 'NEEDLE', '-F', '%p %k=%s\n']);
    assert.equal(r.code, 0, r.stderr);
    const found = r.stdout.trim().split('\n').map((l) => l.split(' '));
    assert.deepEqual(found.map(([, k, n]) => `${k} ${n}`).sort(), ['user-1007=Needle 1007', 'user-2007=Needle 2007', 'user-7=Needle 7']);
    r = await webka(['consume', 'searched', '--match', 'user-200', '--match-in', 'key', '-F', '%k\n']);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['user-200', ...Array.from({ length: 10 }, (_, i) => `user-200${i}`)].sort());
    r = await webka(['consume', 'searched', '--match', 'needle', '--match-in', 'key']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'no key holds the text');
    // one partition: the needles it holds
    const p = found[0]![0]!;
    r = await webka(['consume', 'searched', '-p', p, '--match', 'needle', '-F', '%p %k=%s\n']);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), found.filter(([q]) => q === p).map((f) => f.join(' ')).sort());
    assert.equal((await webka(['consume', 'searched', '-g', 'g', '--match', 'x'])).code, 2, '--match is not for a group');
    assert.equal((await webka(['consume', 'searched', '--match', 'x', '--match-in', 'body'])).code, 2, '--match-in takes key, value, headers or any');
    assert.equal((await webka(['consume', 'searched', '--match-in', 'key'])).code, 2, '--match-in goes with --match');
  });

  test('kcat habits: a whole topic without a group, -o -<n> per partition, groups list with lag', async () => {
    assert.equal((await webka(['topics', 'create', 'whole', '-p', '3'])).code, 0);
    assert.equal((await webka(['produce', 'whole', '-K', ':'], { input: Array.from({ length: 30 }, (_, i) => `k${i}:v${i}`).join('\n') + '\n' })).code, 0);
    let r = await webka(['consume', 'whole']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), Array.from({ length: 30 }, (_, i) => `v${i}`).sort());
    r = await webka(['consume', 'whole', '-n', '7']);
    assert.equal(r.stdout.trim().split('\n').length, 7);
    // -o -2: the last two records of each partition, as kcat
    r = await webka(['consume', 'whole', '-o', '-2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const described = JSON.parse((await webka(['topics', 'describe', 'whole', '--json'])).stdout);
    const got = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { partition: number; offset: number });
    const expected = described.partitionInfo.flatMap((p: { partition: number; highWatermark: number }) => [p.highWatermark - 2, p.highWatermark - 1].filter((o) => o >= 0).map((offset) => `${p.partition}/${offset}`));
    assert.deepEqual(got.map((g) => `${g.partition}/${g.offset}`).sort(), expected.sort());
    r = await webka(['consume', 'whole', '-p', '1', '-o', '-1', '-F', '%p/%o\n']);
    assert.equal(r.stdout, `1/${described.partitionInfo[1].highWatermark - 1}\n`);
    assert.equal((await webka(['consume', 'whole', '-p', '7'])).code, 2, 'no such partition');
    assert.equal((await webka(['consume', 'whole', '-g', 'g', '-o', '-2'])).code, 2, 'a group starts from its committed offsets');
    // groups list shows each group's total lag
    r = await webka(['consume', 'whole', '-g', 'lagging', '--from', 'beginning', '-n', '10']);
    assert.equal(r.code, 0, r.stderr);
    r = await webka(['groups', 'list', '--json']);
    const lagging = JSON.parse(r.stdout).groups.find((g: { group: string }) => g.group === 'lagging');
    const lag = JSON.parse((await webka(['groups', 'describe', 'lagging', '--json'])).stdout).totalLag;
    assert.equal(lagging.totalLag, lag);
    assert.ok(lag > 0);
    r = await webka(['groups', 'list']);
    assert.match(r.stdout.split('\n')[0], /^GROUP +STATE +MEMBERS +GENERATION +LAG/);
    assert.match(r.stdout, new RegExp(`^lagging +.* ${lag}\\s*$`, 'm'));
  });

  test('a failure says what to do: the URL that did not answer, the flag for a port in use; clusters list names its columns', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    let r = await webka(['topics', 'list'], { env: { WEBKA_URL: `http://127.0.0.1:${deadPort}` } });
    assert.equal(r.code, 5);
    assert.match(r.stderr, new RegExp(`NETWORK_ERROR: no answer from the broker at http://127\\.0\\.0\\.1:${deadPort}/v1/clusters/default/topics: .*ECONNREFUSED`));
    const port = new URL(broker.url).port;
    const dataDir = tempDir('webka-cli-port-');
    try {
      r = await webka(['start', '--port', port, '--kafka-port', '-1', '--data-dir', dataDir, '--log-level', 'silent']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`EADDRINUSE.*port ${port}.*--port <port>`));
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    r = await webka(['clusters', 'list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.split('\n')[0], /^NAME +TOPICS +NEW-TOPIC-PARTITIONS +DESCRIPTION/);
  });

  test('txn: list, describe and abort an open transaction, which fences its producer', async () => {
    const client = new Webka({ url: broker.url });
    await client.admin().createTopic({ name: 'txn-cli', partitions: 1 });
    const tx = client.transactionalProducer({ transactionalId: 'cli-stuck' });
    await tx.begin();
    await tx.send('txn-cli', { value: 'pending' });
    let r = await webka(['txn', 'list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /TRANSACTIONAL-ID/);
    assert.match(r.stdout, /cli-stuck\s+Ongoing\s+\d+\s+\d+\s+txn-cli\/0/);
    r = await webka(['txn', 'describe', 'cli-stuck', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.equal(d.state, 'Ongoing');
    assert.deepEqual(d.partitions, [{ topic: 'txn-cli', partition: 0 }]);
    r = await webka(['txn', 'describe', 'cli-stuck']);
    assert.match(r.stdout, /state:\s+Ongoing/);
    r = await webka(['txn', 'abort', 'cli-stuck']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /state:\s+CompleteAbort/);
    assert.match(r.stderr, /aborted cli-stuck; its producer is fenced/);
    await assert.rejects(tx.commit(), (e: { code?: string }) => e.code === 'PRODUCER_FENCED');
    r = await webka(['txn', 'list', '--json']);
    assert.equal(JSON.parse(r.stdout).transactions.find((t: { transactionalId: string }) => t.transactionalId === 'cli-stuck').state, 'CompleteAbort');
    assert.equal((await webka(['txn', 'describe', 'no-such-txn'])).code, 3);
    assert.equal((await webka(['txn', 'abort', 'no-such-txn'])).code, 3);
  });
});
