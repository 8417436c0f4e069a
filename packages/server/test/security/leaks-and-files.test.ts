/**
 * What a principal can learn without being allowed to see it, and what another user of the
 * machine can read: errors never name objects the caller cannot describe; the data directory is
 * 0700 and its files 0600 (the catalog holds the scrypt hashes of API keys).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTeams, type Teams } from './teams.js';
import { startBroker, tempDir } from '../support/start-broker.js';

let t: Teams;

before(async () => {
  t = await startTeams();
});
after(() => t.broker.close());

test('a name that collides with a topic the caller cannot see is refused without naming that topic', async () => {
  const r = await t.call(t.teamB, 'POST', '/v1/clusters/default/topics', { name: 'team-a-hidden' });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.error.code, 'TOPIC_EXISTS');
  assert.doesNotMatch(r.text, /TEAM-A/, 'the hidden topic was named');
  assert.equal((await t.call(t.teamB, 'GET', '/v1/clusters/default/topics/TEAM-A-hidden')).status, 404);
  // a caller who may see it is told which topic it is
  const seen = await t.call(t.admin, 'POST', '/v1/clusters/default/topics', { name: 'team-a-hidden' });
  assert.equal(seen.status, 409);
  assert.match(seen.text, /TEAM-A-hidden/);
});

test('deleting a cluster that still holds topics names none the caller cannot see', async () => {
  const admin = (m: string, p: string, b?: unknown) => t.call(t.admin, m, p, b);
  assert.equal((await admin('POST', '/v1/clusters', { name: 'leaky' })).status, 201);
  assert.equal((await admin('POST', '/v1/clusters/leaky/topics', { name: 'secret-plans' })).status, 201);
  assert.equal((await admin('POST', '/v1/acls', { principal: 'team-b', operations: ['delete'], resource: { type: 'cluster', name: 'leaky' } })).status, 201);
  const r = await t.call(t.teamB, 'DELETE', '/v1/clusters/leaky');
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.error.code, 'CLUSTER_NOT_EMPTY');
  assert.doesNotMatch(r.text, /secret-plans/);
  assert.match((await admin('DELETE', '/v1/clusters/leaky')).text, /secret-plans/);
});

test('the data directory is 0700 and the catalog, keys and audit log are 0600', async () => {
  const dir = t.broker.dataDir;
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  for (const f of ['catalog.json', 'token-keys.json', 'audit.log', 'initial-admin-key']) {
    const file = path.join(dir, f);
    if (!fs.existsSync(file)) continue;
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, `${f} is ${(fs.statSync(file).mode & 0o777).toString(8)}`);
  }
  assert.ok(fs.existsSync(path.join(dir, 'catalog.json')));
});

test('a data directory made readable by others, with an old 0644 catalog, is closed at start', async () => {
  const dir = tempDir();
  const first = await startBroker({ dataDir: dir });
  await first.close();
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(path.join(dir, 'catalog.json'), 0o644);
  const second = await startBroker({ dataDir: dir });
  try {
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(dir, 'catalog.json')).mode & 0o777, 0o600);
    // and every catalog written from now on is 0600 whatever the umask
    const old = process.umask(0o000);
    try {
      const r = await fetch(second.url + '/v1/clusters/default/topics', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'after-umask' }) });
      assert.equal(r.status, 201);
    } finally {
      process.umask(old);
    }
    assert.equal(fs.statSync(path.join(dir, 'catalog.json')).mode & 0o777, 0o600);
    for (const d of fs.readdirSync(path.join(dir, 'logs'))) assert.equal(fs.statSync(path.join(dir, 'logs', d)).mode & 0o077, 0, `logs/${d} is open to others`);
  } finally {
    await second.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
