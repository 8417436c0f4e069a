/**
 * A browser token's expiry ends a live stream with a clear signal: an SSE stream gets
 * `event: error` (UNAUTHENTICATED) and ends; a WebSocket gets an error frame and close code 4401.
 * Controls: streams opened with a token that has not expired stay open and keep delivering.
 * Tokens live 2 s (exp has one-second resolution, so 1 to 2 s from minting).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startSecureBroker, type Cast } from './secure-broker.js';
import { SseClient, closeBroker } from '../support/sse-client.js';

const GRANTS = [{ resource: { type: 'topic', name: 'scores', cluster: 'default' }, operations: ['read'] }];

async function mint(cast: Cast, ttlSeconds: number): Promise<{ token: string; expiresAt: number }> {
  const r = await cast.call('POST', '/v1/tokens', { key: cast.alice, body: { grants: GRANTS, ttlSeconds } });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

/** A WebSocket on /v1/ws?access_token=, subscribed to "scores", collecting frames. */
async function subscribe(url: string, token: string): Promise<{ ws: WebSocket; frames: any[]; closed: Promise<number> }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws?access_token=${encodeURIComponent(token)}`);
  const frames: any[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ type: 'subscribe', id: 's', cluster: 'default', topic: 'scores', offset: 'earliest' }));
  await waitFor(() => frames.some((f) => f.id === 's'), 'the subscription answer');
  assert.equal(frames.find((f) => f.id === 's').type, 'subscribed', JSON.stringify(frames));
  return { ws, frames, closed };
}

async function waitFor(pred: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('token expiry ends a live SSE stream with event: error and a WebSocket with 4401; unexpired tokens keep theirs', async () => {
  const cast = await startSecureBroker();
  const sockets: WebSocket[] = [];
  const streams: SseClient[] = [];
  try {
    const short = await mint(cast, 2);
    const long = await mint(cast, 60);
    const sseUrl = (token: string): string => `${cast.url}/v1/clusters/default/topics/scores/partitions/0/records?offset=earliest&access_token=${token}`;

    const expiring = await SseClient.open(sseUrl(short.token));
    const control = await SseClient.open(sseUrl(long.token));
    streams.push(expiring, control);
    assert.equal(expiring.status, 200);
    assert.equal(control.status, 200);
    const wsExpiring = await subscribe(cast.url, short.token);
    const wsControl = await subscribe(cast.url, long.token);
    sockets.push(wsExpiring.ws, wsControl.ws);

    // Live before expiry: a record produced now reaches all four.
    const produce = async (value: string): Promise<void> => {
      const r = await cast.call('POST', '/v1/clusters/default/topics/scores/records', { key: cast.admin, body: { records: [{ partition: 0, value }] } });
      assert.equal(r.status, 200, r.text);
    };
    await produce('before');
    const got = (values: unknown[], v: string): boolean => values.includes(v);
    await expiring.until((c) => got(c.records().map((r) => r.value), 'before'), 5_000, 'the record on the expiring stream');
    await control.until((c) => got(c.records().map((r) => r.value), 'before'), 5_000, 'the record on the control stream');
    const wsValues = (frames: any[]): unknown[] => frames.filter((f) => f.type === 'records').flatMap((f) => f.records.map((r: any) => r.value));
    await waitFor(() => got(wsValues(wsExpiring.frames), 'before') && got(wsValues(wsControl.frames), 'before'), 'the record on both sockets');

    // At expiry: the SSE stream's last event is the error, then the broker ends it.
    await expiring.waitEnd(5_000);
    const last = expiring.messages.at(-1)!;
    assert.equal(last.event, 'error');
    const body = JSON.parse(last.data);
    assert.equal(body.error.code, 'UNAUTHENTICATED');
    assert.match(body.error.message, /expired/);
    assert.ok(Date.now() >= short.expiresAt, 'not before the token expired');

    // The WebSocket: an error frame saying why, then close code 4401.
    assert.equal(await wsExpiring.closed, 4401);
    const wsError = wsExpiring.frames.at(-1);
    assert.equal(wsError.type, 'error');
    assert.equal(wsError.error.code, 'UNAUTHENTICATED');

    // Controls: the unexpired token's streams are open and still deliver.
    assert.equal(control.ended, false);
    assert.equal(wsControl.ws.readyState, WebSocket.OPEN);
    assert.ok(!control.messages.some((m) => m.event === 'error'));
    await produce('after');
    await control.until((c) => got(c.records().map((r) => r.value), 'after'), 5_000, 'a record after the other token expired');
    await waitFor(() => got(wsValues(wsControl.frames), 'after'), 'a record on the control socket');
    assert.ok(!got(expiring.records().map((r) => r.value), 'after'));

    // Reconnecting with the expired token is refused.
    const again = await SseClient.open(sseUrl(short.token));
    assert.equal(again.status, 401);
    assert.equal(again.errorBody.error.code, 'UNAUTHENTICATED');
  } finally {
    for (const s of streams) s.close();
    for (const ws of sockets) ws.terminate();
    await closeBroker(cast.broker);
  }
});
