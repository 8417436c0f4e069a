/**
 * An in-memory FileSystem that remembers what a power cut would keep, for crash and fault tests.
 *
 * Every file (an inode, so that a rename keeps its content) holds
 *   durable   the bytes that the last fsync/fdatasync made durable
 *   pending   the writes and truncations since then, in order, each with a global sequence number
 * and a directory entry (create, rename, unlink, mkdir) is durable only once its directory is
 * synced with syncDir. `crash()` returns the state after a power cut:
 *
 *   'drop'  every unsynced write is lost: each file is back to its durable bytes
 *   'torn'  the unsynced writes of all files, taken in the order they were issued, survive up to a
 *           random cut; the write at the cut survives only up to a random byte (the page cache
 *           wrote back in order and the power failed in the middle of one write)
 *   'any'   any subset of the unsynced writes and truncations that the kernel could keep: each
 *           file on its own (files are independent), each operation kept or lost at random (a
 *           later write may survive while an earlier one is lost, leaving a hole of old bytes or
 *           zeros), a kept write possibly only in part (its first bytes: pages written back)
 *   'process' only the process dies (kill -9): the kernel keeps every write, synced or not, and
 *           every directory entry; a power cut may still take the unsynced ones later
 *   flip    (with 'drop', 'torn' or 'any') one random bit of the unsynced bytes that survived is
 *           flipped
 * In every mode a directory entry (create, rename, unlink, mkdir) survives only once its
 * directory was fsynced (syncDir), and only when every directory above it survives too.
 *
 * An fdatasync completes on a later turn of the event loop (as on libuv's thread pool): a crash
 * before then rejects it and keeps nothing of it. `failNext()` injects an error (ENOSPC, EIO) into
 * the next write, fsync, directory fsync or file creation; a failed write may leave part of its
 * bytes behind, as a full disk does. A failed fsync is what Linux makes of one: the writes it
 * covered may never reach the disk, and a later fsync that succeeds does not make them durable
 * (the kernel forgot they were dirty): until then a power cut keeps any subset of them, after it
 * none.
 *
 * `session()` gives the broker its handle on the disk for one life: after the next crash every
 * call through it fails (the process died with the machine), so an abandoned broker's timers
 * and pending continuations cannot write into the next life's files.
 *
 * Negative controls (`sabotage`): a disk that answers fdatasync without doing it, for the files
 * that a predicate picks (`skipSync`), or that answers it at once and does it a few turns later
 * (`ackBeforeSync`): a power cut in between takes what was already acknowledged.
 */
import path from 'node:path';
import type { FileSystem } from '../../src/storage/file-system.js';

/** `doomed`: covered by an fsync that failed; no later fsync makes it durable. */
type Op = ({ seq: number; kind: 'write'; position: number; data: Buffer } | { seq: number; kind: 'truncate'; size: number }) & { doomed?: boolean };

class Inode {
  durable: Buffer = Buffer.alloc(0);
  content: Buffer = Buffer.alloc(0);
  pending: Op[] = [];
}

export type CrashMode = 'drop' | 'torn' | 'any' | 'process';

/** Deliberately broken fsync, for negative controls (see the file comment). */
export interface Sabotage {
  /** fdatasync (and the fsync inside writeFileAtomic) of these files answers without syncing. */
  skipSync?: (file: string) => boolean;
  /** fdatasync answers at once and syncs a few turns of the event loop later. */
  ackBeforeSync?: boolean;
}
/** fsync: fdatasync (and the fsync inside writeFileAtomic); syncDir: a directory fsync; create: opening a new file. */
export type FaultKind = 'write' | 'fsync' | 'syncDir' | 'create';

export interface Fault {
  kind: FaultKind;
  code: 'ENOSPC' | 'EIO';
  /** Only operations on files for which this returns true fail (default: any file). */
  match?: (file: string) => boolean;
  /** For a write: how many bytes land before the error (default: half of them). */
  partialBytes?: number;
}

export interface CrashReport {
  mode: CrashMode;
  pendingOps: number;
  keptOps: number;
  tornBytes: number | null;
  flipped: { file: string; position: number; bit: number } | null;
}

/** A small seeded generator (mulberry32), so that a property test's seed replays its crashes too. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fsError(code: string, what: string): Error {
  return Object.assign(new Error(`${code}: ${what}`), { code });
}

function apply(buf: Buffer, op: Op, limit = Infinity): Buffer {
  if (op.kind === 'truncate') {
    if (op.size <= buf.length) return Buffer.from(buf.subarray(0, op.size));
    return Buffer.concat([buf, Buffer.alloc(op.size - buf.length)]);
  }
  const data = limit < op.data.length ? op.data.subarray(0, limit) : op.data;
  const end = op.position + data.length;
  const out = end > buf.length ? Buffer.concat([buf, Buffer.alloc(end - buf.length)]) : Buffer.from(buf);
  data.copy(out, op.position);
  return out;
}

export class FaultyFileSystem implements FileSystem {
  #names = new Map<string, Inode>();
  #durableNames = new Map<string, Inode>();
  #dirs = new Set<string>(['/']);
  #durableDirs = new Set<string>(['/']);
  #handles = new Map<number, { inode: Inode; file: string }>();
  #nextFd = 3;
  #seq = 0;
  #generation = 0;
  #faults: Fault[] = [];
  /** fdatasync calls (including the fsync inside writeFileAtomic). */
  datasyncCalls = 0;
  /** Negative controls: fsync made to lie (see the file comment). Empty: an honest disk. */
  sabotage: Sabotage = {};
  readonly random: () => number;

  constructor(random: () => number = Math.random) {
    this.random = random;
  }

  /** Makes the next matching write or fsync fail with code. */
  failNext(fault: Fault): void {
    this.#faults.push(fault);
  }

  /** Forgets every injected fault that has not fired yet. */
  clearFaults(): void {
    this.#faults = [];
  }

  #takeFault(kind: FaultKind, file: string): Fault | undefined {
    const i = this.#faults.findIndex((f) => f.kind === kind && (f.match === undefined || f.match(file)));
    return i < 0 ? undefined : this.#faults.splice(i, 1)[0];
  }

  #handle(fd: number): { inode: Inode; file: string } {
    const h = this.#handles.get(fd);
    if (h === undefined) throw fsError('EBADF', `bad file descriptor ${fd}`);
    return h;
  }

  #record(inode: Inode, op: Op): void {
    inode.pending.push(op);
    inode.content = apply(inode.content, op);
  }

  #requireDir(dir: string): void {
    if (!this.#dirs.has(dir)) throw fsError('ENOENT', `no such directory ${dir}`);
  }

  open(file: string, create: boolean): number {
    let inode = this.#names.get(file);
    if (inode === undefined) {
      if (!create) throw fsError('ENOENT', `no such file ${file}`);
      this.#requireDir(path.dirname(file));
      const fault = this.#takeFault('create', file);
      if (fault !== undefined) throw fsError(fault.code, `cannot create ${file}`);
      inode = new Inode();
      this.#names.set(file, inode);
    }
    const fd = this.#nextFd++;
    this.#handles.set(fd, { inode, file });
    return fd;
  }

  close(fd: number): void {
    this.#handle(fd);
    this.#handles.delete(fd);
  }

  size(fd: number): number {
    return this.#handle(fd).inode.content.length;
  }

  write(fd: number, buf: Uint8Array, position: number): void {
    const { inode, file } = this.#handle(fd);
    const data = Buffer.from(buf);
    const fault = this.#takeFault('write', file);
    if (fault !== undefined) {
      const partial = Math.min(fault.partialBytes ?? data.length >> 1, data.length);
      if (partial > 0) this.#record(inode, { seq: this.#seq++, kind: 'write', position, data: data.subarray(0, partial) });
      throw fsError(fault.code, `write to ${file} failed after ${partial} bytes`);
    }
    this.#record(inode, { seq: this.#seq++, kind: 'write', position, data });
  }

  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    const { content } = this.#handle(fd).inode;
    const n = Math.max(0, Math.min(length, content.length - position));
    if (n > 0) content.copy(buf, offset, position, position + n);
    return n;
  }

  truncate(fd: number, size: number): void {
    this.#record(this.#handle(fd).inode, { seq: this.#seq++, kind: 'truncate', size });
  }

  /** The sabotaged fsync: three turns of the event loop from now, unless the power fails first. */
  #syncLater(inode: Inode, count: number): void {
    const generation = this.#generation;
    const later = (n: number): void => {
      if (generation !== this.#generation) return;
      if (n > 0) setImmediate(() => later(n - 1));
      else this.#settle(inode, count);
    };
    later(3);
  }

  /**
   * Makes the first `count` pending operations of inode durable, except those a failed fsync
   * doomed: they are gone for good (never written; where a later write covers them, its bytes
   * are what the disk has).
   */
  #settle(inode: Inode, count: number): void {
    let durable = inode.durable;
    for (const op of inode.pending.slice(0, count)) if (!op.doomed) durable = apply(durable, op);
    inode.durable = durable;
    inode.pending = inode.pending.slice(count);
  }

  datasync(fd: number): Promise<void> {
    this.datasyncCalls++;
    let h: { inode: Inode; file: string };
    try {
      h = this.#handle(fd);
    } catch (err) {
      return Promise.reject(err);
    }
    const fault = this.#takeFault('fsync', h.file);
    const count = h.inode.pending.length;
    const generation = this.#generation;
    const { inode, file } = h;
    if (this.sabotage.skipSync?.(file)) return new Promise((resolve) => setImmediate(resolve));
    if (this.sabotage.ackBeforeSync && fault === undefined) {
      this.#syncLater(inode, count);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      setImmediate(() => {
        if (generation !== this.#generation) reject(fsError('EIO', 'the machine lost power during fdatasync'));
        else if (fault !== undefined) {
          for (const op of inode.pending.slice(0, count)) op.doomed = true;
          reject(fsError(fault.code, `fdatasync of ${file} failed`));
        } else {
          this.#settle(inode, count);
          resolve();
        }
      });
    });
  }

  exists(file: string): boolean {
    return this.#names.has(file) || this.#dirs.has(file);
  }

  mkdirp(dir: string): void {
    for (let d = dir; !this.#dirs.has(d); d = path.dirname(d)) this.#dirs.add(d);
  }

  readdir(dir: string): string[] {
    this.#requireDir(dir);
    const out: string[] = [];
    for (const p of [...this.#names.keys(), ...this.#dirs]) if (p !== dir && path.dirname(p) === dir) out.push(path.basename(p));
    return out.sort();
  }

  unlink(file: string): void {
    if (!this.#names.delete(file)) throw fsError('ENOENT', `no such file ${file}`);
  }

  rename(from: string, to: string): void {
    const inode = this.#names.get(from);
    if (inode === undefined) throw fsError('ENOENT', `no such file ${from}`);
    this.#requireDir(path.dirname(to));
    this.#names.delete(from);
    this.#names.set(to, inode);
  }

  rmrf(dir: string): void {
    const inside = (p: string): boolean => p === dir || p.startsWith(dir + '/');
    for (const p of [...this.#names.keys()]) if (inside(p)) this.#names.delete(p);
    for (const p of [...this.#dirs]) if (inside(p)) this.#dirs.delete(p);
  }

  syncDir(dir: string): void {
    this.#requireDir(dir);
    const fault = this.#takeFault('syncDir', dir);
    if (fault !== undefined) throw fsError(fault.code, `fsync of directory ${dir} failed`);
    const child = (p: string): boolean => p !== dir && path.dirname(p) === dir;
    for (const p of [...this.#durableNames.keys()]) if (child(p)) this.#durableNames.delete(p);
    for (const [p, inode] of this.#names) if (child(p)) this.#durableNames.set(p, inode);
    for (const p of [...this.#durableDirs]) if (child(p)) this.#durableDirs.delete(p);
    for (const p of this.#dirs) if (child(p)) this.#durableDirs.add(p);
  }

  readFile(file: string): Buffer {
    const inode = this.#names.get(file);
    if (inode === undefined) throw fsError('ENOENT', `no such file ${file}`);
    return Buffer.from(inode.content);
  }

  /** Temp file, fsync, rename, directory fsync: each step as the primitives above model it. */
  writeFileAtomic(file: string, data: Uint8Array | string): void {
    const tmp = `${file}.tmp`;
    this.#writeSynced(tmp, data);
    this.rename(tmp, file);
    this.syncDir(path.dirname(file));
  }

  /** As writeFileAtomic, but EEXIST when file exists (the link that takes the name fails). */
  writeFileExclusive(file: string, data: Uint8Array | string): void {
    if (this.#names.has(file)) throw fsError('EEXIST', `${file} exists`);
    const tmp = `${file}.excl.tmp`;
    this.#writeSynced(tmp, data);
    this.rename(tmp, file);
    this.syncDir(path.dirname(file));
  }

  /** Creates (or replaces) file with data and fsyncs it, as the primitives above model it. */
  #writeSynced(tmp: string, data: Uint8Array | string): void {
    const fd = this.open(tmp, true);
    try {
      this.truncate(fd, 0);
      this.write(fd, typeof data === 'string' ? Buffer.from(data) : data, 0);
      this.datasyncCalls++;
      const { inode } = this.#handle(fd);
      const fault = this.#takeFault('fsync', tmp);
      if (fault !== undefined) {
        for (const op of inode.pending) op.doomed = true;
        throw fsError(fault.code, `fsync of ${tmp} failed`);
      }
      if (this.sabotage.ackBeforeSync) this.#syncLater(inode, inode.pending.length);
      else if (!this.sabotage.skipSync?.(tmp)) this.#settle(inode, inode.pending.length);
    } finally {
      this.close(fd);
    }
  }

  /**
   * The power fails: open handles are gone, directory entries not yet synced are undone, and each
   * file keeps its durable bytes plus what `mode` lets survive of its unsynced writes.
   */
  crash(mode: CrashMode, opts: { flip?: boolean } = {}): CrashReport {
    this.#generation++;
    this.#faults = [];
    this.#handles.clear();
    if (mode === 'process') return { mode, pendingOps: this.unsyncedOps, keptOps: this.unsyncedOps, tornBytes: null, flipped: null };
    // an entry survives only when every directory above it does
    const reachable = (p: string, dirs: Set<string>): boolean => {
      for (let d = path.dirname(p); d !== p; p = d, d = path.dirname(d)) if (!dirs.has(d)) return false;
      return true;
    };
    this.#dirs = new Set([...this.#durableDirs].filter((d) => reachable(d, this.#durableDirs)));
    this.#names = new Map([...this.#durableNames].filter(([p]) => reachable(p, this.#dirs)));
    const files = new Map<Inode, string>();
    for (const [p, inode] of this.#names) files.set(inode, p);
    const ops: Array<{ inode: Inode; op: Op }> = [];
    for (const inode of files.keys()) for (const op of inode.pending) ops.push({ inode, op });
    ops.sort((a, b) => a.op.seq - b.op.seq);
    const survivors: Array<{ inode: Inode; position: number; length: number }> = [];
    for (const inode of files.keys()) inode.content = inode.durable;
    const keep = (inode: Inode, op: Op, limit = Infinity): void => {
      inode.content = apply(inode.content, op, limit);
      if (op.kind === 'write') survivors.push({ inode, position: op.position, length: Math.min(limit, op.data.length) });
    };
    let tornBytes: number | null = null;
    let kept = 0;
    if (mode === 'torn') {
      // one global order of write-back, cut at a random point
      const cut = Math.floor(this.random() * (ops.length + 1));
      for (let i = 0; i < Math.min(cut + 1, ops.length); i++) {
        const { inode, op } = ops[i];
        if (i < cut) keep(inode, op);
        else if (op.kind === 'write') keep(inode, op, (tornBytes = Math.floor(this.random() * op.data.length)));
      }
      kept = Math.min(cut, ops.length);
    } else if (mode === 'any') {
      // each crash draws how much of the page cache made it, then each operation on its own
      const share = [0.2, 0.5, 0.8][Math.floor(this.random() * 3)];
      for (const { inode, op } of ops) {
        if (this.random() >= share) continue;
        const partial = op.kind === 'write' && this.random() < 0.25;
        keep(inode, op, partial ? Math.floor(this.random() * op.data.length) : Infinity);
        kept++;
      }
    }
    let flipped: CrashReport['flipped'] = null;
    if (opts.flip) {
      const candidates = survivors.filter((s) => s.length > 0 && s.position < s.inode.content.length);
      if (candidates.length > 0) {
        const s = candidates[Math.floor(this.random() * candidates.length)];
        const room = Math.min(s.length, s.inode.content.length - s.position);
        const position = s.position + Math.floor(this.random() * room);
        const bit = Math.floor(this.random() * 8);
        s.inode.content[position] ^= 1 << bit;
        flipped = { file: files.get(s.inode) as string, position, bit };
      }
    }
    for (const inode of files.keys()) {
      inode.durable = inode.content;
      inode.pending = [];
    }
    return { mode, pendingOps: ops.length, keptOps: kept, tornBytes, flipped };
  }

  /** A handle on this disk that dies with the next crash (see the file comment). */
  session(): FileSystem {
    const generation = this.#generation;
    const dead = (): boolean => generation !== this.#generation;
    return new Proxy(this, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]): unknown => {
          if (dead()) {
            const err = fsError('EIO', 'the machine lost power; this process is gone');
            if (prop === 'datasync') return Promise.reject(err);
            throw err;
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as unknown as FileSystem;
  }

  /** Flips one bit of a file's bytes as they are on disk (durable and current alike): media corruption. */
  flipBit(file: string, position: number, bit: number): void {
    const inode = this.#names.get(file);
    if (inode === undefined) throw fsError('ENOENT', `no such file ${file}`);
    for (const buf of new Set([inode.durable, inode.content])) {
      if (position < buf.length) buf[position] ^= 1 << bit;
    }
  }

  /** The bytes of a file that a power cut now would certainly keep. */
  durableContent(file: string): Buffer {
    const inode = this.#durableNames.get(file);
    return inode === undefined ? Buffer.alloc(0) : Buffer.from(inode.durable);
  }

  /** Writes and truncations not yet made durable, summed over every file. */
  get unsyncedOps(): number {
    let n = 0;
    for (const inode of new Set(this.#names.values())) n += inode.pending.length;
    return n;
  }
}
