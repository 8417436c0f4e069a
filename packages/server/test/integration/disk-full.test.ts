/**
 * A full disk: the data directory is a small tmpfs. Produce until the disk refuses a write; the
 * refused requests fail clearly (507 STORAGE_ERROR), change nothing, lose nothing acknowledged,
 * and producing works again once space returns (a topic deleted, or the file system grown).
 * Needs root to mount; skipped, saying so, where mounting is not allowed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { startBroker, tempDir, type TestBroker } from '../support/start-broker.js';
import { rest, assertError, highWatermarks, type Rest } from '../support/rest.js';

const T = '/v1/clusters/default/topics';
const VALUE = 'v'.repeat(8 * 1024);

interface Acked {
  partition: number;
  offset: number;
  id: string;
}

/**
 * Produces 4-record requests of 8 KiB values until one is refused, then single small records
 * until those are refused too, so that the disk is full to the last few hundred bytes. Returns
 * the first refusal; what was acknowledged is added to acked.
 */
async function fillUp(api: Rest, topic: string, tag: string, acked: Acked[]): Promise<{ status: number; body: any }> {
  const first = await produceUntilRefused(api, topic, `${tag}-big`, 4, VALUE, acked);
  for (const size of [2048, 256, 16]) await produceUntilRefused(api, topic, `${tag}-${size}`, 1, 'v'.repeat(size), acked);
  return first;
}

async function produceUntilRefused(api: Rest, topic: string, tag: string, count: number, pad: string, acked: Acked[]): Promise<{ status: number; body: any }> {
  for (let i = 0; i < 1000; i++) {
    const partition = i % 2;
    const ids = Array.from({ length: count }, (_, j) => `${tag}-${i}-${j}`);
    const r = await api.post(`${T}/${topic}/records`, { records: ids.map((id) => ({ key: id, value: { id, pad }, partition })) });
    if (r.status !== 200) {
      assert.equal(r.status, 507, r.text);
      return r;
    }
    r.body.records.forEach((x: any, j: number) => acked.push({ partition: x.partition, offset: x.offset, id: ids[j] }));
  }
  throw new Error('the disk never filled up');
}

async function assertAllThere(api: Rest, topic: string, acked: Acked[]): Promise<void> {
  for (const partition of [0, 1]) {
    const mine = acked.filter((a) => a.partition === partition);
    let offset = 0;
    const got: Array<{ offset: number; id: string }> = [];
    for (;;) {
      const f = await api.get(`${T}/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=10000&maxBytes=16000000`);
      assert.equal(f.status, 200, f.text);
      for (const r of f.body.records) got.push({ offset: r.offset, id: r.value.id });
      if (f.body.nextOffset >= f.body.highWatermark) break;
      offset = f.body.nextOffset;
    }
    assert.deepEqual(got, mine.map((a) => ({ offset: a.offset, id: a.id })), `partition ${partition} differs from what was acknowledged`);
  }
}

test('a full disk fails produce with 507 STORAGE_ERROR, loses nothing acknowledged, and recovers when space returns', async (t) => {
  const mnt = tempDir('webka-diskfull-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (err) {
    fs.rmSync(mnt, { recursive: true, force: true });
    t.skip(`cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`);
    return;
  }
  let broker: TestBroker | undefined;
  try {
    broker = await startBroker({ dataDir: mnt });
    let api = rest(broker.url);
    assert.equal((await api.post(T, { name: 'ballast', configs: { 'segment.bytes': 256 * 1024 } })).status, 201);
    assert.equal((await api.post(T, { name: 'fill', partitions: 2, configs: { 'segment.bytes': 256 * 1024 } })).status, 201);
    for (let i = 0; i < 16; i++) {
      const r = await api.post(`${T}/ballast/records`, { records: Array.from({ length: 8 }, () => ({ value: VALUE })) });
      assert.equal(r.status, 200, r.text);
    }

    const acked: Acked[] = [];
    const refusal = await fillUp(api, 'fill', 'a', acked);
    assert.ok(acked.length > 0);
    assert.equal(refusal.status, 507, JSON.stringify(refusal.body));
    assert.equal(refusal.body.error.code, 'STORAGE_ERROR');
    assert.match(refusal.body.error.message, /ENOSPC|space/i);

    // further requests fail the same way and change nothing
    const hw = await highWatermarks(api, 'default', 'fill');
    for (let i = 0; i < 5; i++) {
      assertError(await api.post(`${T}/fill/records`, { records: [{ value: { pad: VALUE }, partition: i % 2 }] }), 507, 'STORAGE_ERROR');
    }
    // concurrent ones too: they are written in groups (one write per partition per turn), and a
    // group that does not fit fails every request in it
    const together = await Promise.all(Array.from({ length: 20 }, (_, i) => api.post(`${T}/fill/records`, { records: [{ value: { pad: VALUE }, partition: i % 2 }] })));
    for (const r of together) assertError(r, 507, 'STORAGE_ERROR');
    assert.deepEqual(await highWatermarks(api, 'default', 'fill'), hw);
    assert.deepEqual(hw, [acked.filter((a) => a.partition === 0).length, acked.filter((a) => a.partition === 1).length]);
    assert.equal((await api.get('/health')).status, 200);
    await assertAllThere(api, 'fill', acked);
    // the catalog cannot be written either: a clear 507, and no topic half made
    assertError(await api.post(T, { name: 'no-room', partitions: 2 }), 507, 'STORAGE_ERROR');
    assertError(await api.get(`${T}/no-room`), 404, 'TOPIC_NOT_FOUND');

    // space returns: a topic is deleted
    const del = await api.del(`${T}/ballast`);
    assert.equal(del.status, 204, del.text);
    const more = await api.post(`${T}/fill/records`, { records: [{ key: 'b', value: { id: 'after-delete', pad: 'x' }, partition: 0 }] });
    assert.equal(more.status, 200, more.text);
    acked.push({ partition: 0, offset: more.body.records[0].offset, id: 'after-delete' });
    const burst = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const id = `burst-${i}`;
        const r = await api.post(`${T}/fill/records`, { records: [{ key: id, value: { id, pad: 'x' }, partition: i % 2 }] });
        assert.equal(r.status, 200, r.text);
        return { partition: r.body.records[0].partition, offset: r.body.records[0].offset, id };
      }),
    );
    acked.push(...burst.sort((a, b) => a.offset - b.offset));
    await assertAllThere(api, 'fill', acked);

    // full again; then the file system grows
    const second = await fillUp(api, 'fill', 'b', acked);
    assert.equal(second.status, 507, JSON.stringify(second.body));
    execFileSync('mount', ['-o', 'remount,size=8m', mnt], { stdio: 'pipe' });
    const grown = await api.post(`${T}/fill/records`, { records: [{ key: 'c', value: { id: 'after-grow', pad: 'x' }, partition: 1 }] });
    assert.equal(grown.status, 200, grown.text);
    acked.push({ partition: 1, offset: grown.body.records[0].offset, id: 'after-grow' });

    // and everything acknowledged is still there after a restart
    broker = await broker.restart();
    api = rest(broker.url);
    await assertAllThere(api, 'fill', acked);
    console.log(`disk full: ${acked.length} records acknowledged on a 4 MiB tmpfs`);
  } finally {
    await broker?.close().catch(() => undefined);
    execFileSync('umount', [mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  }
});
