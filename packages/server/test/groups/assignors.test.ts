/**
 * One conformance suite that every assignor passes (STYLE.md: interfaces at seams that swap),
 * plus what only the sticky assignor promises: it moves as few partitions as balance needs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TopicPartition } from '@webka/protocol';
import { ASSIGNORS } from '../../src/groups/assignors.js';
import type { AssignmentInput, AssignorMember } from '../../src/groups/assignor.js';
import { stickyAssignor } from '../../src/groups/sticky-assignor.js';

/** A small deterministic PRNG (mulberry32), so that failures replay. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomInput(rand: () => number, previous?: Map<string, TopicPartition[]>): AssignmentInput {
  const topics = ['a', 'b', 'c', 'd'].slice(0, 1 + Math.floor(rand() * 4));
  const partitions = new Map(topics.map((t) => [t, 1 + Math.floor(rand() * 12)] as [string, number]));
  const members: AssignorMember[] = [];
  const n = Math.floor(rand() * 9);
  for (let i = 0; i < n; i++) {
    const subscribed = topics.filter(() => rand() < 0.7);
    members.push({ memberId: `m${Math.floor(rand() * 1000)}-${i}`, topics: subscribed.length > 0 ? subscribed : [topics[0]] });
  }
  return { members, partitions, previous: previous ?? new Map() };
}

function checkValid(input: AssignmentInput, out: Map<string, TopicPartition[]>): void {
  const owners = new Map<string, string>();
  for (const m of input.members) assert.ok(out.has(m.memberId), `member ${m.memberId} missing from the result`);
  for (const [memberId, tps] of out) {
    const m = input.members.find((x) => x.memberId === memberId);
    assert.ok(m !== undefined, `unknown member ${memberId}`);
    for (const tp of tps) {
      const key = `${tp.topic}/${tp.partition}`;
      assert.ok(m.topics.includes(tp.topic), `${memberId} got ${key} without subscribing to ${tp.topic}`);
      assert.ok(tp.partition >= 0 && tp.partition < (input.partitions.get(tp.topic) ?? 0), `${key} does not exist`);
      assert.equal(owners.get(key), undefined, `${key} owned by ${owners.get(key)} and ${memberId}`);
      owners.set(key, memberId);
    }
  }
  for (const [topic, count] of input.partitions) {
    if (!input.members.some((m) => m.topics.includes(topic))) continue;
    for (let p = 0; p < count; p++) assert.ok(owners.has(`${topic}/${p}`), `${topic}/${p} has no owner`);
  }
}

for (const [name, assignor] of Object.entries(ASSIGNORS)) {
  describe(`assignor conformance: ${name}`, () => {
    test('gives every subscribed partition exactly one subscribed owner, over 500 random inputs', () => {
      const rand = rng(name.length * 7919);
      let previous = new Map<string, TopicPartition[]>();
      for (let i = 0; i < 500; i++) {
        const input = randomInput(rand, previous);
        const out = assignor.assign(input);
        checkValid(input, out);
        previous = rand() < 0.5 ? out : new Map();
      }
    });

    test('gives the same answer for the same input, whatever the member order', () => {
      const rand = rng(42);
      for (let i = 0; i < 50; i++) {
        const input = randomInput(rand);
        const a = assignor.assign(input);
        const b = assignor.assign({ ...input, members: [...input.members].reverse() });
        assert.deepEqual(new Map([...a].sort()), new Map([...b].sort()));
      }
    });

    test('balances members with equal subscriptions to within one partition per topic set', () => {
      const members = ['x', 'y', 'z'].map((memberId) => ({ memberId, topics: ['t'] }));
      const out = assignor.assign({ members, partitions: new Map([['t', 10]]), previous: new Map() });
      const sizes = [...out.values()].map((l) => l.length).sort();
      assert.deepEqual(sizes, [3, 3, 4]);
    });

    test('assigns nothing when nobody subscribes, and handles no members', () => {
      assert.deepEqual(assignor.assign({ members: [], partitions: new Map([['t', 3]]), previous: new Map() }).size, 0);
      const out = assignor.assign({ members: [{ memberId: 'a', topics: ['u'] }], partitions: new Map([['t', 3]]), previous: new Map() });
      assert.deepEqual(out.get('a'), []);
    });
  });
}

describe('sticky assignor', () => {
  const members = (n: number): AssignorMember[] => Array.from({ length: n }, (_, i) => ({ memberId: `m${i}`, topics: ['t'] }));
  const moved = (a: Map<string, TopicPartition[]>, b: Map<string, TopicPartition[]>): number => {
    const owner = new Map<string, string>();
    for (const [m, tps] of a) for (const tp of tps) owner.set(`${tp.topic}/${tp.partition}`, m);
    let n = 0;
    for (const [m, tps] of b) for (const tp of tps) if (owner.has(`${tp.topic}/${tp.partition}`) && owner.get(`${tp.topic}/${tp.partition}`) !== m) n++;
    return n;
  };

  test('a joining member takes only its fair share from the others', () => {
    const partitions = new Map([['t', 12]]);
    const before = stickyAssignor.assign({ members: members(3), partitions, previous: new Map() });
    const after = stickyAssignor.assign({ members: members(4), partitions, previous: before });
    assert.equal(moved(before, after), 3, 'exactly the 3 partitions the new member needs move');
    assert.deepEqual([...after.values()].map((l) => l.length), [3, 3, 3, 3]);
  });

  test('when a member leaves only its partitions move', () => {
    const partitions = new Map([['t', 12]]);
    const before = stickyAssignor.assign({ members: members(4), partitions, previous: new Map() });
    const remaining = members(4).filter((m) => m.memberId !== 'm1');
    const previous = new Map([...before].filter(([m]) => m !== 'm1'));
    const after = stickyAssignor.assign({ members: remaining, partitions, previous });
    assert.equal(moved(previous, after), 0, 'no partition of a remaining member moved');
    assert.deepEqual([...after.values()].map((l) => l.length).sort(), [4, 4, 4]);
  });

  test('round robin, by contrast, moves more partitions on a join (the negative control)', () => {
    const partitions = new Map([['t', 12]]);
    const rr = ASSIGNORS.roundrobin;
    const before = rr.assign({ members: members(3), partitions, previous: new Map() });
    const after = rr.assign({ members: members(4), partitions, previous: before });
    assert.ok(moved(before, after) > 3, `round robin moved ${moved(before, after)}`);
  });
});
