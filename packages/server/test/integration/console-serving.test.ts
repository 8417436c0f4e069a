/**
 * The broker serves the web console's build at /console: GET / redirects there, the page is
 * revalidated on every load (ETag, 304) while hashed assets are cached for a year, compressed
 * bytes go to clients that accept them, every answer carries the strict CSP, and with auth on
 * the page loads without credentials (it signs in by itself) while the API still needs them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { CONSOLE_CSP } from '../../src/http/routes/console.js';

let broker: TestBroker;

before(async () => {
  broker = await startBroker({ config: { auth: 'true' } });
});
after(() => broker.close());

const get = (path: string, headers: Record<string, string> = {}) => fetch(broker.url + path, { headers, redirect: 'manual' });

async function assetPaths(): Promise<string[]> {
  const html = await (await get('/console')).text();
  return [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]);
}

test('GET / answers 302 to /console, which serves the page without credentials under a strict CSP', async () => {
  const root = await get('/');
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/console');
  for (const path of ['/console', '/console/']) {
    const res = await get(path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type')!, /^text\/html/);
    assert.equal(res.headers.get('content-security-policy'), CONSOLE_CSP);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const html = await res.text();
    assert.match(html, /<div id="app"><\/div>/);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  }
  // the API behind it still needs credentials
  assert.equal((await get('/v1/clusters/default/topics')).status, 401);
});

test('the page revalidates by ETag; hashed assets are cached for a year and sent compressed', async () => {
  const page = await get('/console');
  const etag = page.headers.get('etag')!;
  assert.ok(etag);
  assert.equal((await get('/console', { 'if-none-match': etag })).status, 304);

  const assets = await assetPaths();
  assert.ok(assets.some((p) => p.endsWith('.js')) && assets.some((p) => p.endsWith('.css')), assets.join(','));
  for (const path of assets) {
    const plain = await get(path, { 'accept-encoding': 'identity' });
    assert.equal(plain.status, 200, path);
    assert.equal(plain.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(plain.headers.get('content-encoding'), null);
    assert.equal(plain.headers.get('vary'), 'accept-encoding');
    const body = Buffer.from(await plain.arrayBuffer());
    const br = await get(path, { 'accept-encoding': 'br, gzip' });
    assert.equal(br.headers.get('content-encoding'), 'br');
    assert.deepEqual(Buffer.from(await br.arrayBuffer()), body);
    const gz = await get(path, { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    assert.deepEqual(Buffer.from(await gz.arrayBuffer()), body);
    const refused = await get(path, { 'accept-encoding': 'br;q=0, gzip;q=0' });
    assert.equal(refused.headers.get('content-encoding'), null);
  }
});

test('a console path that names no built file answers 404 NOT_FOUND', async () => {
  const res = await get('/console/assets/nothing-here.js');
  assert.equal(res.status, 404);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
});
