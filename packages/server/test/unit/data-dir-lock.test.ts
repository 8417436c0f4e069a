import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireLock } from '../../src/storage/data-dir-lock.js';
import { nodeFileSystem } from '../../src/storage/file-system.js';
import { Broker, type BrokerOptions } from '../../src/broker.js';
import { FaultyFileSystem } from '../support/faulty-fs.js';

const CONTENDER = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/lock-contender.ts');
const linux = fs.existsSync('/proc/sys/kernel/random/boot_id');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'webka-lock-'));
}

function startTimeOf(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** A process that stays alive until killed, standing for another broker. */
function otherProcess(): { pid: number; kill(): void } {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  return { pid: child.pid as number, kill: () => child.kill('SIGKILL') };
}

test('a lock whose owner runs is refused; its release lets the next broker in', (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const other = otherProcess();
  t.after(() => other.kill());
  const owner = { pid: other.pid, bootId: linux ? fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : null, startTime: linux ? startTimeOf(other.pid) : null };
  fs.writeFileSync(path.join(dir, '.lock'), JSON.stringify(owner));
  assert.throws(() => acquireLock(nodeFileSystem, dir), new RegExp(`in use by process ${other.pid}`));
  fs.rmSync(path.join(dir, '.lock'));
  const lock = acquireLock(nodeFileSystem, dir);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, '.lock'), 'utf8')).pid, process.pid);
  lock.release();
  assert.equal(fs.existsSync(path.join(dir, '.lock')), false);
});

test('a stale lock is taken over: its pid runs another process after a reboot, or after re-use, or runs nothing', { skip: linux ? false : 'needs /proc (Linux)' }, (t) => {
  const other = otherProcess();
  t.after(() => other.kill());
  const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const stale = {
    'written during another boot by a pid that now runs something else': JSON.stringify({ pid: other.pid, bootId: '00000000-0000-4000-8000-000000000000', startTime: startTimeOf(other.pid) }),
    'a pid re-used within this boot (another start time)': JSON.stringify({ pid: other.pid, bootId, startTime: String(Number(startTimeOf(other.pid)) + 1) }),
    'a pid that runs nothing': JSON.stringify({ pid: 2 ** 22 + 17, bootId, startTime: '1' }),
    'an older broker\'s lock holding a pid alone, that runs nothing': String(2 ** 22 + 17),
  };
  for (const [what, content] of Object.entries(stale)) {
    const dir = tempDir();
    try {
      fs.writeFileSync(path.join(dir, '.lock'), content);
      const lock = acquireLock(nodeFileSystem, dir);
      assert.equal(JSON.parse(fs.readFileSync(path.join(dir, '.lock'), 'utf8')).pid, process.pid, what);
      assert.deepEqual(fs.readdirSync(dir), ['.lock'], `${what}: nothing left beside the lock`);
      lock.release();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('of brokers started together on one directory exactly one takes the lock, with or without a stale lock there', async (t) => {
  const rounds = 24;
  const contenders = 3;
  const root = tempDir();
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const dirs = Array.from({ length: rounds }, (_, i) => {
    const dir = path.join(root, `d${i}`);
    fs.mkdirSync(dir);
    // every other round races for a stale lock, which all of them try to take over at once
    if (i % 2 === 1) fs.writeFileSync(path.join(dir, '.lock'), JSON.stringify({ pid: 2 ** 22 + 17, bootId: 'another boot', startTime: '1' }));
    return dir;
  });
  // each round starts at the same wall-clock instant in every contender, once all have loaded
  const children = Array.from({ length: contenders }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CONTENDER, '40', ...dirs], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const ready = new Promise<void>((resolve) =>
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.startsWith('ready\n')) resolve();
      }),
    );
    // done at `end`: the contenders are stopped only once all are, so every lock won stays live
    const done = new Promise<string>((resolve, reject) => {
      child.stdout.on('data', () => out.endsWith('end\n') && resolve(out.slice('ready\n'.length, -'end\n'.length)));
      child.on('exit', (code) => reject(new Error(`contender exited ${code} before its last round: ${out}`)));
    });
    return { child, ready, done };
  });
  t.after(() => {
    for (const c of children) c.child.kill('SIGKILL');
  });
  await Promise.all(children.map((c) => c.ready));
  const startAt = Date.now() + 100;
  for (const c of children) c.child.stdin.end(String(startAt));
  const outputs = await Promise.all(children.map((c) => c.done));
  const winners = new Array<number>(rounds).fill(0);
  for (const out of outputs) {
    for (const line of out.trim().split('\n')) {
      const [round, outcome] = line.split(' ');
      assert.ok(outcome === 'won' || outcome === 'lost', line);
      if (outcome === 'won') winners[Number(round)]++;
    }
  }
  assert.deepEqual(winners, new Array<number>(rounds).fill(1), 'winners per round');
});

test('a new data directory survives a power cut: each directory created is made durable in its parent', async () => {
  const disk = new FaultyFileSystem();
  const options: BrokerOptions = { dataDir: '/srv/webka/data', fs: disk, flushIntervalMs: 0, checkpointIntervalMs: 0, retentionCheckIntervalMs: 0, maxPartitionsPerTopic: 10, maxBatchBytes: 1 << 20 };
  const broker = Broker.open(options);
  broker.createTopic('default', { name: 'orders', partitions: 1 });
  const [produced] = await broker.produce('default', 'orders', [{ key: null, value: Buffer.from('kept'), headers: [] }], { acks: 'all' });
  disk.crash('drop');
  const after = Broker.open(options);
  await after.ready();
  const { records } = await after.fetch('default', 'orders', 0, { offset: produced.offset, maxRecords: 10, maxBytes: 1 << 20, maxWaitMs: 0 });
  assert.deepEqual(records.map((r) => r.value?.toString()), ['kept']);
  await after.close();
});
