/**
 * Rotation of the keys that sign browser tokens (src/auth/token-keys.ts), driven by a short
 * configured interval (tokenKeyRotationMs, at least 1 s): a new token is signed with a new key,
 * a token signed with the previous key keeps working until it expires, and then gets 401 while
 * the newer token still works. The key ring survives a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startSecureBroker } from './secure-broker.js';

const kid = (token: string): string => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid;
const ring = (dataDir: string): Array<{ kid: string; retiredAt?: number }> => JSON.parse(fs.readFileSync(path.join(dataDir, 'token-keys.json'), 'utf8')).keys;

test('signing keys rotate: old tokens verify until they expire, new tokens use the new key', async () => {
  const cast = await startSecureBroker({ tokenKeyRotationMs: 1_000 });
  try {
    const grants = [{ resource: { type: 'topic', name: 'scores', cluster: 'default' }, operations: ['read'] }];
    const mint = async (ttlSeconds: number): Promise<{ token: string; expiresAt: number }> => {
      const r = await cast.call('POST', '/v1/tokens', { key: cast.alice, body: { grants, ttlSeconds } });
      assert.equal(r.status, 201, r.text);
      return r.body;
    };
    const read = async (token: string): Promise<number> => (await cast.call('GET', `/v1/clusters/default/topics/scores/partitions/0/records?access_token=${token}`)).status;

    // A token's exp is in whole seconds (RFC 7519), so a 3 s token minted just after a second
    // boundary lives between 2.9 and 3 s: long enough for the steps below on a loaded machine.
    await new Promise((r) => setTimeout(r, 1_010 - (Date.now() % 1_000)));
    const old = await mint(3);
    assert.ok(old.expiresAt - Date.now() > 2_500, 'the old token has time to be read after the rotation');
    assert.equal(await read(old.token), 200);
    await new Promise((r) => setTimeout(r, 1_100));
    const fresh = await mint(60);

    assert.notEqual(kid(fresh.token), kid(old.token), 'a token minted after the interval is signed with a new key');
    const keys = ring(cast.broker.dataDir);
    const oldKey = keys.find((k) => k.kid === kid(old.token));
    assert.ok(oldKey !== undefined, 'the previous key is kept for verification');
    assert.ok(oldKey.retiredAt !== undefined, 'and no longer signs');
    assert.ok(keys.some((k) => k.kid === kid(fresh.token)));
    assert.ok(!JSON.stringify(keys).includes(old.token.split('.')[2]), 'the file holds keys, not signatures');

    // Signed by a retired key and not yet expired: still good.
    assert.equal(await read(old.token), 200);
    assert.equal(await read(fresh.token), 200);

    // Once expired: refused; the newer token (the control) still works.
    await new Promise((r) => setTimeout(r, Math.max(0, old.expiresAt - Date.now()) + 50));
    assert.equal(await read(old.token), 401);
    assert.equal(await read(fresh.token), 200);

    // A token whose key is unknown (signed elsewhere, or its key dropped) is refused.
    const [h, p, s] = fresh.token.split('.');
    const header = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(h, 'base64url').toString()), kid: 'ffffffffffffffff' })).toString('base64url');
    assert.equal(await read(`${header}.${p}.${s}`), 401);

    // The ring is durable: after a restart the same tokens verify.
    const restarted = await cast.broker.restart();
    cast.broker = restarted;
    const again = await fetch(`${restarted.url}/v1/clusters/default/topics/scores/partitions/0/records?access_token=${fresh.token}`);
    assert.equal(again.status, 200);
  } finally {
    await cast.broker.close();
  }
});
