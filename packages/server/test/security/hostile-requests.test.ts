/**
 * Property-based fuzzing (fast-check) of every route with malformed and hostile requests: bad
 * JSON, wrong types, huge numbers, deep nesting, long and odd names, path traversal, header
 * injection, odd encodings, oversized bodies, thousands of records; with the admin's key (to reach
 * the handlers), with other principals' keys and with none. Properties: never a 5xx, the broker
 * never crashes, the existing data is unchanged, and it serves correct requests afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { startSecureBroker } from './secure-broker.js';

const ROUTES: Array<[string, string]> = [
  ['GET', '/v1/clusters'], ['POST', '/v1/clusters'], ['GET', '/v1/clusters/:c'], ['PATCH', '/v1/clusters/:c'], ['DELETE', '/v1/clusters/:c'],
  ['GET', '/v1/clusters/:c/topics'], ['POST', '/v1/clusters/:c/topics'], ['GET', '/v1/clusters/:c/topics/:t'], ['PATCH', '/v1/clusters/:c/topics/:t'],
  ['DELETE', '/v1/clusters/:c/topics/:t'], ['POST', '/v1/clusters/:c/topics/:t/records'], ['GET', '/v1/clusters/:c/topics/:t/partitions'],
  ['GET', '/v1/clusters/:c/topics/:t/partitions/:p/records'], ['GET', '/v1/clusters/:c/topics/:t/partitions/:p/offsets'], ['POST', '/v1/clusters/:c/producers'],
  ['GET', '/v1/clusters/:c/groups'], ['GET', '/v1/clusters/:c/groups/:g'], ['POST', '/v1/clusters/:c/groups/:g/members'], ['POST', '/v1/clusters/:c/groups/:g/offsets'],
  ['POST', '/v1/clusters/:c/groups/:g/offsets/reset'], ['GET', '/v1/clusters/:c/groups/:g/members/:m/records'],
  ['PUT', '/v1/stream/:s'], ['POST', '/v1/stream/:s'], ['GET', '/v1/stream/:s'], ['DELETE', '/v1/stream/:s'],
  ['POST', '/v1/principals'], ['GET', '/v1/principals/:n'], ['DELETE', '/v1/principals/:n'], ['POST', '/v1/principals/:n/keys'], ['DELETE', '/v1/principals/:n/keys/:k'],
  ['POST', '/v1/acls'], ['DELETE', '/v1/acls/:k'], ['POST', '/v1/tokens'], ['GET', '/v1/whoami'], ['GET', '/v1/broker'], ['GET', '/v1/topic-configs'], ['GET', '/v1/streams'], ['GET', '/metrics'], ['GET', '/health'],
];

const hostileName = fc.oneof(
  fc.constantFrom('..', '.', '%2e%2e', '..%2f..%2fetc%2fpasswd', '%00', '%ff%fe', 'a%2Fb', '__consumer_offsets', 'CON', '%E2%80%AE', '*', '%20', 'a'.repeat(300), 'é'.repeat(100), '%25', 'null', '-1', '1e309'),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.stringMatching(/^[a-zA-Z0-9._-]{1,20}$/).map((s) => `fz-${s}`),
);
const hugeNumber = fc.constantFrom(1e308, -1, 2 ** 63, Number.MAX_SAFE_INTEGER + 2, -0, 0.5, 1e21);
const deep = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
const body = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('{', '{"records":', 'nul', '\u0000', '{"a":1,}', deep(10_000), '{"records":[' + '{"value":1},'.repeat(20_000) + '{"value":1}]}'),
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
  fc.record({ name: hostileName, partitions: hugeNumber, configs: fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 2 })) }).map((v) => JSON.stringify(v)),
  fc.record({ records: fc.array(fc.record({ key: fc.jsonValue({ maxDepth: 2 }), value: fc.jsonValue({ maxDepth: 3 }), partition: hugeNumber, timestamp: hugeNumber, headers: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }), { maxLength: 5 }) }).map((v) => JSON.stringify(v)),
  fc.record({ principal: hostileName, operations: fc.array(fc.string({ maxLength: 10 })), resource: fc.jsonValue({ maxDepth: 3 }), grants: fc.jsonValue({ maxDepth: 3 }), ttlSeconds: hugeNumber }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.integer({ min: 1, max: 3 }).map((n) => 'x'.repeat(n * 3 * 1024 * 1024)),
);
const query = fc.oneof(fc.constant(''), fc.constantFrom('?offset=-1', '?maxWaitMs=1e99', '?maxBytes=99999999999999', '?offset=earliest&timestamp=1', '?access_token=eyJhbGciOiJub25lIn0.e30.', '?live=sse', '?acks=2', '?maxRecords=0', '?keyFormat=x&valueFormat=y'));
const contentType = fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'application/json; charset=latin1', 'multipart/form-data; boundary=x', '');
const encoding = fc.constantFrom(undefined, undefined, undefined, 'gzip', 'br', 'deflate', 'compress', 'identity');

test('hostile requests: no 5xx, no crash, data unchanged, broker still correct', async () => {
  const cast = await startSecureBroker({ maxRecordsPerRequest: 5_000 });
  let cases = 0;
  const statuses = new Map<number, number>();
  try {
    const before = cast.snapshot();
    const scoresBefore = await cast.call('GET', '/v1/clusters/default/topics/scores/partitions/0/records', { key: cast.admin });
    const keys = [cast.admin, cast.admin, cast.bob, cast.carol, undefined, 'wk_0000000000000000_' + 'A'.repeat(43), 'not-a-key'];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES), fc.array(hostileName, { minLength: 6, maxLength: 6 }), query, body, contentType, encoding, fc.constantFrom(...keys.keys()),
        async ([method, pattern], names, q, b, ct, enc, k) => {
          let i = 0;
          const path = pattern.replace(/:[a-z]+/g, () => names[i++]) + q;
          const headers: Record<string, string> = {};
          if (ct !== '') headers['content-type'] = ct;
          if (enc !== undefined) headers['content-encoding'] = enc;
          if (keys[k] !== undefined) headers.authorization = `Bearer ${keys[k]}`;
          const withBody = b !== undefined && method !== 'GET';
          let status: number;
          try {
            const res = await fetch(cast.url + path, { method, headers, body: withBody ? b : undefined, signal: AbortSignal.timeout(10_000) });
            status = res.status;
            if (res.headers.get('content-type')?.includes('event-stream')) await res.body?.cancel();
            else await res.arrayBuffer();
          } catch (err) {
            // A connection the broker closed (refused body) is a refusal, not a crash.
            status = 0;
            void err;
          }
          cases++;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          assert.ok(status < 500, `${method} ${path.slice(0, 200)} -> ${status}`);
        },
      ),
      { numRuns: 400, seed: 20261125 },
    );
    // Header injection and request smuggling shapes, on a raw socket.
    const raw = [
      'GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\n b: c\r\n\r\n',
      'POST /v1/clusters HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      `GET /v1/whoami HTTP/1.1\r\nHost: x\r\nX-Inject: a\rSet-Cookie: x=y\r\nAuthorization: Bearer ${cast.admin}\r\n\r\n`,
      'GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
      `GET /v1/whoami HTTP/1.1\r\nHost: x\r\n${'X-Big: ' + 'a'.repeat(20_000)}\r\n\r\n`,
    ];
    for (const text of raw) {
      const answer = await new Promise<string>((resolve) => {
        const s = net.connect(new URL(cast.url).port as unknown as number, '127.0.0.1', () => s.write(text));
        let got = '';
        s.on('data', (d) => (got += d));
        s.on('close', () => resolve(got));
        s.on('error', () => resolve(got));
        setTimeout(() => s.destroy(), 400);
      });
      cases++;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      assert.ok(m === null || Number(m[1]) < 500, answer.slice(0, 200));
      assert.ok(!/\r\nset-cookie: x=y/i.test(answer));
    }
    assert.equal(cast.snapshot().length > 0, true);
    const after = JSON.parse(cast.snapshot());
    const was = JSON.parse(before);
    // Pre-existing principals, keys, ACLs and the scores topic are untouched.
    assert.deepEqual(after.principals.filter((p: { name: string }) => ['admin', 'alice', 'bob', 'carol'].includes(p.name)), was.principals);
    assert.deepEqual(after.acls.slice(0, was.acls.length), was.acls);
    assert.deepEqual(after.topics.find((t: unknown[]) => t[1] === 'scores'), was.topics.find((t: unknown[]) => t[1] === 'scores'));
    const scoresAfter = await cast.call('GET', '/v1/clusters/default/topics/scores/partitions/0/records', { key: cast.admin });
    assert.deepEqual(scoresAfter.body, scoresBefore.body);
    // still correct
    const p = await cast.call('POST', '/v1/clusters/default/topics/scores/records', { key: cast.alice, body: { records: [{ value: 'after-fuzz', partition: 1 }] } });
    assert.equal(p.status, 200, p.text);
    const f = await cast.call('GET', `/v1/clusters/default/topics/scores/partitions/1/records?offset=${p.body.records[0].offset}`, { key: cast.alice });
    assert.equal(f.body.records[0].value, 'after-fuzz');
  } finally {
    await cast.broker.close();
  }
  console.log(`hostile requests: ${cases} cases tried; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
});
