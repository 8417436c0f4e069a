/**
 * read_committed against a pure model: random histories of producers that write inside
 * transactions (several open at once on one partition), commit or abort them, interleaved with
 * plain writes, flushes and restarts (clean, or a scan of the log as after a crash), on a real
 * Partition over a real log. After every step, a read_committed scan from every start offset
 * must return exactly the model's committed records below its last stable offset, and never a
 * record of an aborted or open transaction; read_uncommitted returns every data record below the
 * high watermark, and neither ever returns a marker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nodeFileSystem } from '../../src/storage/file-system.js';
import { Partition, type Isolation } from '../../src/partitions/partition.js';
import { logConfig, tempDir } from '../support/log-fixtures.js';

type Op =
  | { kind: 'txn'; producer: number }
  | { kind: 'plain' }
  | { kind: 'commit'; producer: number }
  | { kind: 'abort'; producer: number }
  | { kind: 'flush' }
  | { kind: 'restart'; clean: boolean };

const PRODUCERS = 3;
const producer = fc.integer({ min: 0, max: PRODUCERS - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: producer.map((p) => ({ kind: 'txn' as const, producer: p })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'plain' as const }) },
  { weight: 2, arbitrary: producer.map((p) => ({ kind: 'commit' as const, producer: p })) },
  { weight: 2, arbitrary: producer.map((p) => ({ kind: 'abort' as const, producer: p })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.boolean().map((clean) => ({ kind: 'restart' as const, clean })) },
);

/** The model: every offset's entry, and each producer's open transaction. */
interface Entry {
  value: string | null; // null: a marker
  producer: number | null; // null: not transactional
  txn: number; // which transaction of the producer
}

class Model {
  entries: Entry[] = [];
  open = new Map<number, { txn: number; first: number }>();
  outcome = new Map<string, 'commit' | 'abort'>();
  #txns = 0;
  durable = 0;

  write(value: string, producer: number | null): void {
    let txn = -1;
    if (producer !== null) {
      let o = this.open.get(producer);
      if (o === undefined) this.open.set(producer, (o = { txn: this.#txns++, first: this.entries.length }));
      txn = o.txn;
    }
    this.entries.push({ value, producer, txn });
  }

  end(producer: number, type: 'commit' | 'abort'): boolean {
    const o = this.open.get(producer);
    if (o === undefined) return false;
    this.open.delete(producer);
    this.outcome.set(`${producer}/${o.txn}`, type);
    this.entries.push({ value: null, producer, txn: o.txn });
    return true;
  }

  /** The LSO: the first offset of a transaction not decided below the durable end. */
  lso(): number {
    let lso = this.durable;
    for (const o of this.open.values()) lso = Math.min(lso, o.first);
    for (let i = 0; i < this.durable && i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e.producer === null || e.value === null) continue;
      // a transaction whose marker is at or past the durable end is not decided yet
      const marker = this.entries.findIndex((m, j) => j > i && m.value === null && m.producer === e.producer && m.txn === e.txn);
      if (marker < 0 || marker >= this.durable) lso = Math.min(lso, i);
    }
    return lso;
  }

  expected(from: number, isolation: Isolation): Array<[number, string]> {
    const end = isolation === 'read_committed' ? this.lso() : this.durable;
    const out: Array<[number, string]> = [];
    for (let i = from; i < end; i++) {
      const e = this.entries[i];
      if (e.value === null) continue;
      if (isolation === 'read_committed' && e.producer !== null && this.outcome.get(`${e.producer}/${e.txn}`) !== 'commit') continue;
      out.push([i, e.value]);
    }
    return out;
  }
}

function readFrom(p: Partition, from: number, isolation: Isolation): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  let offset = from;
  for (;;) {
    const r = p.read(offset, { maxRecords: 3, maxBytes: 200, isolation });
    for (const rec of r.records) out.push([rec.offset, rec.value!.toString()]);
    if (r.nextOffset <= offset) return out;
    offset = r.nextOffset;
  }
}

const numRuns = Number(process.env.WEBKA_PROPERTY_RUNS ?? 150);

test('read_committed matches a pure model of the last stable offset and aborted ranges', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
      const { dir, remove } = tempDir();
      const config = logConfig({ segmentBytes: 600 });
      let p = Partition.open(nodeFileSystem, dir, 't', 0, config, { clean: true });
      const model = new Model();
      const producers = Array.from({ length: PRODUCERS }, (_, i) => ({ id: 5000 + i, sequence: 0 }));
      try {
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'txn' || o.kind === 'plain') {
            const value = `v${n++}`;
            const who = o.kind === 'txn' ? producers[o.producer] : undefined;
            p.append([{ key: null, value: Buffer.from(value), headers: [], timestamp: 1 }], { compression: 'none', logAppendTime: false }, who && { producerId: who.id, producerEpoch: 0, sequence: who.sequence++, transactional: true });
            model.write(value, o.kind === 'txn' ? o.producer : null);
          } else if (o.kind === 'commit' || o.kind === 'abort') {
            const wrote = p.writeMarker(producers[o.producer].id, 0, o.kind) >= 0;
            assert.equal(wrote, model.end(o.producer, o.kind), 'a marker is written exactly when a transaction is open');
          } else if (o.kind === 'flush') {
            await p.flush(p.log.nextOffset);
            model.durable = model.entries.length;
          } else {
            await p.flush(p.log.nextOffset);
            model.durable = model.entries.length;
            if (o.clean) {
              await p.close();
            } else {
              await p.log.close(); // no producer-state snapshot: the next open scans the log
            }
            p = Partition.open(nodeFileSystem, dir, 't', 0, config, { clean: o.clean });
            await p.flush(p.log.nextOffset);
          }
          // the high watermark follows fsyncs on their own schedule: take it as the model's durable end
          model.durable = p.log.highWatermark;
          assert.equal(p.lastStableOffset, model.lso(), 'last stable offset');
          assert.ok(p.lastStableOffset <= p.log.highWatermark);
          for (let from = 0; from <= model.durable; from++) {
            assert.deepEqual(readFrom(p, from, 'read_committed'), model.expected(from, 'read_committed'), `read_committed from ${from}`);
          }
          assert.deepEqual(readFrom(p, 0, 'read_uncommitted'), model.expected(0, 'read_uncommitted'), 'read_uncommitted');
        }
      } finally {
        await p.close();
        remove();
      }
    }),
    { numRuns },
  );
});
