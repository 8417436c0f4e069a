/**
 * Pipelined idempotent requests that fail together give their sequences back in any order: the
 * producer's last sequence falls back below all of them, so a later request cannot skip one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Partition } from '../../src/partitions/partition.js';
import { ProducePath, type ProduceInput } from '../../src/partitions/produce-path.js';
import { WebkaError } from '../../src/errors.js';
import { FaultyFileSystem } from '../support/faulty-fs.js';
import { logConfig } from '../support/log-fixtures.js';

const settings = { maxRecordBytes: 1 << 20, compression: 'none' as const, logAppendTime: false };
const input = (text: string): ProduceInput[] => [{ key: null, value: Buffer.from(text), headers: [] }];
const isCode = (code: string) => (e: unknown) => e instanceof WebkaError && e.code === code;

test('sequences 1 and 2 failing in one group write leave the next expected sequence at 1, not 2', async () => {
  const fsys = new FaultyFileSystem();
  fsys.mkdirp('/data');
  const p = Partition.open(fsys, '/data/t-0', 't', 0, logConfig(), { clean: true });
  const path = new ProducePath({ checkEpoch: () => undefined });
  const target = { id: 't', name: 't', partitions: [p], sticky: 0 };
  const producer = (sequence: number) => ({ producerId: 7, producerEpoch: 0, sequence });
  await path.produce(target, settings, input('s0'), { acks: 'all', producer: producer(0) });

  // both requests join one turn's group write, which the disk refuses
  fsys.failNext({ kind: 'write', code: 'ENOSPC', partialBytes: 0 });
  const one = path.produce(target, settings, input('s1'), { acks: 'all', producer: producer(1) });
  const two = path.produce(target, settings, input('s2'), { acks: 'all', producer: producer(2) });
  const settled = await Promise.all([one.catch((e) => e), two.catch((e) => e)]);
  for (const e of settled) assert.ok(isCode('STORAGE_ERROR')(e), String(e));

  await assert.rejects(path.produce(target, settings, input('s2'), { acks: 'all', producer: producer(2) }), isCode('OUT_OF_ORDER_SEQUENCE'), 'sequence 2 cannot be accepted while 1 is missing');
  assert.equal((await path.produce(target, settings, input('s1'), { acks: 'all', producer: producer(1) }))[0].offset, 1);
  assert.equal((await path.produce(target, settings, input('s2'), { acks: 'all', producer: producer(2) }))[0].offset, 2);
  await p.close();
});
