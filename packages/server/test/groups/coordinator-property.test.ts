/**
 * The fencing property, checked across many random membership events driven in-process against
 * a real broker (real storage, fake lease clock): in every generation each partition has at most
 * one owner and, while the group has members, exactly one; a commit is accepted exactly when the
 * member has owned the partition without a break since the generation it names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Broker } from '../../src/broker.js';
import { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import { WebkaError } from '../../src/errors.js';
import type { GroupMember } from '../../src/groups/group-member.js';

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('no partition has two owners in a generation across 1,200 random joins, leaves and expiries', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-groups-prop-'));
  const broker = Broker.open({ dataDir: dir, flushIntervalMs: 0, checkpointIntervalMs: 60_000, retentionCheckIntervalMs: 60_000, maxPartitionsPerTopic: 100, maxBatchBytes: 1 << 20 });
  let now = 1_000_000;
  const coordinator = new GroupCoordinator(broker, { clock: () => now, timers: false });
  const rand = rng(20261125);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  try {
    broker.createTopic('default', { name: 't1', partitions: 6 });
    broker.createTopic('default', { name: 't2', partitions: 4 });
    const groups = [
      { id: 'sticky-group', strategy: 'sticky' as const },
      { id: 'range-group', strategy: 'range' as const },
      { id: 'rr-group', strategy: 'roundrobin' as const },
    ];
    /** group -> generation -> "topic/partition" -> memberId, as observed after every event */
    const history = new Map<string, Map<number, Map<string, string>>>(groups.map((g) => [g.id, new Map()]));
    const subscriptions = [{ topics: ['t1'] }, { topics: ['t1', 't2'] }, { pattern: 't.*' }, { topics: ['t2', 'later'] }];
    let events = 0;
    let refused = 0;
    let accepted = 0;
    let extraTopics = 0;

    const observe = (): void => {
      for (const g of groups) {
        const group = coordinator.findGroup('default', g.id);
        if (group === undefined) continue;
        const owners = new Map<string, string>();
        for (const m of group.members.values()) {
          for (const tp of m.assignment) {
            const key = `${tp.topic}/${tp.partition}`;
            assert.equal(owners.get(key), undefined, `${g.id} generation ${group.generationId}: ${key} owned by ${owners.get(key)} and ${m.memberId}`);
            owners.set(key, m.memberId);
          }
        }
        if (group.members.size > 0) {
          for (const t of broker.listTopics('default').filter((x) => !x.internal)) {
            if (![...group.members.values()].some((m) => m.subscribes(t.name))) continue;
            for (let p = 0; p < t.partitions; p++) assert.ok(owners.has(`${t.name}/${p}`), `${g.id} generation ${group.generationId}: ${t.name}/${p} has no owner`);
          }
        }
        const seen = history.get(g.id)!.get(group.generationId);
        if (seen !== undefined) assert.deepEqual(owners, seen, `${g.id} generation ${group.generationId} changed its assignment`);
        history.get(g.id)!.set(group.generationId, owners);
      }
    };

    /** The model's answer: owned by memberId in every generation from `from` to the current one. */
    const continuouslyOwned = (groupId: string, memberId: string, key: string, from: number, current: number): boolean => {
      for (let gen = from; gen <= current; gen++) {
        const owners = history.get(groupId)!.get(gen);
        if (owners === undefined || owners.get(key) !== memberId) return false;
      }
      return true;
    };

    while (events < 1_200) {
      const g = pick(groups);
      const group = coordinator.findGroup('default', g.id);
      const members: GroupMember[] = group === undefined ? [] : [...group.members.values()];
      const roll = rand();
      if (roll < 0.35 && members.length < 8) {
        coordinator.join('default', g.id, { ...pick(subscriptions), assignmentStrategy: g.strategy, sessionTimeoutMs: 1_000 + Math.floor(rand() * 4_000), autoCommit: false });
        events++;
      } else if (roll < 0.55 && members.length > 0) {
        await coordinator.leave('default', g.id, pick(members).memberId);
        events++;
      } else if (roll < 0.7) {
        for (const m of members) if (rand() < 0.5) coordinator.heartbeat('default', g.id, m.memberId);
        now += Math.floor(rand() * 3_000);
        const before = members.length;
        coordinator.expireSessions();
        events += before - (coordinator.findGroup('default', g.id)?.members.size ?? 0);
      } else if (roll < 0.72 && extraTopics < 4) {
        extraTopics++;
        if (extraTopics === 2) broker.alterTopic('default', 't2', { partitions: 6 });
        else broker.createTopic('default', { name: extraTopics === 1 ? 'later' : `t-extra-${extraTopics}`, partitions: 3 });
      } else if (members.length > 0 && group !== undefined) {
        // a commit naming some past generation, checked against the model
        const m = pick(members);
        const gen = Math.max(1, group.generationId - Math.floor(rand() * 4));
        const owners = history.get(g.id)!.get(gen);
        const candidates = owners === undefined ? [] : [...owners.entries()].filter(([, id]) => id === m.memberId).map(([k]) => k);
        const key = candidates.length > 0 && rand() < 0.8 ? pick(candidates) : `t1/${Math.floor(rand() * 6)}`;
        const [topic, partition] = [key.slice(0, key.lastIndexOf('/')), Number(key.slice(key.lastIndexOf('/') + 1))];
        const expected = continuouslyOwned(g.id, m.memberId, key, gen, group.generationId);
        try {
          await coordinator.commit('default', g.id, m.memberId, [{ topic, partition, offset: 0 }], gen);
          accepted++;
          assert.ok(expected, `commit of ${key} by ${m.memberId} for generation ${gen} (now ${group.generationId}) was accepted, but the partition changed hands`);
        } catch (err) {
          assert.ok(err instanceof WebkaError && (err.code === 'STALE_GENERATION' || err.code === 'NOT_ASSIGNED'), String(err));
          refused++;
          assert.ok(!expected, `commit of ${key} by ${m.memberId} for generation ${gen} was refused (${(err as WebkaError).code}) though it owned it throughout`);
        }
      }
      observe();
    }
    assert.ok(events >= 1_200);
    assert.ok(accepted > 20 && refused > 20, `both outcomes exercised: ${accepted} accepted, ${refused} refused`);
  } finally {
    coordinator.close();
    await broker.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
