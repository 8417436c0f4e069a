/**
 * Every route × every kind of caller gives exactly the expected status, and a refused request
 * changes nothing (catalog, principals, keys, ACLs, high watermarks compared before and after).
 * Callers: no credentials, a wrong key, an expired token, a token without the right, a principal
 * without an ACL (bob), a principal with a deny (carol), and the admin.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSecureBroker, type Cast } from './secure-broker.js';

type Mode = 'none' | 'wrongKey' | 'expiredToken' | 'tokenWithoutRight' | 'noAcl' | 'deny' | 'admin';
const REFUSALS: Mode[] = ['none', 'wrongKey', 'expiredToken', 'tokenWithoutRight', 'noAcl', 'deny'];

interface Case {
  method: string;
  path: string | (() => string);
  body?: unknown | (() => unknown);
  headers?: Record<string, string>;
  /** Status for tokenWithoutRight, noAcl and deny (per mode where they differ). */
  denied?: number | Partial<Record<Mode, number>>;
  /** Status for the admin; 'ok' accepts any 2xx (routes whose success code is another module's). */
  admin: number | 'ok';
  public?: true;
  stream?: true;
}

let cast: Cast;
let creds: Record<Mode, Record<string, string>>;
const ctx: { memberId?: string; aclId?: string; keyId?: string } = {};

before(async () => {
  cast = await startSecureBroker();
  const mint = async (key: string, grants: unknown[], ttlSeconds: number): Promise<string> => {
    const r = await cast.call('POST', '/v1/tokens', { key, body: { grants, ttlSeconds } });
    assert.equal(r.status, 201, r.text);
    return r.body.token;
  };
  const expired = await mint(cast.admin, [{ resource: { type: 'topic', name: '*' }, operations: ['admin'] }], 1);
  const narrow = await mint(cast.carol, [{ resource: { type: 'topic', name: 'other', cluster: 'default' }, operations: ['read'] }], 600);
  const wrong = cast.alice.slice(0, 20) + 'A'.repeat(cast.alice.length - 20);
  const bearer = (k: string) => ({ authorization: `Bearer ${k}` });
  creds = {
    none: {},
    wrongKey: bearer(wrong),
    expiredToken: bearer(expired),
    tokenWithoutRight: bearer(narrow),
    noAcl: bearer(cast.bob),
    deny: bearer(cast.carol),
    admin: bearer(cast.admin),
  };
  const acl = await cast.call('POST', '/v1/acls', { key: cast.admin, body: { principal: 'bob', operations: ['read'], resource: { type: 'topic', name: 'nothing-here' } } });
  ctx.aclId = acl.body.id;
  const key = await cast.call('POST', '/v1/principals/alice/keys', { key: cast.admin, body: { description: 'to revoke' } });
  ctx.keyId = key.body.id;
  // The 1-second token must have expired before the matrix runs.
  for (let i = 0; i < 40; i++) {
    if ((await cast.call('GET', '/v1/whoami', { headers: creds.expiredToken })).status === 401) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await cast.broker.close();
});

const memberPath = (rest: string) => () => `/v1/clusters/default/groups/g1/members/${ctx.memberId ?? 'none'}${rest}`;

const CASES: Case[] = [
  { method: 'GET', path: '/health', admin: 200, public: true },
  { method: 'GET', path: '/ready', admin: 200, public: true },
  { method: 'GET', path: '/openapi.json', admin: 200, public: true },
  // carol's wildcard allow reaches the broker-wide resource
  { method: 'GET', path: '/metrics', denied: { tokenWithoutRight: 403, noAcl: 403, deny: 200 }, admin: 200 },
  { method: 'GET', path: '/v1/whoami', denied: 200, admin: 200 },
  // any authenticated caller; totals and the stream list count only what the caller sees
  { method: 'GET', path: '/v1/broker', denied: 200, admin: 200 },
  { method: 'GET', path: '/v1/topic-configs', denied: 200, admin: 200 },
  { method: 'GET', path: '/v1/streams', denied: 200, admin: 200 },
  // lists answer 200, filtered (checked in its own test below)
  { method: 'GET', path: '/v1/clusters', denied: 200, admin: 200 },
  { method: 'POST', path: '/v1/clusters', body: { name: 'default-x' }, denied: 403, admin: 201 },
  { method: 'GET', path: '/v1/clusters/default', denied: 404, admin: 200 },
  { method: 'PATCH', path: '/v1/clusters/default', body: { description: 'changed' }, denied: 404, admin: 200 },
  { method: 'DELETE', path: '/v1/clusters/default-x', denied: 404, admin: 204 },
  { method: 'GET', path: '/v1/clusters/default/topics', denied: 404, admin: 200 },
  { method: 'POST', path: '/v1/clusters/default/topics', body: { name: 'scores-new' }, denied: 403, admin: 201 },
  { method: 'GET', path: '/v1/clusters/default/topics/scores', denied: 404, admin: 200 },
  { method: 'PATCH', path: '/v1/clusters/default/topics/scores', body: { configs: { 'retention.ms': 86_400_000 } }, denied: 404, admin: 200 },
  { method: 'POST', path: '/v1/clusters/default/topics/scores/records', body: { records: [{ value: 4 }] }, denied: 404, admin: 200 },
  { method: 'GET', path: '/v1/clusters/default/topics/scores/partitions', denied: 404, admin: 200 },
  { method: 'GET', path: '/v1/clusters/default/topics/scores/partitions/0/records', denied: 404, admin: 200 },
  { method: 'GET', path: '/v1/clusters/default/topics/scores/partitions/0/offsets', denied: 404, admin: 200 },
  { method: 'GET', path: '/v1/clusters/default/topics/scores/records', headers: { accept: 'text/event-stream' }, denied: 404, admin: 200, stream: true },
  { method: 'DELETE', path: '/v1/clusters/default/topics/scores-new', denied: 404, admin: 204 },
  { method: 'POST', path: '/v1/clusters/default/producers', denied: 404, admin: 201 },
  // consumer groups
  { method: 'POST', path: '/v1/clusters/default/groups/g1/members', body: { topics: ['scores'] }, denied: 404, admin: 'ok' },
  { method: 'GET', path: '/v1/clusters/default/groups', denied: 404, admin: 200 },
  { method: 'GET', path: '/v1/clusters/default/groups/g1', denied: 404, admin: 200 },
  { method: 'GET', path: memberPath('/records'), denied: 404, admin: 'ok' },
  { method: 'POST', path: memberPath('/heartbeat'), denied: 404, admin: 'ok' },
  { method: 'PUT', path: memberPath('/subscription'), body: { topics: ['scores'] }, denied: 404, admin: 'ok' },
  { method: 'POST', path: memberPath('/offsets'), body: {}, denied: 404, admin: 'ok' },
  { method: 'DELETE', path: memberPath(''), denied: 404, admin: 'ok' },
  { method: 'POST', path: '/v1/clusters/default/groups/g1/offsets', body: { offsets: [{ topic: 'scores', partition: 0, offset: 1 }] }, denied: 404, admin: 'ok' },
  { method: 'GET', path: '/v1/clusters/default/groups/g1/offsets', denied: 404, admin: 200 },
  { method: 'POST', path: '/v1/clusters/default/groups/g1/offsets/reset', body: { to: 'earliest' }, denied: 404, admin: 'ok' },
  { method: 'DELETE', path: '/v1/clusters/default/groups/g1', denied: 404, admin: 'ok' },
  // Durable Streams
  { method: 'OPTIONS', path: '/v1/stream/scores-stream', admin: 204, public: true },
  { method: 'PUT', path: '/v1/stream/scores-stream', headers: { 'content-type': 'text/plain' }, denied: 403, admin: 201 },
  { method: 'POST', path: '/v1/stream/scores-stream', body: 'hello', headers: { 'content-type': 'text/plain' }, denied: 404, admin: 'ok' },
  { method: 'GET', path: '/v1/stream/scores-stream?offset=-1', denied: 404, admin: 200 },
  { method: 'HEAD', path: '/v1/stream/scores-stream', denied: 404, admin: 200 },
  { method: 'DELETE', path: '/v1/stream/scores-stream', denied: 404, admin: 204 },
  // principals, keys, ACLs, tokens
  { method: 'GET', path: '/v1/principals', denied: 403, admin: 200 },
  { method: 'POST', path: '/v1/principals', body: { name: 'dave' }, denied: 403, admin: 201 },
  { method: 'GET', path: '/v1/principals/bob', denied: { tokenWithoutRight: 403, noAcl: 200, deny: 403 }, admin: 200 },
  { method: 'DELETE', path: '/v1/principals/dave', denied: 403, admin: 204 },
  { method: 'GET', path: '/v1/principals/alice/keys', denied: 403, admin: 200 },
  { method: 'POST', path: '/v1/principals/alice/keys', body: {}, denied: 403, admin: 201 },
  { method: 'DELETE', path: () => `/v1/principals/alice/keys/${ctx.keyId}`, denied: 403, admin: 204 },
  { method: 'GET', path: '/v1/acls', denied: 403, admin: 200 },
  { method: 'POST', path: '/v1/acls', body: { principal: 'alice', operations: ['read'], resource: { type: 'topic', name: 'unrelated' } }, denied: 403, admin: 201 },
  { method: 'DELETE', path: () => `/v1/acls/${ctx.aclId}`, denied: 403, admin: 204 },
  { method: 'POST', path: '/v1/tokens', body: { grants: [{ resource: { type: 'topic', name: 'scores', cluster: 'default' }, operations: ['read'] }] }, denied: 403, admin: 201 },
];

async function send(c: Case, mode: Mode): Promise<{ status: number; text: string }> {
  const path = typeof c.path === 'function' ? c.path() : c.path;
  const raw = typeof c.body === 'function' ? (c.body as () => unknown)() : c.body;
  const headers: Record<string, string> = { ...c.headers, ...creds[mode] };
  let body: string | undefined;
  if (raw !== undefined) {
    body = typeof raw === 'string' ? raw : JSON.stringify(raw);
    headers['content-type'] ??= 'application/json';
  }
  const abort = new AbortController();
  const res = await fetch(cast.url + path, { method: c.method, headers, body, signal: abort.signal });
  if (c.stream === true && res.status === 200) {
    abort.abort();
    return { status: 200, text: '' };
  }
  const text = await res.text();
  if (c.method === 'POST' && path.endsWith('/groups/g1/members') && res.status < 300) ctx.memberId = JSON.parse(text).memberId;
  return { status: res.status, text };
}

function expected(c: Case, mode: Mode): number {
  if (c.public === true) return c.admin as number;
  if (mode === 'none' || mode === 'wrongKey' || mode === 'expiredToken') return 401;
  const d = c.denied!;
  return typeof d === 'number' ? d : d[mode]!;
}

test('every route × every caller answers exactly as expected, and refusals change nothing', async () => {
  let checked = 0;
  for (const c of CASES) {
    const label = `${c.method} ${typeof c.path === 'function' ? c.path() : c.path}`;
    const before = cast.snapshot();
    for (const mode of REFUSALS) {
      const r = await send(c, mode);
      assert.equal(r.status, expected(c, mode), `${label} as ${mode}: ${r.status} ${r.text.slice(0, 300)}`);
      // The standard error shape (Durable Streams answers in its protocol's text/plain).
      if (r.status >= 400 && c.method !== 'HEAD' && !label.includes('/v1/stream/')) {
        assert.equal(typeof JSON.parse(r.text).error.code, 'string', `${label} as ${mode}: ${r.text}`);
      }
      checked++;
    }
    assert.equal(cast.snapshot(), before, `${label}: a refused request changed state`);
    const r = await send(c, 'admin');
    if (c.admin === 'ok') assert.ok(r.status >= 200 && r.status < 300, `${label} as admin: ${r.status} ${r.text}`);
    else assert.equal(r.status, c.admin, `${label} as admin: ${r.text}`);
    checked++;
  }
  console.log(`authorization matrix: ${CASES.length} routes × 7 callers = ${checked} requests checked`);
});

test('a 401 carries the error shape and a Bearer challenge; a hidden topic reads as missing', async () => {
  const r = await cast.call('GET', '/v1/clusters/default/topics/scores');
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'UNAUTHENTICATED');
  assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
  const hidden = await cast.call('GET', '/v1/clusters/default/topics/scores', { key: cast.bob });
  const missing = await cast.call('GET', '/v1/clusters/default/topics/nope', { key: cast.admin });
  assert.equal(hidden.status, 404);
  assert.equal(hidden.body.error.code, 'TOPIC_NOT_FOUND');
  assert.equal(hidden.body.error.message.replace('scores', 'X'), missing.body.error.message.replace('nope', 'X'));
});

test('ACLs grant exactly what they say; lists are filtered; Basic auth and tokens work', async () => {
  const read = await cast.call('GET', '/v1/clusters/default/topics/scores/partitions/0/records', { key: cast.alice });
  assert.equal(read.status, 200, read.text);
  assert.equal((await cast.call('POST', '/v1/clusters/default/topics/scores/records', { key: cast.alice, body: { value: 9 } })).status, 200);
  assert.equal((await cast.call('DELETE', '/v1/clusters/default/topics/scores', { key: cast.alice })).status, 403);
  const list = await cast.call('GET', '/v1/clusters/default/topics', { key: cast.alice });
  assert.deepEqual(list.body.topics.map((t: { name: string }) => t.name), ['scores']);
  const clusters = await cast.call('GET', '/v1/clusters', { key: cast.bob });
  assert.deepEqual(clusters.body.clusters, []);
  const basic = await cast.call('GET', '/v1/whoami', { headers: { authorization: 'Basic ' + Buffer.from(`alice:${cast.alice}`).toString('base64') } });
  assert.equal(basic.body.principal, 'alice');
  const wrongUser = await cast.call('GET', '/v1/whoami', { headers: { authorization: 'Basic ' + Buffer.from(`bob:${cast.alice}`).toString('base64') } });
  assert.equal(wrongUser.status, 401);
  const minted = await cast.call('POST', '/v1/tokens', { key: cast.alice, body: { grants: [{ resource: { type: 'topic', name: 'scores', cluster: 'default' }, operations: ['read'] }], ttlSeconds: 60, cookie: true } });
  assert.equal(minted.status, 201, minted.text);
  const token = minted.body.token as string;
  assert.match(minted.headers.get('set-cookie') ?? '', /webka_token=.*HttpOnly; SameSite=Strict/);
  const viaQuery = await cast.call('GET', `/v1/clusters/default/topics/scores/partitions/0/records?access_token=${token}`);
  assert.equal(viaQuery.status, 200, viaQuery.text);
  const viaCookie = await cast.call('GET', '/v1/clusters/default/topics/scores/partitions/0/records', { headers: { cookie: `a=b; webka_token=${token}` } });
  assert.equal(viaCookie.status, 200);
  // a token reads, but cannot write, even though alice can; and never through a cookie on POST
  assert.equal((await cast.call('POST', '/v1/clusters/default/topics/scores/records', { key: token, body: { value: 1 } })).status, 403);
  assert.equal((await cast.call('POST', '/v1/clusters/default/topics/scores/records', { headers: { cookie: `webka_token=${token}` }, body: { value: 1 } })).status, 401);
  assert.equal((await cast.call('POST', `/v1/clusters/default/topics/scores/records?access_token=${token}`, { body: { value: 1 } })).status, 401);
  // revoking a key takes effect at once, even though it was cached
  const k = await cast.call('POST', '/v1/principals/bob/keys', { key: cast.bob, body: {} });
  assert.equal((await cast.call('GET', '/v1/whoami', { key: k.body.key })).status, 200);
  assert.equal((await cast.call('DELETE', `/v1/principals/bob/keys/${k.body.id}`, { key: cast.admin })).status, 204);
  assert.equal((await cast.call('GET', '/v1/whoami', { key: k.body.key })).status, 401);
});
