/**
 * A real broker with authentication on, its admin key, and a cast of principals for the
 * security tests:
 *   alice  allowed: read/write/describe on topic "scores", describe cluster "default"
 *   bob    no ACL at all
 *   carol  allowed everything everywhere, denied everything on cluster "default*", topics
 *          "scores*" and group "g1" (deny wins)
 * Targets: cluster "default", topic "scores" (2 partitions, 3 records), group "g1".
 */
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { readInitialKey } from '../../src/auth/bootstrap.js';
import type { ConfigKey } from '../../src/config/config.js';

export interface Cast {
  broker: TestBroker;
  url: string;
  admin: string;
  alice: string;
  bob: string;
  carol: string;
  call(method: string, path: string, opts?: { key?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  /** Everything a refused request must not change. */
  snapshot(): string;
}

export async function startSecureBroker(config: Partial<Record<ConfigKey, unknown>> = {}): Promise<Cast> {
  const broker = await startBroker({ config: { auth: 'true', ...config } });
  const url = broker.url;
  const admin = readInitialKey(broker.dataDir);
  const call: Cast['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(url + path, { method, headers, body });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // keep text
    }
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
  const must = async (method: string, path: string, body?: unknown): Promise<any> => {
    const r = await call(method, path, { key: admin, body });
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
    return r.body;
  };
  const principal = async (name: string): Promise<string> => (await must('POST', '/v1/principals', { name, createKey: true })).key.key;
  const alice = await principal('alice');
  const bob = await principal('bob');
  const carol = await principal('carol');
  await must('POST', '/v1/clusters/default/topics', { name: 'scores', partitions: 2 });
  await must('POST', '/v1/clusters/default/topics/scores/records', { records: [{ value: 1 }, { value: 2 }, { value: 3 }] });
  const acl = (principal: string, effect: string, operations: string[], resource: Record<string, string>) => must('POST', '/v1/acls', { principal, effect, operations, resource });
  await acl('alice', 'allow', ['read', 'write'], { type: 'topic', name: 'scores', cluster: 'default' });
  await acl('alice', 'allow', ['describe'], { type: 'cluster', name: 'default' });
  for (const type of ['cluster', 'topic', 'group']) await acl('carol', 'allow', ['admin'], { type, name: '*' });
  await acl('carol', 'deny', ['admin'], { type: 'cluster', name: 'default', patternType: 'prefixed' });
  await acl('carol', 'deny', ['admin'], { type: 'topic', name: 'scores', patternType: 'prefixed' });
  await acl('carol', 'deny', ['admin'], { type: 'group', name: 'g1' });

  const { broker: core, app } = broker.server;
  const snapshot = (): string => {
    const topics: unknown[] = [];
    for (const c of core.listClusters()) {
      for (const t of core.listTopics(c.name)) {
        topics.push([c.name, t.name, t.partitions, t.configs, core.describeTopic(c.name, t.name).partitions.map((p) => p.highWatermark)]);
      }
    }
    const s = app.security.store;
    return JSON.stringify({
      clusters: core.listClusters(),
      topics,
      principals: s.listPrincipals(),
      keys: s.listPrincipals().map((p) => s.listKeys(p.name)),
      acls: s.listAcls(),
    });
  };
  return { broker, url, admin, alice, bob, carol, call, snapshot };
}
