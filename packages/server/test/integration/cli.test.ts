import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startCliBroker, runCli, type CliBroker } from '../support/cli-broker.js';
import { tempDir } from '../support/start-broker.js';
import { rest } from '../support/rest.js';

const dirs: string[] = [];
const children: CliBroker[] = [];
after(() => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = tempDir('webka-cli-');
  dirs.push(d);
  return d;
}

async function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliBroker> {
  const b = await startCliBroker(args, env);
  children.push(b);
  return b;
}

test('webka start: --data-dir, SIGTERM answers an in-flight long poll, exits 0, leaves the clean marker; data survives', async () => {
  const dataDir = path.join(dir(), 'data');
  const b = await start(['--port', '0', '--data-dir', dataDir, '--log-level', 'info']);
  assert.match(b.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const ready = b.lines.find((l) => l?.msg === 'webka is ready');
  assert.equal(ready.dataDir, dataDir);
  assert.equal(ready.console, `${b.url}/console`);
  assert.ok(b.lines.some((l) => l?.config?.dataDir === dataDir), 'the effective configuration was not logged');

  const api = rest(b.url);
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'kept', partitions: 2 })).status, 201);
  const produced = await api.post('/v1/clusters/default/topics/kept/records', { records: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: i })) });
  assert.equal(produced.status, 200);

  const poll = api.get('/v1/clusters/default/topics/kept/partitions/0/records?offset=latest&maxWaitMs=25000');
  await new Promise((r) => setTimeout(r, 200));
  b.child.kill('SIGTERM');
  const answered = await poll;
  assert.equal(answered.status, 200, answered.text);
  assert.deepEqual(answered.body.records, []);
  assert.equal(await b.exited, 0, b.stderr());
  assert.ok(fs.existsSync(path.join(dataDir, '.clean-shutdown')), 'no clean-shutdown marker');
  assert.equal(fs.existsSync(path.join(dataDir, '.lock')), false, 'the lock was left behind');

  // restart through WEBKA_DATA_DIR: every record is there
  const again = await start(['--port', '0'], { WEBKA_DATA_DIR: dataDir });
  const api2 = rest(again.url);
  let count = 0;
  for (const p of [0, 1]) {
    const f = await api2.get(`/v1/clusters/default/topics/kept/partitions/${p}/records?offset=earliest`);
    assert.equal(f.status, 200);
    count += f.body.records.length;
    for (const r of f.body.records) {
      const sent = produced.body.records[r.value];
      assert.deepEqual([sent.partition, sent.offset], [p, r.offset]);
    }
  }
  assert.equal(count, 10);
  again.child.kill('SIGINT');
  assert.equal(await again.exited, 0, again.stderr());
});

test('webka start: settings from a config file, overridden by env and flags', async () => {
  const d = dir();
  const dataDir = path.join(d, 'from-file');
  const file = path.join(d, 'webka.json');
  fs.writeFileSync(file, JSON.stringify({ dataDir, port: 0, bodyLimit: 2048, logLevel: 'info' }));
  const b = await start(['--config', file]);
  const cfg = b.lines.find((l) => l?.config !== undefined).config;
  assert.equal(cfg.dataDir, dataDir);
  assert.equal(cfg.bodyLimit, 2048);
  assert.equal(cfg.configFile, file);
  const api = rest(b.url);
  assert.equal((await api.post('/v1/clusters/default/topics', { name: 'f' })).status, 201);
  assert.equal((await api.post('/v1/clusters/default/topics/f/records', { value: 'x'.repeat(3000) })).status, 413);
  assert.ok(fs.existsSync(path.join(dataDir, 'catalog.json')));
  b.child.kill('SIGTERM');
  assert.equal(await b.exited, 0);

  // env beats the file; a flag beats env
  const c = await start(['--config', file, '--data-dir', path.join(d, 'from-flag')], { WEBKA_BODY_LIMIT: '4096', WEBKA_DATA_DIR: path.join(d, 'from-env') });
  const cfg2 = c.lines.find((l) => l?.config !== undefined).config;
  assert.equal(cfg2.bodyLimit, 4096);
  assert.equal(cfg2.dataDir, path.join(d, 'from-flag'));
  c.child.kill('SIGTERM');
  assert.equal(await c.exited, 0);
});

test('webka start: a bad config value exits 2 with a message naming the key', async () => {
  const d = dir();
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--port', 'eighty'], {}, /port/],
    [['--port', '70000'], {}, /port/],
    [['--log-level', 'loud'], {}, /logLevel/],
    [[], { WEBKA_BODY_LIMIT: '12' }, /bodyLimit/],
    [[], { WEBKA_MAX_LONG_POLL_MS: '-1' }, /maxLongPollMs/],
  ];
  const bad = path.join(d, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ flushIntervalMs: 'often' }));
  cases.push([['--config', bad], {}, /flushIntervalMs/]);
  const unknown = path.join(d, 'unknown.json');
  fs.writeFileSync(unknown, JSON.stringify({ prot: 8080 }));
  cases.push([['--config', unknown], {}, /prot/]);
  const broken = path.join(d, 'broken.json');
  fs.writeFileSync(broken, '{ not json');
  cases.push([['--config', broken], {}, /broken\.json/]);
  cases.push([['--config', path.join(d, 'missing.json')], {}, /missing\.json/]);

  const runs = cases.map(([args, env]) => runCli(['start', '--data-dir', path.join(d, 'data'), ...args], env, d));
  for (let i = 0; i < cases.length; i++) {
    const code = await runs[i].exited;
    assert.equal(code, 2, `${JSON.stringify(cases[i])}: exit ${code}; stderr ${runs[i].stderr()}`);
    assert.match(runs[i].stderr(), cases[i][2]);
  }
  // nothing was created by a refused start
  assert.equal(fs.existsSync(path.join(d, 'data')), false);
});

test('webka start refuses a data directory in use by another broker', async () => {
  const dataDir = dir();
  const a = await start(['--port', '0', '--data-dir', dataDir]);
  const second = runCli(['start', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir]);
  assert.notEqual(await second.exited, 0);
  assert.match(second.stderr(), /in use/);
  assert.equal((await rest(a.url).get('/health')).status, 200);
  a.child.kill('SIGTERM');
  assert.equal(await a.exited, 0);
});
