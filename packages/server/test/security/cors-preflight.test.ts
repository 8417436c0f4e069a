/**
 * CORS preflights get an answer that says what to do: 204 for an allowed origin (also with auth
 * on, since preflights carry no credentials), 403 FORBIDDEN naming the corsOrigins setting for any
 * other, never a 404. Checked with the headers a browser sends.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';

const brokers: TestBroker[] = [];
after(() => Promise.all(brokers.map((b) => b.close())));

async function preflight(url: string, origin: string): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${url}/v1/clusters/default/topics`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}

describe('CORS preflight', () => {
  test('with the default corsOrigins (none), another origin gets 403 naming corsOrigins', async () => {
    const b = await startBroker();
    brokers.push(b);
    const r = await preflight(b.url, 'http://localhost:5173');
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'FORBIDDEN');
    assert.equal(r.body.error.setting, 'corsOrigins');
    assert.match(r.body.error.message, /corsOrigins/);
    assert.match(r.body.error.message, /localhost:5173/);
    // The broker's own origin is answered.
    const own = await preflight(b.url, b.url);
    assert.equal(own.status, 204);
    assert.equal(own.headers.get('access-control-allow-origin'), b.url);
  });

  test('with a list and auth on, a listed origin gets 204 with the CORS headers and an unlisted one 403', async () => {
    const b = await startBroker({ config: { auth: 'true', corsOrigins: 'https://app.example' } });
    brokers.push(b);
    const ok = await preflight(b.url, 'https://app.example');
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(ok.headers.get('access-control-allow-methods') ?? '', /POST/);
    const refused = await preflight(b.url, 'https://evil.example');
    assert.equal(refused.status, 403);
    assert.match(refused.body.error.message, /corsOrigins/);
  });
});
