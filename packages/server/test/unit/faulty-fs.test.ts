import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FaultyFileSystem } from '../support/faulty-fs.js';

// The crash tests are only as good as this model of a disk: pin what it keeps and what it drops.

const DIR = '/d';
const FILE = '/d/f';

function fresh(random?: () => number): FaultyFileSystem {
  const fs = new FaultyFileSystem(random);
  fs.mkdirp(DIR);
  fs.syncDir('/');
  return fs;
}

function created(fs: FaultyFileSystem, content = ''): number {
  const fd = fs.open(FILE, true);
  fs.syncDir(DIR);
  if (content) fs.write(fd, Buffer.from(content), 0);
  return fd;
}

describe('FaultyFileSystem', () => {
  test('a power cut keeps what was datasynced and drops what was not', async () => {
    const fs = fresh();
    const fd = created(fs, 'durable');
    await fs.datasync(fd);
    fs.write(fd, Buffer.from('+volatile'), 7);
    assert.equal(fs.readFile(FILE).toString(), 'durable+volatile');
    fs.crash('drop');
    assert.equal(fs.readFile(FILE).toString(), 'durable');
  });

  test('a created, renamed or unlinked entry is durable only after syncDir', () => {
    const fs = fresh();
    fs.close(fs.open('/d/a', true));
    fs.crash('drop');
    assert.equal(fs.exists('/d/a'), false, 'creation without syncDir is lost');
    fs.close(fs.open('/d/a', true));
    fs.syncDir(DIR);
    fs.rename('/d/a', '/d/b');
    fs.crash('drop');
    assert.deepEqual(fs.readdir(DIR), ['a'], 'rename without syncDir is undone');
    fs.unlink('/d/a');
    fs.crash('drop');
    assert.deepEqual(fs.readdir(DIR), ['a'], 'unlink without syncDir is undone');
    fs.unlink('/d/a');
    fs.syncDir(DIR);
    fs.crash('drop');
    assert.deepEqual(fs.readdir(DIR), []);
  });

  test('torn: unsynced writes survive in issue order up to a cut, the write at the cut only in part', () => {
    // first draw picks the cut (2 of 3 writes kept whole), the second the torn length (half)
    const draws = [0.5, 0.5];
    const fs = fresh(() => draws.shift() ?? 0);
    const fd = created(fs);
    fs.write(fd, Buffer.from('aaaa'), 0);
    fs.write(fd, Buffer.from('bbbb'), 4);
    fs.write(fd, Buffer.from('cccc'), 8);
    const report = fs.crash('torn');
    assert.equal(report.keptOps, 2);
    assert.equal(fs.readFile(FILE).toString(), 'aaaabbbbcc');
  });

  test('flip changes exactly one bit of the unsynced bytes that survived', async () => {
    const fs = fresh(() => 0.999);
    const fd = created(fs, 'x'.repeat(8));
    await fs.datasync(fd);
    fs.write(fd, Buffer.alloc(8), 8);
    const report = fs.crash('torn', { flip: true });
    const bytes = fs.readFile(FILE);
    assert.ok(report.flipped !== null && report.flipped.position >= 8);
    assert.equal(bytes.subarray(0, 8).toString(), 'x'.repeat(8), 'durable bytes untouched');
    let bits = 0;
    for (const b of bytes.subarray(8)) bits += b.toString(2).split('1').length - 1;
    assert.equal(bits, 1);
  });

  test('an fdatasync still running when the power fails rejects and keeps nothing', async () => {
    const fs = fresh();
    const fd = created(fs, 'never');
    const pending = fs.datasync(fd);
    fs.crash('drop');
    await assert.rejects(pending, /lost power/);
    assert.equal(fs.readFile(FILE).length, 0);
  });

  test('a process crash keeps every write; a later power cut may still take the unsynced ones', () => {
    const fs = fresh();
    created(fs, 'page cache');
    fs.crash('process');
    assert.equal(fs.readFile(FILE).toString(), 'page cache');
    fs.crash('drop');
    assert.equal(fs.readFile(FILE).length, 0);
  });

  test('writeFileAtomic is durable at once, and a failed fsync leaves the old content', () => {
    const fs = fresh();
    fs.writeFileAtomic('/d/point', '1');
    fs.crash('drop');
    assert.equal(fs.readFile('/d/point').toString(), '1');
    fs.failNext({ kind: 'fsync', code: 'EIO' });
    assert.throws(() => fs.writeFileAtomic('/d/point', '2'), /EIO/);
    fs.crash('torn');
    assert.equal(fs.readFile('/d/point').toString(), '1');
  });

  test('injected errors: a write lands in part and throws its code; fsync and syncDir throw theirs', async () => {
    const fs = fresh();
    const fd = created(fs);
    fs.failNext({ kind: 'write', code: 'ENOSPC', partialBytes: 3 });
    assert.throws(() => fs.write(fd, Buffer.from('abcdef'), 0), (err: NodeJS.ErrnoException) => err.code === 'ENOSPC');
    assert.equal(fs.readFile(FILE).toString(), 'abc');
    fs.failNext({ kind: 'fsync', code: 'EIO' });
    await assert.rejects(fs.datasync(fd), (err: NodeJS.ErrnoException) => err.code === 'EIO');
    fs.failNext({ kind: 'syncDir', code: 'EIO' });
    assert.throws(() => fs.syncDir(DIR), /EIO/);
    fs.write(fd, Buffer.from('x'), 3);
    await fs.datasync(fd);
    // faults fire once; what the failed fsync covered is not made durable by the next one (Linux
    // forgets that those pages were dirty): only the later write is
    assert.equal(fs.durableContent(FILE).toString(), '\0\0\0x');
  });

  test('any: each file keeps its own subset of unsynced writes, a later one without an earlier one', () => {
    // share 0.5; per operation: kept when the draw is below the share, then whether it is partial
    const draws = [0.5, /* a: lost */ 0.9, /* b: kept */ 0.1, 0.9, /* c: lost */ 0.7, /* other file: kept */ 0.2, 0.9];
    const fs = fresh(() => draws.shift() ?? 0.99);
    const fd = created(fs);
    fs.write(fd, Buffer.from('aaaa'), 0);
    fs.write(fd, Buffer.from('bbbb'), 4);
    fs.write(fd, Buffer.from('cccc'), 8);
    const other = fs.open('/d/g', true);
    fs.syncDir(DIR);
    fs.write(other, Buffer.from('gggg'), 0);
    const report = fs.crash('any');
    assert.equal(report.keptOps, 2);
    assert.equal(fs.readFile(FILE).toString(), '\0\0\0\0bbbb', 'a hole, then the later write');
    assert.equal(fs.readFile('/d/g').toString(), 'gggg');
  });

  test('any: a rename survives only once its directory is fsynced', () => {
    const fs = fresh(() => 0);
    fs.writeFileAtomic('/d/x', 'one');
    fs.close(fs.open('/d/y', true));
    fs.rename('/d/y', '/d/z');
    fs.crash('any');
    assert.deepEqual(fs.readdir(DIR), ['x']);
  });

  test('a session handle dies with the power: its calls fail, the next session works', async () => {
    const fs = fresh();
    const first = fs.session();
    const fd = first.open(FILE, true);
    fs.crash('drop');
    assert.throws(() => first.open(FILE, true), /lost power/);
    await assert.rejects(first.datasync(fd), /lost power/);
    const second = fs.session();
    second.close(second.open('/d/next', true));
  });

  test('sabotage: skipSync answers fdatasync without syncing; ackBeforeSync syncs only turns later', async () => {
    for (const sabotage of [{ skipSync: () => true }, { ackBeforeSync: true }]) {
      const fs = fresh();
      fs.sabotage = sabotage;
      const fd = created(fs, 'acked');
      await fs.datasync(fd);
      fs.crash('drop');
      assert.equal(fs.readFile(FILE).length, 0, JSON.stringify(Object.keys(sabotage)));
    }
  });
});
