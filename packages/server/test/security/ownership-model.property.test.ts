/**
 * A fast-check model of ownership as the oracle: random runs of joins, polls, heartbeats,
 * commits and leaves on group members, and produces with Idempotency-Keys, by three principals
 * (team-a, the intruder with read on every group, the superuser admin) against the real broker.
 * The model says who owns each member and key; every answer must be the model's (the owner
 * acts, a superuser may remove, anyone else meets a missing member), and a key replayed by its
 * owner gets the same answer while another principal's use of it is a request of its own.
 * A second property does the same for producer ids and names (HTTP), transactional ids and
 * Durable Streams Producer-Ids: only the owner (or a superuser) writes with, fences, commits or
 * aborts what it obtained; another principal is refused and changes nothing of the owner's.
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

// ---- producer ids and names, transactional ids, Durable Streams producers

type Writer = 'teamA' | 'teamB' | 'admin';
type POp =
  | { kind: 'init'; who: 'teamA' | 'intruder' | 'admin'; name: number | null }
  | { kind: 'produce'; who: Writer; producer: number }
  | { kind: 'txInit'; who: 'teamA' | 'intruder' | 'admin'; txn: number }
  | { kind: 'txProduce'; who: Writer; txn: number }
  | { kind: 'txEnd'; who: 'teamA' | 'intruder' | 'admin'; txn: number; commit: boolean }
  | { kind: 'dsAppend'; who: 'teamA' | 'teamB'; bump: boolean };

const initiator = fc.constantFrom<'teamA' | 'intruder' | 'admin'>('teamA', 'intruder', 'admin');
const writer = fc.constantFrom<Writer>('teamA', 'teamB', 'admin');
const pop: fc.Arbitrary<POp> = fc.oneof(
  fc.record({ kind: fc.constant('init' as const), who: initiator, name: fc.option(fc.nat(1), { nil: null }) }),
  fc.record({ kind: fc.constant('produce' as const), who: writer, producer: fc.nat(5) }),
  fc.record({ kind: fc.constant('txInit' as const), who: initiator, txn: fc.nat(1) }),
  fc.record({ kind: fc.constant('txProduce' as const), who: writer, txn: fc.nat(1) }),
  fc.record({ kind: fc.constant('txEnd' as const), who: initiator, txn: fc.nat(1), commit: fc.boolean() }),
  fc.record({ kind: fc.constant('dsAppend' as const), who: fc.constantFrom<'teamA' | 'teamB'>('teamA', 'teamB'), bump: fc.boolean() }),
);

test('ownership of producer ids and names, transactional ids and Durable Streams producers matches the model over random runs', async () => {
  const acl = await t.call(t.admin, 'POST', '/v1/acls', { principal: '*', operations: ['read', 'write', 'describe'], resource: { type: 'topic', name: '*', cluster: 'streams' } });
  assert.equal(acl.status, 201, acl.text);
  const RECORDS = '/v1/clusters/default/topics/orders-1/records';
  const X = '/v1/clusters/default/transactions';
  let prun = 0;
  // what the runs exercised: the property is not vacuous only if others' ids were presented
  const seen = new Map<string, number>();
  const tally = (what: string): void => void seen.set(what, (seen.get(what) ?? 0) + 1);
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(pop, { minLength: 1, maxLength: 12 }), async (ops) => {
        prun++;
        const keyOf = { teamA: t.teamA, teamB: t.teamB, intruder: t.intruder, admin: t.admin };
        // the model: who owns each id, its current epoch and next sequence
        const ids = new Map<number, { owner: string; epoch: number; nextSeq: number }>();
        const producers: Array<{ id: number; epoch: number }> = [];
        const names = new Map<string, number>(); // `${who}/${name}` -> producer id
        // ended: how its last transaction ended, once it had written (the other ending is then refused)
        const txns = new Map<number, { owner: string; producerId: number; producerEpoch: number; nextSeq: number; open: boolean; ended: 'commit' | 'abort' | null }>();
        const stream = `/v1/stream/fc-${prun}`;
        assert.equal((await t.call(t.admin, 'PUT', stream, undefined, { 'content-type': 'text/plain' })).status, 201);
        const ds = new Map<string, { epoch: number; nextSeq: number }>();
        for (const o of ops) {
          const ends = t.ends();
          if (o.kind === 'init') {
            const body = o.name === null ? undefined : { name: `fc-${prun}-${o.name}` };
            const r = await t.call(keyOf[o.who], 'POST', '/v1/clusters/default/producers', body);
            assert.equal(r.status, 201, r.text);
            const seen = o.name === null ? undefined : names.get(`${o.who}/${o.name}`);
            if (seen !== undefined) {
              // the same principal asking for its name again: the same id, the next epoch
              assert.equal(r.body.producerId, seen);
              assert.equal(r.body.producerEpoch, ids.get(seen)!.epoch + 1);
            } else {
              assert.ok(!ids.has(r.body.producerId), `${o.who} was handed a producer id already issued`);
            }
            ids.set(r.body.producerId, { owner: o.who, epoch: r.body.producerEpoch, nextSeq: 0 });
            if (o.name !== null) names.set(`${o.who}/${o.name}`, r.body.producerId);
            producers.push({ id: r.body.producerId, epoch: r.body.producerEpoch });
          } else if (o.kind === 'produce') {
            const p = producers[o.producer % Math.max(1, producers.length)];
            if (p === undefined) continue;
            const m = ids.get(p.id)!;
            const r = await t.call(keyOf[o.who], 'POST', RECORDS, { producerId: p.id, producerEpoch: p.epoch, sequence: m.nextSeq, records: [{ value: `fc-${prun}`, partition: 0 }] });
            if (o.who !== m.owner && o.who !== 'admin') {
              tally('produce refused');
              assert.equal(r.status, 404, `${o.who} wrote with ${m.owner}'s producer id: ${r.text}`);
              assert.equal(r.body.error.code, 'PRODUCER_NOT_FOUND');
              assert.deepEqual(t.ends(), ends);
            } else if (p.epoch < m.epoch) {
              assert.ok(r.status >= 400, `a fenced epoch wrote: ${r.text}`);
              assert.deepEqual(t.ends(), ends);
            } else {
              assert.equal(r.status, 200, `${o.who} with ${m.owner}'s producer: ${r.text}`);
              tally('produce written');
              assert.equal(t.ends()[0], ends[0] + 1, 'the owner\'s next sequence was answered as a duplicate');
              m.nextSeq++;
            }
          } else if (o.kind === 'txInit') {
            const tid = `fc-${prun}-tx${o.txn}`;
            const m = txns.get(o.txn);
            const r = await t.call(keyOf[o.who], 'POST', X, { transactionalId: tid });
            if (m !== undefined && m.owner !== o.who && o.who !== 'admin') {
              tally('txInit refused');
              assert.equal(r.status, 403, `${o.who} initialised ${m.owner}'s transactional id: ${r.text}`);
              assert.equal(r.body.error.code, 'FORBIDDEN');
            } else {
              assert.equal(r.status, 200, r.text);
              if (m !== undefined) {
                assert.equal(r.body.producerId, m.producerId);
                assert.ok(r.body.producerEpoch > m.producerEpoch);
              }
              txns.set(o.txn, { owner: m?.owner ?? o.who, producerId: r.body.producerId, producerEpoch: r.body.producerEpoch, nextSeq: 0, open: false, ended: null });
            }
          } else if (o.kind === 'txProduce' || o.kind === 'txEnd') {
            const m = txns.get(o.txn);
            if (m === undefined) continue;
            const tid = `fc-${prun}-tx${o.txn}`;
            const mine = o.who === m.owner || o.who === 'admin';
            const before = (await t.call(t.admin, 'GET', `${X}/${tid}`)).body;
            const r =
              o.kind === 'txProduce'
                ? await t.call(keyOf[o.who], 'POST', RECORDS, { transactionalId: tid, producerId: m.producerId, producerEpoch: m.producerEpoch, sequence: m.nextSeq, records: [{ value: `fc-${prun}-tx`, partition: 1 }] })
                : await t.call(keyOf[o.who], 'POST', `${X}/${tid}/${o.commit ? 'commit' : 'abort'}`, { producerId: m.producerId, producerEpoch: m.producerEpoch });
            tally(`${o.kind} ${mine ? 'allowed' : 'refused'}`);
            if (!mine) tally('transaction refused');
            if (!mine) {
              assert.ok(r.status === 403 || r.status === 404, `${o.who} ${o.kind} in ${m.owner}'s transaction: ${r.status} ${r.text}`);
              assert.deepEqual(t.ends(), ends);
              const after = (await t.call(t.admin, 'GET', `${X}/${tid}`)).body;
              assert.deepEqual({ ...after, ageMs: 0 }, { ...before, ageMs: 0 }, `${o.who}'s ${o.kind} changed ${m.owner}'s transaction`);
            } else if (o.kind === 'txProduce') {
              assert.equal(r.status, 200, `${o.who} in ${m.owner}'s transaction: ${r.text}`);
              assert.equal(t.ends()[1], ends[1] + 1);
              m.nextSeq++;
              m.open = true;
              m.ended = null;
            } else {
              const ending = o.commit ? 'commit' : 'abort';
              if (m.ended !== null && m.ended !== ending) {
                // the transaction already ended the other way: that ending cannot be taken back
                assert.equal(r.status, 409, `${o.who} ${ending} after ${m.ended}: ${r.text}`);
                assert.equal(r.body.error.code, 'INVALID_TXN_STATE');
              } else {
                assert.equal(r.status, 200, `${o.who} ${ending} of ${m.owner}'s transaction: ${r.text}`);
                if (m.open) m.ended = ending;
                m.open = false;
              }
            }
          } else {
            const s = ds.get(o.who) ?? { epoch: 0, nextSeq: 0 };
            const epoch = o.bump ? s.epoch + 1 : s.epoch;
            const seq = o.bump ? 0 : s.nextSeq;
            const r = await t.call(keyOf[o.who], 'POST', stream, `${o.who}:${epoch}:${seq}|`, { 'content-type': 'text/plain', 'producer-id': 'writer', 'producer-epoch': String(epoch), 'producer-seq': String(seq) });
            // each principal's "writer" is its own: the other's appends never fence it nor take its sequence
            assert.equal(r.status, 200, `${o.who}'s append ${epoch}/${seq}: ${r.status} ${r.text}`);
            ds.set(o.who, { epoch, nextSeq: seq + 1 });
            if (ds.size === 2) tally('dsAppend beside another principal\'s writer');
          }
        }
        // clean up open transactions so that read_committed readers elsewhere are not held
        for (const [n, m] of txns) await t.call(t.admin, 'POST', `${X}/fc-${prun}-tx${n}/abort`, { producerId: m.producerId, producerEpoch: m.producerEpoch });
      }),
      {
        numRuns: 30,
        // one run that presents each kind of id to another principal, besides the random ones
        examples: [
          [
            [
              { kind: 'init', who: 'teamA', name: 0 },
              { kind: 'produce', who: 'teamB', producer: 0 },
              { kind: 'produce', who: 'teamA', producer: 0 },
              { kind: 'init', who: 'intruder', name: 0 },
              { kind: 'produce', who: 'teamA', producer: 0 },
              { kind: 'txInit', who: 'teamA', txn: 0 },
              { kind: 'txInit', who: 'intruder', txn: 0 },
              { kind: 'txProduce', who: 'teamB', txn: 0 },
              { kind: 'txProduce', who: 'teamA', txn: 0 },
              { kind: 'txEnd', who: 'intruder', txn: 0, commit: false },
              { kind: 'txEnd', who: 'teamA', txn: 0, commit: true },
              { kind: 'dsAppend', who: 'teamA', bump: false },
              { kind: 'dsAppend', who: 'teamB', bump: true },
              { kind: 'dsAppend', who: 'teamA', bump: false },
            ],
          ],
        ],
      },
    );
    console.log('producer ownership model:', JSON.stringify(Object.fromEntries(seen)));
    for (const what of ['produce refused', 'produce written', 'txInit refused', 'transaction refused', 'dsAppend beside another principal\'s writer']) {
      assert.ok((seen.get(what) ?? 0) > 0, `no run had "${what}"`);
    }
  } finally {
    await t.call(t.admin, 'DELETE', `/v1/acls/${acl.body.id}`);
  }
});
