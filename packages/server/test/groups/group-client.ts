/**
 * Test helpers: a consumer-group member over plain HTTP (fetch), as any client would drive it.
 */
import assert from 'node:assert/strict';
import type { Rest, Answer } from '../support/rest.js';

export interface Member {
  id: string;
  generation: number;
  assignment: Array<{ topic: string; partition: number }>;
  poll(query?: Record<string, string | number>): Promise<Answer>;
  heartbeat(): Promise<Answer>;
  commit(body?: unknown): Promise<Answer>;
  leave(): Promise<Answer>;
}

export async function join(api: Rest, group: string, body: Record<string, unknown>, cluster = 'default'): Promise<Member> {
  const r = await api.post(`/v1/clusters/${cluster}/groups/${group}/members`, body);
  assert.equal(r.status, 201, r.text);
  const base = `/v1/clusters/${cluster}/groups/${group}/members/${r.body.memberId}`;
  const m: Member = {
    id: r.body.memberId,
    generation: r.body.generation,
    assignment: r.body.assignment,
    async poll(query = {}) {
      const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
      const a = await api.get(`${base}/records${qs ? `?${qs}` : ''}`);
      if (a.status === 200) {
        m.generation = a.body.generation;
        m.assignment = a.body.assignment;
      }
      return a;
    },
    async heartbeat() {
      const a = await api.post(`${base}/heartbeat`);
      if (a.status === 200) {
        m.generation = a.body.generation;
        m.assignment = a.body.assignment;
      }
      return a;
    },
    commit: (body?: unknown) => api.post(`${base}/offsets`, body),
    leave: () => api.del(base),
  };
  return m;
}

export async function produce(api: Rest, topic: string, records: unknown[], cluster = 'default'): Promise<void> {
  const r = await api.post(`/v1/clusters/${cluster}/topics/${topic}/records`, { records });
  assert.equal(r.status, 200, r.text);
}

export async function createTopic(api: Rest, name: string, partitions: number, configs?: Record<string, unknown>, cluster = 'default'): Promise<void> {
  const r = await api.post(`/v1/clusters/${cluster}/topics`, { name, partitions, ...(configs ? { configs } : {}) });
  assert.equal(r.status, 201, r.text);
}

/** Every partition's owners per describe; asserts none has two. */
export function owners(description: { members: Array<{ memberId: string; assignment: Array<{ topic: string; partition: number }> }> }): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of description.members) {
    for (const tp of m.assignment) {
      const key = `${tp.topic}/${tp.partition}`;
      assert.equal(out.get(key), undefined, `${key} is owned by ${out.get(key)} and ${m.memberId}`);
      out.set(key, m.memberId);
    }
  }
  return out;
}
