/**
 * The topic list is searched and paged by the broker: GET .../topics?search&offset&limit answers
 * one page of the topics the caller may describe, sorted by name, with the total matching, so
 * pages are full for a principal who sees only some topics and the total counts only those; bad
 * values are 400 INVALID_REQUEST saying what to fix; without parameters every topic is listed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSecureBroker, type Cast } from '../security/secure-broker.js';

const N = 120;
const name = (i: number): string => `p-${String(i).padStart(3, '0')}`;
let cast: Cast;

before(async () => {
  cast = await startSecureBroker();
  for (let i = 0; i < N; i += 20) {
    await Promise.all(
      Array.from({ length: 20 }, async (_, j) => {
        const r = await cast.call('POST', '/v1/clusters/default/topics', { key: cast.admin, body: { name: name(i + j), partitions: 1 } });
        assert.equal(r.status, 201, r.text);
      }),
    );
  }
  // alice may also describe the ten topics p-010 .. p-019 (and "scores", secure-broker.ts)
  const acl = await cast.call('POST', '/v1/acls', { key: cast.admin, body: { principal: 'alice', operations: ['describe'], resource: { type: 'topic', name: 'p-01', patternType: 'prefixed', cluster: 'default' } } });
  assert.equal(acl.status, 201, acl.text);
});

after(() => cast.broker.close());

const list = async (query: string, key = cast.admin): Promise<{ names: string[]; total: number }> => {
  const r = await cast.call('GET', `/v1/clusters/default/topics${query}`, { key });
  assert.equal(r.status, 200, r.text);
  return { names: r.body.topics.map((t: { name: string }) => t.name), total: r.body.total };
};

test('pages of the sorted list, with the total over every page', async () => {
  const all = [...Array.from({ length: N }, (_, i) => name(i)), 'scores'];
  assert.deepEqual(await list(''), { names: all, total: N + 1 });
  assert.deepEqual(await list('?limit=50'), { names: all.slice(0, 50), total: N + 1 });
  assert.deepEqual(await list('?offset=50&limit=50'), { names: all.slice(50, 100), total: N + 1 });
  assert.deepEqual(await list('?offset=100&limit=50'), { names: all.slice(100), total: N + 1 });
  assert.deepEqual(await list('?offset=500&limit=50'), { names: [], total: N + 1 });
});

test('search keeps the names containing the text, ignoring case, and pages over those', async () => {
  assert.deepEqual(await list('?search=P-11'), { names: Array.from({ length: 10 }, (_, i) => name(110 + i)), total: 10 });
  assert.deepEqual(await list('?search=p-11&offset=8&limit=5'), { names: [name(118), name(119)], total: 10 });
  assert.deepEqual(await list('?search=nothing-like-this'), { names: [], total: 0 });
  assert.deepEqual(await list('?search=' + encodeURIComponent('CORE')), { names: ['scores'], total: 1 });
});

test('a principal that sees some topics gets full pages of those, and a total of those only', async () => {
  const seen = [...Array.from({ length: 10 }, (_, i) => name(10 + i)), 'scores'];
  assert.deepEqual(await list('', cast.alice), { names: seen, total: 11 });
  assert.deepEqual(await list('?limit=5', cast.alice), { names: seen.slice(0, 5), total: 11 });
  assert.deepEqual(await list('?offset=5&limit=5', cast.alice), { names: seen.slice(5, 10), total: 11 });
  assert.deepEqual(await list('?search=p-0', cast.alice), { names: seen.slice(0, 10), total: 10 });
  // bob has no ACL: the cluster itself is hidden from him
  assert.equal((await cast.call('GET', '/v1/clusters/default/topics?limit=5', { key: cast.bob })).status, 404);
});

test('bad paging values are refused with 400 INVALID_REQUEST naming the parameter', async () => {
  for (const [query, mentions] of [
    ['?limit=0', /limit/],
    ['?limit=1001', /limit/],
    ['?limit=ten', /limit/],
    ['?offset=-1', /offset/],
    ['?offset=1.5', /offset/],
    ['?search=' + 'x'.repeat(250), /search/],
  ] as const) {
    const r = await cast.call('GET', `/v1/clusters/default/topics${query}`, { key: cast.admin });
    assert.equal(r.status, 400, `${query}: ${r.text}`);
    assert.equal(r.body.error.code, 'INVALID_REQUEST', query);
    assert.match(r.body.error.message, mentions, query);
  }
});
