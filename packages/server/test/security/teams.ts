/**
 * A real broker with authentication on and three principals that share it, for the tests of
 * object ownership (one principal presenting the ids another obtained):
 *   team-a    read, write on topics "orders-*"; read on groups "orders-*"; write on cluster
 *             "default" (producer ids)
 *   team-b    write on topic "orders-1" only; create on topics "team-*"
 *   intruder  read on every group ("*"); write on cluster "default" (it may ask for producer
 *             ids); nothing on any topic
 * Topics: "orders-1" (2 partitions, 3 records), "TEAM-A-hidden" (made by the admin).
 */
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../support/start-broker.js';
import { rest, type Answer } from '../support/rest.js';
import { readInitialKey } from '../../src/auth/bootstrap.js';
import type { ConfigKey } from '../../src/config/config.js';

export interface Teams {
  broker: TestBroker;
  url: string;
  admin: string;
  teamA: string;
  teamB: string;
  intruder: string;
  call(key: string | undefined, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  /** High watermarks of orders-1, for "changed nothing" checks. */
  ends(): number[];
}

export async function startTeams(config: Partial<Record<ConfigKey, unknown>> = {}): Promise<Teams> {
  const broker = await startBroker({ config: { auth: 'true', ...config } });
  const admin = readInitialKey(broker.dataDir);
  const api = rest(broker.url);
  const call: Teams['call'] = (key, method, path, body, extra = {}) => api.call(method, path, body, key === undefined ? extra : { ...extra, authorization: `Bearer ${key}` });
  const must = async (method: string, path: string, body?: unknown): Promise<any> => {
    const r = await call(admin, method, path, body);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
    return r.body;
  };
  const principal = async (name: string): Promise<string> => (await must('POST', '/v1/principals', { name, createKey: true })).key.key;
  const acl = (principal: string, operations: string[], resource: Record<string, string>) => must('POST', '/v1/acls', { principal, effect: 'allow', operations, resource });
  const teamA = await principal('team-a');
  const teamB = await principal('team-b');
  const intruder = await principal('intruder');
  await acl('team-a', ['read', 'write'], { type: 'topic', name: 'orders-', patternType: 'prefixed' });
  await acl('team-a', ['read'], { type: 'group', name: 'orders-', patternType: 'prefixed' });
  await acl('team-a', ['write'], { type: 'cluster', name: 'default' });
  await acl('team-b', ['write'], { type: 'topic', name: 'orders-1' });
  await acl('team-b', ['create'], { type: 'topic', name: 'team-', patternType: 'prefixed' });
  await acl('intruder', ['read'], { type: 'group', name: '*' });
  await acl('intruder', ['write'], { type: 'cluster', name: 'default' });
  await must('POST', '/v1/clusters/default/topics', { name: 'orders-1', partitions: 2 });
  await must('POST', '/v1/clusters/default/topics', { name: 'TEAM-A-hidden' });
  await must('POST', '/v1/clusters/default/topics/orders-1/records', { records: [{ value: 1 }, { value: 2 }, { value: 3 }] });
  const ends = (): number[] => broker.server.broker.describeTopic('default', 'orders-1').partitions.map((p) => p.highWatermark);
  return { broker, url: broker.url, admin, teamA, teamB, intruder, call, ends };
}
