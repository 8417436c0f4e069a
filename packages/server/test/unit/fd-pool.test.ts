/**
 * The fd pool (storage/fd-pool.ts) closes idle, synced segment files past its capacity and
 * reopens them on use, and never closes a descriptor under a call that uses it: an fdatasync
 * runs on libuv's thread pool while other files are opened, evicted and read, and a segment may
 * be deleted meanwhile. A checking file system (real files underneath) records any call on a
 * descriptor that is not open, or whose fsync is cut short by its close; reads check contents,
 * so a descriptor reused for another file would show. The negative control shows the checker
 * catching a close under an fsync when no pin protects it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nodeFileSystem, type FileSystem } from '../../src/storage/file-system.js';
import { FdPool, SegmentFile } from '../../src/storage/fd-pool.js';

const turns = (n: number): Promise<void> => new Promise((resolve) => {
  const step = (left: number): void => void (left === 0 ? resolve() : setImmediate(() => step(left - 1)));
  step(n);
});

/** nodeFileSystem whose fdatasync takes a few turns, recording every use of a descriptor that is not open. */
function checkingFs(): { fs: FileSystem; violations: string[]; open: Map<number, string> } {
  const open = new Map<number, string>();
  const violations: string[] = [];
  const check = (fd: number, what: string): void => {
    if (!open.has(fd)) violations.push(`${what} on fd ${fd}, which is not open`);
  };
  const wrapped: FileSystem = {
    ...nodeFileSystem,
    open(file, create) {
      const fd = nodeFileSystem.open(file, create);
      open.set(fd, file);
      return fd;
    },
    close(fd) {
      check(fd, 'close');
      open.delete(fd);
      nodeFileSystem.close(fd);
    },
    size(fd) {
      check(fd, 'size');
      return nodeFileSystem.size(fd);
    },
    read(fd, buf, offset, length, position) {
      check(fd, 'read');
      return nodeFileSystem.read(fd, buf, offset, length, position);
    },
    write(fd, buf, position) {
      check(fd, 'write');
      nodeFileSystem.write(fd, buf, position);
    },
    truncate(fd, size) {
      check(fd, 'truncate');
      nodeFileSystem.truncate(fd, size);
    },
    async datasync(fd) {
      check(fd, 'fdatasync start');
      const file = open.get(fd);
      await turns(1 + Math.floor(Math.random() * 4));
      // the descriptor must still be the same file's when the thread pool's fdatasync runs
      if (open.get(fd) !== file) violations.push(`fd ${fd} of ${file} was closed during its fdatasync`);
      else await nodeFileSystem.datasync(fd);
    },
  };
  return { fs: wrapped, violations, open };
}

test('random reads, writes, fsyncs and deletes over a pool of 2 never use a closed descriptor, and the pool shrinks back to its capacity', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-fdpool-'));
  const { fs: checked, violations, open } = checkingFs();
  try {
    const pool = new FdPool(2);
    const content = (i: number, v: number): Buffer => Buffer.from(`file ${i} version ${v}`.padEnd(64, '.'));
    const files: Array<{ f: SegmentFile; v: number; deleted: boolean }> = [];
    for (let i = 0; i < 12; i++) {
      const f = SegmentFile.open(checked, pool, path.join(dir, `${i}.log`), true);
      f.write(content(i, 0), 0);
      files.push({ f, v: 0, deleted: false });
    }
    await Promise.all(files.map(({ f }) => f.datasync()));
    assert.ok(pool.openCount <= 2, `synced and idle: ${pool.openCount} open`);
    const inFlight: Array<Promise<void>> = [];
    for (let step = 0; step < 600; step++) {
      const i = Math.floor(Math.random() * files.length);
      const file = files[i];
      if (file.deleted) continue;
      const op = Math.random();
      if (op < 0.5) {
        const buf = Buffer.alloc(64);
        assert.equal(file.f.read(buf, 0, 64, 0), 64);
        assert.deepEqual(buf, content(i, file.v), `file ${i} reads its own bytes`);
      } else if (op < 0.65) {
        file.v++;
        file.f.write(content(i, file.v), 0);
      } else if (op < 0.97) {
        inFlight.push(file.f.datasync());
      } else {
        // a segment deleted (retention) while its fsync may be running
        file.f.close();
        file.deleted = true;
      }
      if (step % 7 === 0) await turns(1);
    }
    await Promise.all(inFlight);
    await Promise.all(files.filter((x) => !x.deleted).map(({ f }) => f.datasync()));
    assert.deepEqual(violations, []);
    assert.ok(pool.openCount <= 2, `all synced and idle again: ${pool.openCount} pooled files open`);
    assert.ok(open.size <= 2, `${open.size} descriptors open`);
    for (const x of files) if (!x.deleted) x.f.close();
    assert.equal(open.size, 0, 'closing every file closes every descriptor');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a file with writes not yet fsynced keeps its descriptor past the capacity until its fsync; a resident file is never closed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-fdpool-'));
  const { fs: checked, violations } = checkingFs();
  try {
    const pool = new FdPool(1);
    const active = SegmentFile.open(checked, pool, path.join(dir, 'active.log'), true);
    active.setResident(true);
    const dirty = SegmentFile.open(checked, pool, path.join(dir, 'dirty.log'), true);
    dirty.write(Buffer.from('unsynced'), 0);
    const other = SegmentFile.open(checked, pool, path.join(dir, 'other.log'), true);
    other.size();
    assert.equal(dirty.isOpen, true, 'not closed while its write is unsynced');
    assert.equal(active.isOpen, true);
    await dirty.datasync();
    other.size();
    assert.equal(dirty.isOpen, false, 'closed once synced and idle');
    assert.equal(active.isOpen, true, 'the resident file stays open');
    assert.equal(pool.openCount, 1);
    // no longer resident (the segment rolled): it joins the pool and may be closed
    active.setResident(false);
    assert.equal(pool.openCount, 1);
    assert.deepEqual(violations, []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('negative control: the checker catches a descriptor closed under its fdatasync', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-fdpool-'));
  const { fs: checked, violations } = checkingFs();
  try {
    const fd = checked.open(path.join(dir, 'x.log'), true);
    const sync = checked.datasync(fd);
    checked.close(fd);
    await sync;
    assert.equal(violations.length, 1, violations.join('; '));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
