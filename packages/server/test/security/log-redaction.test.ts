/**
 * No secret reaches the logs: Authorization headers, keys, tokens in access_token or any other
 * parameter, keys or tokens quoted in a path, an error message or an audit target, cookies.
 * The broker logs at trace level into memory while credentials of every kind are used.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import fs from 'node:fs';
import path from 'node:path';
import { startBroker, tempDir } from '../support/start-broker.js';
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
  const dataDir = tempDir();
  const b = await startBroker({ dataDir, config: { auth: 'true', logLevel: 'trace' }, logger: { ...base, level: 'trace', stream } as never });
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
    // a key or token in any query parameter, or in the path, is masked by name or by shape
    await fetch(b.url + `/v1/clusters/default/topics/t/partitions/0/records?api_key=${key}`).then((r) => r.text());
    await fetch(b.url + `/v1/clusters/default/topics/t/partitions/0/records?offset=0&x=${key}`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.text());
    await fetch(b.url + `/v1/clusters/default/topics/t/partitions/0/records?secret=hunter2-plain`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.text());
    const echoed = await fetch(b.url + `/v1/clusters/${key}/topics`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.text());
    assert.ok(!echoed.includes('wk_'), `an error message echoed a key: ${echoed}`);
    const echoedToken = await fetch(b.url + `/v1/clusters/default/topics/${minted.token.slice(0, 200)}`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.text());
    assert.ok(!echoedToken.includes('eyJ'), `an error message echoed a token: ${echoedToken}`);
    // an audit target quoting a key (a principal "named" with one) is masked too
    await fetch(b.url + '/v1/principals', { method: 'POST', headers: H, body: JSON.stringify({ name: key }) }).then((r) => r.text());
    await fetch(b.url + `/v1/principals/${key}`, { method: 'DELETE', headers: H }).then((r) => r.text());
  } finally {
    await b.close();
  }
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const text = chunks.join('');
  assert.ok(text.includes('request completed'), 'request logging is on');
  assert.ok(text.includes('access_token=[redacted]'));
  assert.ok(!text.includes('wk_'), 'an API key was logged');
  assert.ok(!text.includes('eyJ'), 'a token was logged');
  assert.ok(!text.includes('top-secret-value'), 'a record value was logged');
  assert.ok(text.includes('"audit":true'));
  assert.ok(!text.includes('hunter2-plain'), 'a secret= parameter was logged');
  assert.ok(text.includes('api_key=[redacted]'));
  const audit = fs.readFileSync(path.join(dataDir, 'audit.log'), 'utf8');
  assert.ok(audit.includes('principal.delete'), 'the audit file holds the changes');
  assert.ok(!audit.includes('wk_') && !audit.includes('eyJ'), 'a key or token reached the audit file');
});
