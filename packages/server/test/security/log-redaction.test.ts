/**
 * No secret reaches the logs: Authorization headers, keys, tokens in access_token, cookies.
 * The broker logs at trace level into memory while credentials of every kind are used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startBroker } from '../support/start-broker.js';
import { readInitialKey } from '../../src/auth/bootstrap.js';
import { loggerOptions } from '../../src/http/log-options.js';
import { loadConfig } from '../../src/config/config.js';

test('keys, tokens and cookies never appear in the logs', async () => {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const base = loggerOptions(loadConfig({ flags: { logLevel: 'trace' }, env: {} })) as Record<string, unknown>;
  const b = await startBroker({ config: { auth: 'true', logLevel: 'trace' }, logger: { ...base, level: 'trace', stream } as never });
  try {
    const key = readInitialKey(b.dataDir);
    const H = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    await fetch(b.url + '/v1/clusters/default/topics', { method: 'POST', headers: H, body: JSON.stringify({ name: 't' }) });
    await fetch(b.url + '/v1/clusters/default/topics/t/records', { method: 'POST', headers: H, body: JSON.stringify({ value: 'top-secret-value' }) });
    const minted = await (await fetch(b.url + '/v1/tokens', { method: 'POST', headers: H, body: JSON.stringify({ grants: [{ resource: { type: 'topic', name: 't', cluster: 'default' }, operations: ['read'] }] }) })).json();
    await fetch(b.url + `/v1/clusters/default/topics/t/partitions/0/records?access_token=${minted.token}`).then((r) => r.text());
    await fetch(b.url + '/v1/clusters/default/topics/t/partitions/0/records', { headers: { cookie: `webka_token=${minted.token}` } }).then((r) => r.text());
    await fetch(b.url + '/v1/whoami', { headers: { authorization: 'Basic ' + Buffer.from(`admin:${key}`).toString('base64') } }).then((r) => r.text());
    await fetch(b.url + '/v1/whoami', { headers: { authorization: 'Bearer wk_0000000000000000_bad' } }).then((r) => r.text());
  } finally {
    await b.close();
  }
  const text = chunks.join('');
  assert.ok(text.includes('request completed'), 'request logging is on');
  assert.ok(text.includes('access_token=[redacted]'));
  assert.ok(!text.includes('wk_'), 'an API key was logged');
  assert.ok(!text.includes('eyJ'), 'a token was logged');
  assert.ok(!text.includes('top-secret-value'), 'a record value was logged');
  assert.ok(text.includes('"audit":true'));
});
