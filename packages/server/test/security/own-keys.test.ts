/**
 * A principal that is not a superuser manages its own API keys over HTTP with its key (list,
 * create, revoke), and only its own: another principal's keys answer 403 FORBIDDEN to listing,
 * creating and revoking, with nothing changed; a key id of another principal's under its own
 * name is not found. Tokens manage no keys, its own included.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSecureBroker, type Cast } from './secure-broker.js';

let cast: Cast;
let aliceKeyId: string;

before(async () => {
  cast = await startSecureBroker();
  aliceKeyId = /^wk_([0-9a-f]{16})_/.exec(cast.alice)![1];
});

after(() => cast.broker.close());

const keyIds = async (principal: string): Promise<string[]> => {
  const r = await cast.call('GET', `/v1/principals/${principal}/keys`, { key: cast.admin });
  assert.equal(r.status, 200, r.text);
  return r.body.keys.map((k: { id: string }) => k.id);
};

test('a principal lists, creates and revokes its own keys with its key', async () => {
  const listed = await cast.call('GET', '/v1/principals/bob/keys', { key: cast.bob });
  assert.equal(listed.status, 200, listed.text);
  assert.equal(listed.body.keys.length, 1);
  assert.equal(listed.body.keys[0].principal, 'bob');

  const made = await cast.call('POST', '/v1/principals/bob/keys', { key: cast.bob, body: { description: 'laptop' } });
  assert.equal(made.status, 201, made.text);
  assert.equal(made.body.principal, 'bob');
  const whoami = async (key: string) => (await cast.call('GET', '/v1/whoami', { key })).status;
  assert.equal(await whoami(made.body.key), 200);
  assert.deepEqual(
    (await cast.call('GET', '/v1/principals/bob/keys', { key: cast.bob })).body.keys.map((k: { description: string }) => k.description),
    ['first key', 'laptop'],
  );

  assert.equal((await cast.call('DELETE', `/v1/principals/bob/keys/${made.body.id}`, { key: cast.bob })).status, 204);
  assert.equal(await whoami(made.body.key), 401, 'a revoked key is refused at once');
  assert.equal(await whoami(cast.bob), 200, 'the key that revoked it still works');
});

test("a principal cannot list, create or revoke another principal's keys: 403, nothing changed", async () => {
  const aliceKeys = await keyIds('alice');
  assert.ok(aliceKeys.includes(aliceKeyId));
  const before = cast.snapshot();
  const attempts: Array<[string, string, unknown?]> = [
    ['GET', '/v1/principals/alice/keys'],
    ['POST', '/v1/principals/alice/keys', { description: 'not mine' }],
    ['DELETE', `/v1/principals/alice/keys/${aliceKeyId}`],
    ['GET', '/v1/principals/alice'],
  ];
  for (const [method, path, body] of attempts) {
    const r = await cast.call(method, path, { key: cast.bob, body });
    assert.equal(r.status, 403, `${method} ${path} as bob: ${r.text}`);
    assert.equal(r.body.error.code, 'FORBIDDEN');
    assert.doesNotMatch(r.text, /wk_/, 'a refusal carries no key');
  }
  // alice's key id under bob's own name: bob has no such key
  const smuggled = await cast.call('DELETE', `/v1/principals/bob/keys/${aliceKeyId}`, { key: cast.bob });
  assert.equal(smuggled.status, 404, smuggled.text);
  assert.equal(smuggled.body.error.code, 'NOT_FOUND');
  assert.equal(cast.snapshot(), before, 'a refused request changed the principals, keys or ACLs');
  assert.deepEqual(await keyIds('alice'), aliceKeys);
  assert.equal((await cast.call('GET', '/v1/whoami', { key: cast.alice })).status, 200, "alice's key still works");

  // negative control: alice herself, with her key, is allowed the same list
  const own = await cast.call('GET', '/v1/principals/alice/keys', { key: cast.alice });
  assert.equal(own.status, 200, own.text);
  assert.deepEqual(own.body.keys.map((k: { id: string }) => k.id), aliceKeys);
});

test('a token manages no keys, not even its own principal\'s', async () => {
  const minted = await cast.call('POST', '/v1/tokens', { key: cast.bob, body: { grants: [{ resource: { type: 'cluster', name: '*' }, operations: ['admin'] }], ttlSeconds: 60 } });
  assert.equal(minted.status, 201, minted.text);
  const before = cast.snapshot();
  for (const [method, path] of [
    ['GET', '/v1/principals/bob/keys'],
    ['POST', '/v1/principals/bob/keys'],
  ]) {
    const r = await cast.call(method, path, { key: minted.body.token, body: method === 'POST' ? {} : undefined });
    assert.equal(r.status, 403, `${method} ${path} with bob's token: ${r.text}`);
    assert.equal(r.body.error.code, 'FORBIDDEN');
  }
  assert.equal(cast.snapshot(), before);
});
