/**
 * `webka principals|keys|acls|tokens` end to end (the built dist/cli/main.js in a child process)
 * against a real broker with authentication on: an admin creates a principal, a key and ACLs
 * with the CLI; the new key produces where it is allowed, is refused elsewhere (403, exit 6),
 * mints a browser token; once revoked it gets 401.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker, tempDir, type TestBroker } from '../support/start-broker.js';
import { readInitialKey } from '../../src/auth/bootstrap.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

let broker: TestBroker;
let adminKey: string;
let configHome: string;

/** Runs `webka` with the admin's key unless `token` says otherwise (null: no credentials). */
function webka(args: string[], opts: { token?: string | null; input?: string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, XDG_CONFIG_HOME: configHome, HOME: configHome, WEBKA_URL: broker.url };
    const token = opts.token === undefined ? adminKey : opts.token;
    if (token !== null) env.WEBKA_TOKEN = token;
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

async function ok(args: string[], opts: { token?: string | null; input?: string } = {}): Promise<string> {
  const r = await webka(args, opts);
  assert.equal(r.code, 0, `webka ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const produce = (key: string, topic: string): Promise<Response> =>
  fetch(`${broker.url}/v1/clusters/default/topics/${topic}/records`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ value: 'x' }) });

before(async () => {
  assert.ok(fs.existsSync(MAIN), `${MAIN} is missing: build first (npm run build)`);
  broker = await startBroker({ config: { auth: 'true' } });
  adminKey = readInitialKey(broker.dataDir);
  configHome = tempDir('webka-auth-cli-config-');
  await ok(['topics', 'create', 'orders']);
  await ok(['topics', 'create', 'audit']);
});
after(async () => {
  await broker.close();
  fs.rmSync(configHome, { recursive: true, force: true });
});

test('principal, key and ACLs made with the CLI: allowed where granted, 403 elsewhere, 401 once revoked', async () => {
  const created = JSON.parse(await ok(['principals', 'create', 'billing', '--kind', 'service', '--description', 'billing service', '--json']));
  assert.deepEqual([created.principal.name, created.principal.kind, created.principal.superuser, created.key], ['billing', 'service', false, undefined]);
  assert.match(await ok(['principals', 'list']), /^billing\s+service\s+no\s/m);

  // The key is the only thing on stdout, so a script can capture it.
  const r = await webka(['keys', 'create', 'billing', '--description', 'prod']);
  assert.equal(r.code, 0, r.stderr);
  const key = r.stdout.trim();
  assert.ok(key.length > 20 && !key.includes('\n'), r.stdout);
  assert.match(r.stderr, /shown only now/);
  const keys = JSON.parse(await ok(['keys', 'list', 'billing', '--json'])).keys;
  assert.equal(keys.length, 1);
  assert.equal(keys[0].description, 'prod');
  assert.ok(!JSON.stringify(keys).includes(key), 'a listed key never shows the key itself');

  // Control: before any ACL the new key may not write (and cannot even see the topic).
  assert.equal((await produce(key, 'orders')).status, 404);

  const aclId = (await ok(['acls', 'add', 'billing', 'read,write', 'topic:orders'])).trim();
  await ok(['acls', 'add', 'billing', 'describe', 'topic:*']);
  // The CLI's idempotent producer asks for a producer id: write on the cluster (Kafka's IdempotentWrite).
  await ok(['acls', 'add', 'billing', 'describe,write', 'cluster:default']);
  const acls = JSON.parse(await ok(['acls', 'list', '--principal', 'billing', '--json'])).acls;
  assert.deepEqual(
    acls.map((a: any) => [a.effect, a.operations, a.resource.type, a.resource.name, a.resource.patternType]).sort(),
    [['allow', ['describe'], 'topic', '*', 'literal'], ['allow', ['describe', 'write'], 'cluster', 'default', 'literal'], ['allow', ['read', 'write'], 'topic', 'orders', 'literal']].sort(),
  );
  assert.ok(acls.some((a: any) => a.id === aclId));
  assert.match(await ok(['acls', 'list']), new RegExp(`^${aclId}\\s+billing\\s+allow\\s+read,write\\s+topic:orders$`, 'm'));

  // Allowed where granted, refused elsewhere: through the CLI (exit 6) and over HTTP (403).
  assert.equal((await produce(key, 'orders')).status, 200);
  await ok(['produce', 'orders', '--no-progress'], { token: key, input: 'one\ntwo\n' });
  const refused = await webka(['produce', 'audit', '--no-progress'], { token: key, input: 'one\n' });
  assert.equal(refused.code, 6, refused.stderr);
  assert.match(refused.stderr, /FORBIDDEN: principal "billing" may not write topic "audit"/);
  assert.equal((await produce(key, 'audit')).status, 403);

  // A browser token minted by the new key reads what the key may read, and no more.
  const token = JSON.parse(await ok(['tokens', 'create', '--grant', 'read:topic:default/orders', '--ttl', '2m', '--json'], { token: key }));
  assert.ok(token.expiresAt > Date.now() + 60_000 && token.expiresAt <= Date.now() + 121_000);
  const read = await fetch(`${broker.url}/v1/clusters/default/topics/orders/partitions/0/records?access_token=${token.token}`);
  assert.equal(read.status, 200);
  assert.equal((await read.json()).records.length, 3);
  // Its grants do not let it describe "audit": the topic is as absent as a missing one.
  assert.equal((await fetch(`${broker.url}/v1/clusters/default/topics/audit/partitions/0/records?access_token=${token.token}`)).status, 404);
  const beyond = await webka(['tokens', 'create', '--grant', 'read:topic:default/audit'], { token: key });
  assert.equal(beyond.code, 6, 'a token cannot carry a right its minter lacks');

  // Removing the ACL takes the right away at once.
  await ok(['acls', 'remove', aclId]);
  assert.equal((await produce(key, 'orders')).status, 403);
  await ok(['acls', 'add', 'billing', 'write', 'topic:ord*']);
  assert.equal((await produce(key, 'orders')).status, 200, 'a prefixed ACL covers the topic');

  await ok(['keys', 'revoke', 'billing', keys[0].id]);
  assert.equal((await produce(key, 'orders')).status, 401);
  const revoked = await webka(['produce', 'orders', '--no-progress'], { token: key, input: 'three\n' });
  assert.equal(revoked.code, 6, revoked.stderr);
  assert.match(revoked.stderr, /UNAUTHENTICATED/);

  await ok(['principals', 'delete', 'billing']);
  assert.doesNotMatch(await ok(['principals', 'list']), /billing/);
  assert.equal(JSON.parse(await ok(['acls', 'list', '--json'])).acls.filter((a: any) => a.principal === 'billing').length, 0, 'its ACLs went with it');
});

test('principals create --key prints the first key; only superusers manage principals; usage errors exit 2', async () => {
  const out = await ok(['principals', 'create', 'viewer', '--key']);
  const key = out.trim();
  const who = await fetch(`${broker.url}/v1/whoami`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal((await who.json()).principal, 'viewer');

  const notAdmin = await webka(['principals', 'list', '--json'], { token: key });
  assert.equal(notAdmin.code, 6);
  assert.equal(JSON.parse(notAdmin.stderr).error.code, 'FORBIDDEN');
  // A principal manages its own keys.
  assert.match(await ok(['keys', 'create', 'viewer'], { token: key }), /\S{20,}/);
  assert.equal((await webka(['keys', 'list', 'admin'], { token: key })).code, 6);

  const anonymous = await webka(['acls', 'list'], { token: null });
  assert.equal(anonymous.code, 6);
  assert.match(anonymous.stderr, /UNAUTHENTICATED/);

  for (const args of [
    ['acls', 'add', 'viewer', 'frobnicate', 'topic:orders'],
    ['acls', 'add', 'viewer', 'read', 'queue:orders'],
    ['acls', 'add', 'viewer', 'read', 'topic:a/b/c'],
    ['tokens', 'create'],
    ['tokens', 'create', '--grant', 'read:topic:orders', '--ttl', '5 minutes'],
    ['principals', 'create', 'x', '--kind', 'robot'],
  ]) {
    const r = await webka(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.code} ${r.stderr}`);
  }
  const missing = await webka(['principals', 'delete', 'nobody']);
  assert.equal(missing.code, 3, missing.stderr);
  const dup = await webka(['principals', 'create', 'viewer']);
  assert.equal(dup.code, 4, 'a principal that exists is a conflict');
  assert.match(dup.stderr, /already exists/);
  const lastAdmin = await webka(['principals', 'delete', 'admin']);
  assert.notEqual(lastAdmin.code, 0, 'the last superuser cannot be deleted');
  assert.equal(JSON.parse(await ok(['principals', 'list', '--json'])).principals.filter((p: any) => p.name === 'admin').length, 1);
});
