/**
 * Cross-site WebSocket hijacking: browsers apply no CORS to WebSockets and send the broker's
 * cookie with them, so the upgrade checks Origin against the broker's own origin and corsOrigins,
 * and a socket authenticated only by the cookie or ?access_token= may read but never produce.
 * Checked with a Node client that sets the headers a browser would, and in Chromium from a page
 * on another origin (skipped, with the reason printed, where no Chromium can be had).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startTeams, type Teams } from './teams.js';
import { WsClient } from '../support/ws-client.js';
import { chromiumUnavailable, launchChromium } from '../../../client/test/support/chromium.js';

let t: Teams;
let token: string;

before(async () => {
  t = await startTeams({ corsOrigins: 'https://app.example' });
  const minted = await t.call(t.teamA, 'POST', '/v1/tokens', { grants: [{ resource: { type: 'topic', name: 'orders-1', cluster: 'default' }, operations: ['read', 'write'] }], ttlSeconds: 600 });
  assert.equal(minted.status, 201, minted.text);
  token = minted.body.token;
});
after(() => t.broker.close());

const PRODUCE = { id: 'p', type: 'produce', cluster: 'default', topic: 'orders-1', records: [{ value: 'hijacked' }] };

test('an upgrade from an origin that is neither the broker\'s nor in corsOrigins is refused with 403', async () => {
  for (const headers of [{ cookie: `webka_token=${token}` }, { authorization: `Bearer ${t.teamA}` }]) {
    const r = await WsClient.refused(t.url, { ...headers, origin: 'https://evil.example' });
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'FORBIDDEN');
  }
  const viaQuery = await WsClient.refused(t.url, { origin: 'https://evil.example' }, `access_token=${token}`);
  assert.equal(viaQuery.status, 403);
  // the broker's own origin and an allowed one are accepted
  const host = new URL(t.url).host;
  for (const origin of [`http://${host}`, 'https://app.example']) {
    const ws = await WsClient.connect(t.url, { authorization: `Bearer ${t.teamA}`, origin });
    ws.close();
  }
});

test('a socket opened with the cookie or ?access_token= reads but cannot produce; Authorization can', async () => {
  const before = t.ends();
  const host = new URL(t.url).host;
  for (const [headers, query] of [[{ cookie: `webka_token=${token}`, origin: `http://${host}` }, ''], [{}, `access_token=${token}`]] as const) {
    const ws = await WsClient.connect(t.url, headers, query);
    try {
      const refused = await ws.request(PRODUCE);
      assert.equal(refused.type, 'error', JSON.stringify(refused));
      assert.equal(refused.error.code, 'FORBIDDEN');
      const sub = await ws.request({ id: 's', type: 'subscribe', cluster: 'default', topic: 'orders-1', partition: 0, offset: 'earliest' });
      assert.equal(sub.type, 'subscribed', JSON.stringify(sub));
    } finally {
      ws.close();
    }
  }
  assert.deepEqual(t.ends(), before, 'a cookie- or URL-authenticated socket wrote');
  const ws = await WsClient.connect(t.url, { authorization: `Bearer ${token}` });
  try {
    const ok = await ws.request(PRODUCE);
    assert.equal(ok.type, 'produced', JSON.stringify(ok));
  } finally {
    ws.close();
  }
});

const unavailable = chromiumUnavailable();
if (unavailable !== undefined) console.log(`# browser test skipped: ${unavailable}`);

describe('in Chromium', { skip: unavailable }, () => {
  test('a page on another origin cannot write through a WebSocket that carries the broker\'s cookie', async () => {
    // the page's origin is another port of the same host: the same site, so even a SameSite=Strict
    // cookie goes with the upgrade
    const site = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'));
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    const browser = await launchChromium();
    try {
      const brokerUrl = new URL(t.url);
      await browser.context.addCookies([{ name: 'webka_token', value: token, domain: brokerUrl.hostname, path: '/', httpOnly: true, sameSite: 'Strict' }]);
      await browser.page.goto(`http://127.0.0.1:${(site.address() as { port: number }).port}/`);
      const before = t.ends();
      const outcome = await browser.page.evaluate(
        ({ url, frame }) =>
          new Promise<string>((resolve) => {
            const ws = new WebSocket(url);
            const seen: string[] = [];
            ws.onopen = () => ws.send(JSON.stringify(frame));
            ws.onmessage = (e) => {
              seen.push(String(e.data));
              if (String(e.data).includes('"id":"p"')) resolve(`answered ${seen.join(' ')}`);
            };
            ws.onclose = (e) => resolve(`closed ${e.code} ${seen.join(' ')}`);
            setTimeout(() => resolve(`no answer ${seen.join(' ')}`), 5000);
          }),
        { url: `ws://${brokerUrl.host}/v1/ws`, frame: PRODUCE },
      );
      assert.match(outcome, /^closed/, `the cross-origin socket was accepted: ${outcome}`);
      assert.doesNotMatch(outcome, /produced/);
      assert.deepEqual(t.ends(), before, 'the cross-origin page wrote a record');
    } finally {
      await browser.close();
      await new Promise((r) => site.close(r));
    }
  });
});
