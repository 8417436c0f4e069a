/**
 * A fast-check model of ownership as the oracle: random runs of joins, polls, heartbeats,
 * commits and leaves on group members, and produces with Idempotency-Keys, by three principals
 * (team-a, the intruder with read on every group, the superuser admin) against the real broker.
 * The model says who owns each member and key; every answer must be the model's (the owner
 * acts, a superuser may remove, anyone else meets a missing member), and a key replayed by its
 * owner gets the same answer while another principal's use of it is a request of its own.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTeams, type Teams } from './teams.js';

let t: Teams;
before(async () => {
  t = await startTeams();
});
after(() => t.broker.close());

type Who = 'teamA' | 'intruder' | 'admin';
type Op =
  | { kind: 'join'; who: Who }
  | { kind: 'poll' | 'heartbeat' | 'commit' | 'leave'; who: Who; member: number }
  | { kind: 'produce'; who: 'teamA' | 'admin'; key: number };

const who = fc.constantFrom<Who>('teamA', 'intruder', 'admin');
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('join' as const), who }),
  fc.record({ kind: fc.constantFrom('poll' as const, 'heartbeat' as const, 'commit' as const, 'leave' as const), who, member: fc.nat(5) }),
  fc.record({ kind: fc.constant('produce' as const), who: fc.constantFrom<'teamA' | 'admin'>('teamA', 'admin'), key: fc.nat(2) }),
);

let run = 0;

test('ownership of members and idempotency keys matches the model over random runs', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
      run++;
      const group = `/v1/clusters/default/groups/orders-fc-${run}`;
      const keyOf = { teamA: t.teamA, intruder: t.intruder, admin: t.admin };
      const members: Array<{ id: string; owner: Who; present: boolean }> = [];
      const answers = new Map<string, string>();
      try {
        for (const o of ops) {
          if (o.kind === 'join') {
            // the intruder may read no topic: it subscribes by pattern, which matches none it may read
            const body = o.who === 'intruder' ? { pattern: 'orders-.*', autoCommit: false } : { topics: ['orders-1'], autoCommit: false };
            const r = await t.call(keyOf[o.who], 'POST', `${group}/members`, body);
            assert.equal(r.status, 201, r.text);
            members.push({ id: r.body.memberId, owner: o.who, present: true });
            continue;
          }
          if (o.kind === 'produce') {
            const key = `fc-${run}-${o.key}`;
            const r = await t.call(keyOf[o.who], 'POST', '/v1/clusters/default/topics/orders-1/records', { records: [{ value: key, partition: 0 }] }, { 'idempotency-key': key });
            assert.equal(r.status, 200, r.text);
            const scoped = `${o.who}/${key}`;
            const first = answers.get(scoped);
            if (first === undefined) {
              // no other principal's answer for the same key may be handed out
              for (const [k, v] of answers) if (k.endsWith(`/${key}`)) assert.notEqual(r.text, v, `${o.who} got another principal's answer for ${key}`);
              answers.set(scoped, r.text);
            } else {
              assert.equal(r.text, first, `${o.who}'s retry of ${key} was not answered as the first time`);
            }
            continue;
          }
          const m = members[o.member % Math.max(1, members.length)];
          if (m === undefined) continue;
          const path = `${group}/members/${m.id}`;
          const r =
            o.kind === 'poll' ? await t.call(keyOf[o.who], 'GET', `${path}/records`)
            : o.kind === 'heartbeat' ? await t.call(keyOf[o.who], 'POST', `${path}/heartbeat`)
            : o.kind === 'commit' ? await t.call(keyOf[o.who], 'POST', `${path}/offsets`, {})
            : await t.call(keyOf[o.who], 'DELETE', path);
          // the model: the owner acts; a superuser may remove another's member; others meet a missing member
          const allowed = m.present && (m.owner === o.who || (o.kind === 'leave' && o.who === 'admin'));
          if (allowed) {
            assert.ok(r.status === 200 || r.status === 204, `${o.who} ${o.kind} own/admin: ${r.status} ${r.text}`);
            if (o.kind === 'leave') m.present = false;
          } else {
            assert.equal(r.status, 404, `${o.who} ${o.kind} on ${m.owner}'s member: ${r.status} ${r.text}`);
            assert.equal(r.body.error.code, 'MEMBER_NOT_FOUND');
          }
        }
      } finally {
        for (const m of members) if (m.present) await t.call(t.admin, 'DELETE', `${group}/members/${m.id}`);
      }
    }),
    { numRuns: 25 },
  );
});
