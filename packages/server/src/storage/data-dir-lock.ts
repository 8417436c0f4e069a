/**
 * One broker per data directory: a `.lock` file that names its owner.
 *
 * The lock is taken by creating the file exclusively (it appears whole, or not at all, and the
 * create fails when the name is taken): of two brokers started together, exactly one creates it.
 * The file holds one line of JSON:
 *
 *   {"pid":1234,"bootId":"<kernel boot id>","startTime":"<process start, clock ticks since boot>"}
 *
 * A lock is stale, and may be taken over, when its owner no longer runs: it was written during
 * another boot (pids are re-used after a reboot, so a live process with that pid proves nothing),
 * or no process has its pid, or the process with its pid started at another time (a pid re-used
 * within the same boot). Where the kernel does not tell boot id and start time (not Linux), only
 * the pid is checked.
 *
 * Taking over a stale lock needs `.lock.takeover`, created exclusively the same way: its holder
 * reads the lock again, deletes it only if it is still the stale lock it judged, and then creates
 * the lock exclusively as at first. The lock is thus deleted only by its owner or by the one
 * taker-over, never after a contender has replaced it (moving it aside to look at it, as this
 * once did, could put a live lock back over a newer one and leave two brokers each holding it);
 * brokers that start together still meet at the exclusive create, and only one wins. A takeover
 * file whose writer no longer runs (it died mid-takeover) is removed like a stale lock.
 */
import nodeFs from 'node:fs';
import path from 'node:path';
import type { FileSystem } from './file-system.js';

export interface DataDirLock {
  release(): void;
}

interface Owner {
  pid: number;
  bootId: string | null;
  startTime: string | null;
}

function readProc(file: string): string | null {
  try {
    return nodeFs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

const bootId = (): string | null => readProc('/proc/sys/kernel/random/boot_id')?.trim() || null;

/** Field 22 of /proc/<pid>/stat: when the process started (after the command name, which may hold spaces). */
function startTime(pid: number): string | null {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === null) return null;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

/** Whether process `pid` is alive (signal 0 only checks; EPERM means it is, owned by another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseOwner(text: string): Owner | null {
  const t = text.trim();
  // a lock left by a broker before owners were described in JSON holds the pid alone
  if (/^\d+$/.test(t)) return { pid: Number(t), bootId: null, startTime: null };
  try {
    const o = JSON.parse(t) as Partial<Owner>;
    if (!Number.isSafeInteger(o.pid) || (o.pid as number) <= 0) return null;
    return { pid: o.pid as number, bootId: typeof o.bootId === 'string' ? o.bootId : null, startTime: typeof o.startTime === 'string' ? o.startTime : null };
  } catch {
    return null;
  }
}

/** True while the process that wrote owner may still run. */
function running(owner: Owner): boolean {
  const boot = bootId();
  if (owner.bootId !== null && boot !== null && owner.bootId !== boot) return false;
  if (!alive(owner.pid)) return false;
  const started = startTime(owner.pid);
  return owner.startTime === null || started === null || owner.startTime === started;
}

const isCode = (err: unknown, code: string): boolean => (err as NodeJS.ErrnoException).code === code;

export function acquireLock(fs: FileSystem, dataDir: string): DataDirLock {
  const file = path.join(dataDir, '.lock');
  const takeover = `${file}.takeover`;
  const self = JSON.stringify({ pid: process.pid, bootId: bootId(), startTime: startTime(process.pid) });
  const inUse = (owner: Owner | null): Error =>
    new Error(`the data directory ${dataDir} is in use by ${owner === null ? 'another broker' : `process ${owner.pid}`}; stop it or choose another --data-dir`);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(fs, file, self)) return lockHeld(fs, file, self);
    const text = readOrNull(fs, file);
    if (text === null) continue; // released meanwhile
    const owner = parseOwner(text);
    // A lock with unreadable content is someone's (an exclusive create never shows a partial
    // file). One of this process's own is stale: a broker in this process was abandoned (tests
    // that simulate a power cut do that) or its pid was this one's in an earlier life.
    if (owner === null || (owner.pid !== process.pid && running(owner))) throw inUse(owner);
    if (!createExclusive(fs, takeover, self)) {
      const taker = readOrNull(fs, takeover);
      if (taker === null) continue; // that takeover just ended
      const takerOwner = parseOwner(taker);
      // another broker is taking the stale lock over right now: it, or a later start, wins
      if (takerOwner !== null && takerOwner.pid !== process.pid && running(takerOwner)) throw inUse(takerOwner);
      // Its writer died mid-takeover, or it is this process's own from before a power cut (its
      // removal had not reached the disk), as with the lock itself.
      removeIfUnchanged(fs, takeover, taker);
      continue;
    }
    try {
      // Only the holder of the takeover file deletes a lock it did not write, and only the stale
      // one it judged: a lock a contender created meanwhile is left alone.
      if (readOrNull(fs, file) !== text) continue;
      fs.unlink(file);
      if (createExclusive(fs, file, self)) return lockHeld(fs, file, self);
    } finally {
      removeIfUnchanged(fs, takeover, self);
    }
  }
  throw inUse(null);
}

/** Creates file holding data unless the name is taken (false then). */
function createExclusive(fs: FileSystem, file: string, data: string): boolean {
  try {
    fs.writeFileExclusive(file, data);
    return true;
  } catch (err) {
    if (isCode(err, 'EEXIST')) return false;
    throw err;
  }
}

function readOrNull(fs: FileSystem, file: string): string | null {
  try {
    return fs.readFile(file).toString('utf8');
  } catch (err) {
    if (isCode(err, 'ENOENT')) return null;
    throw err;
  }
}

function removeIfUnchanged(fs: FileSystem, file: string, text: string): void {
  try {
    if (fs.readFile(file).toString('utf8') === text) fs.unlink(file);
  } catch (err) {
    if (!isCode(err, 'ENOENT')) throw err;
  }
}

function lockHeld(fs: FileSystem, file: string, self: string): DataDirLock {
  return {
    release() {
      try {
        // only our own lock: after a takeover by force, the file may be another broker's
        if (fs.readFile(file).toString('utf8') === self) fs.unlink(file);
      } catch {
        // already gone
      }
    },
  };
}
