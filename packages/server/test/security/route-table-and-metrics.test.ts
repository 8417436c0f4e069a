/**
 * Every registered route has an entry in src/http/route-permissions.ts (a new route must be
 * added there); /metrics carries the documented series and they move with traffic; the audit
 * log records admin changes; no secret reaches the logs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { permissionFor } from '../../src/http/route-permissions.js';
import { startSecureBroker } from './secure-broker.js';

test('every registered route is in the permission table', async () => {
  const cast = await startSecureBroker();
  try {
    const routes = cast.broker.server.app.security.routes.filter((r) => r.method !== 'HEAD');
    assert.ok(routes.length > 20);
    const missing = routes.filter((r) => permissionFor(r.method, r.url) === undefined).map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(missing, [], 'add these routes to src/http/route-permissions.ts');
  } finally {
    await cast.broker.close();
  }
});

function series(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}

test('/metrics series exist and move; audit lines are written', async () => {
  const cast = await startSecureBroker();
  try {
    const scrape = async () => {
      const r = await cast.call('GET', '/metrics', { key: cast.admin });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
      return r.text;
    };
    const before = await scrape();
    const topic = { cluster: 'default', topic: 'scores' };
    for (const name of ['webka_log_size_bytes', 'webka_log_end_offset', 'webka_open_connections', 'webka_http_requests_total']) {
      assert.notEqual(series(before, name), undefined, `${name} missing`);
    }
    for (const name of ['webka_fsync_duration_seconds_count', 'webka_quota_throttled_total', 'webka_open_streams', 'webka_open_long_polls', 'webka_group_lag', 'webka_auth_failures_total', 'webka_http_request_duration_seconds_bucket']) {
      assert.ok(before.includes(name), `${name} missing`);
    }
    await cast.call('POST', '/v1/clusters/default/topics/scores/records', { key: cast.alice, body: { records: [{ value: 'abc' }, { value: 'def' }] } });
    await cast.call('GET', '/v1/clusters/default/topics/scores/partitions/0/records', { key: cast.alice });
    await cast.call('GET', '/v1/clusters/default/topics/scores/partitions/1/records', { key: cast.alice });
    await cast.call('GET', '/v1/whoami');
    const afterText = await scrape();
    assert.ok(series(afterText, 'webka_records_in_total', topic)! >= (series(before, 'webka_records_in_total', topic) ?? 0) + 2);
    assert.ok(series(afterText, 'webka_bytes_in_total', topic)! > (series(before, 'webka_bytes_in_total', topic) ?? 0));
    assert.ok(series(afterText, 'webka_records_out_total', topic)! >= 5);
    assert.ok(series(afterText, 'webka_fsync_duration_seconds_count')! > series(before, 'webka_fsync_duration_seconds_count')!);
    assert.ok(series(afterText, 'webka_auth_failures_total', { reason: 'missing' })! >= 1);
    const produced = { route: '/v1/clusters/:cluster/topics/:topic/records', status: '200' };
    assert.ok(series(afterText, 'webka_http_requests_total', produced)! > (series(before, 'webka_http_requests_total', produced) ?? 0));
    const hw = series(afterText, 'webka_log_end_offset', { ...topic, partition: '0' })! + series(afterText, 'webka_log_end_offset', { ...topic, partition: '1' })!;
    assert.equal(hw, 5);

    const audit = fs.readFileSync(path.join(cast.broker.dataDir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const acl = audit.find((a) => a.action === 'acl.create');
    assert.equal(acl.principal, 'admin');
    assert.equal(acl.outcome, 'success');
    assert.ok(audit.some((a) => a.action === 'principal.create' && a.target.name === 'alice'));
    assert.ok(audit.every((a) => typeof a.time === 'string'));
    assert.ok(!JSON.stringify(audit).includes('wk_'), 'the audit log holds a key');
    const mode = fs.statSync(path.join(cast.broker.dataDir, 'initial-admin-key')).mode & 0o777;
    assert.equal(mode, 0o600);
  } finally {
    await cast.broker.close();
  }
});
