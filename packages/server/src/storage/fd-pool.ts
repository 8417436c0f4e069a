/**
 * A bounded pool of the open file descriptors of closed segments (their `.log`, `.index` and
 * `.timeindex`), shared by every partition of a broker. Without it each segment kept its three
 * files open for good, so partitions times segments exhausted the open-file limit (EMFILE).
 *
 *   resident  the active segment's three files: opened once, never closed by the pool and not
 *             counted in it (maxPartitions budgets them, partition-budget.ts)
 *   pooled    every other segment file: opened when used, kept open afterwards, and closed,
 *             least recently used first, once more than `capacity` pooled files are open
 *
 * A pooled file is closed only when nothing uses it and it holds no write that is not yet known
 * to be fsynced:
 *   - every use takes a pin for its duration (`use` for synchronous calls, `useAsync` across an
 *     fdatasync on the thread pool), so a read or a sync never meets a descriptor that was closed,
 *     or closed and reused by another open, under it;
 *   - a file written since its last fsync keeps its descriptor until that fsync completes: a
 *     failed writeback is reported to the descriptors that were open when it happened, and a
 *     descriptor opened after a close could miss it, letting unsynced data be acknowledged.
 * So the pool may exceed its capacity for as long as such files exist (a segment that just
 * rolled, until its fsync: one group commit), and shrinks back as soon as they are released.
 *
 * Single-threaded like the rest of storage: calls are serialised by the event loop.
 */
import type { FileSystem } from './file-system.js';

export class FdPool {
  readonly capacity: number;
  /** Open pooled files, least recently used first. */
  #open = new Map<SegmentFile, true>();

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`an fd pool holds at least 1 file, got ${capacity}`);
    this.capacity = capacity;
  }

  /** Pooled files open now (at most capacity, save those in use or awaiting an fsync). */
  get openCount(): number {
    return this.#open.size;
  }

  /** A pooled file was used: it becomes the most recently used. */
  touch(file: SegmentFile): void {
    this.#open.delete(file);
    this.#open.set(file, true);
  }

  /** Makes room for one more descriptor (called before a pooled file opens). */
  reserve(): void {
    this.#trim(this.capacity - 1);
  }

  /** A pooled file opened (or stopped being resident while open): the most recently used. */
  added(file: SegmentFile): void {
    this.#open.set(file, true);
  }

  removed(file: SegmentFile): void {
    this.#open.delete(file);
  }

  /** Closes idle files while more than capacity are open (a file was released or synced). */
  trim(): void {
    this.#trim(this.capacity);
  }

  #trim(keep: number): void {
    if (this.#open.size <= keep) return;
    for (const file of this.#open.keys()) {
      if (this.#open.size <= keep) return;
      // (closing removes it from the map; deleting the current key while iterating a Map is safe)
      if (file.evictable) file.evict();
    }
  }
}

/** A pool without a bound: a log opened on its own (tests, tools) keeps its files as they are used. */
export function unboundedFdPool(): FdPool {
  return new FdPool(Number.POSITIVE_INFINITY);
}

/**
 * One segment file (log or index) whose descriptor the pool may close and reopen. Every call on
 * the file goes through here; the descriptor never leaves a call.
 */
export class SegmentFile {
  readonly path: string;
  #fs: FileSystem;
  #pool: FdPool;
  #fd: number | null;
  #pins = 0;
  #resident = false;
  #closed = false;
  // writes issued and writes known fsynced
  #writes = 0;
  #durableWrites = 0;

  private constructor(fs: FileSystem, pool: FdPool, file: string, fd: number) {
    this.#fs = fs;
    this.#pool = pool;
    this.path = file;
    this.#fd = fd;
    pool.added(this);
    pool.trim();
  }

  /** Opens file (creating it when `create`): the open fails here, not at first use, when it must. */
  static open(fs: FileSystem, pool: FdPool, file: string, create: boolean): SegmentFile {
    pool.reserve();
    return new SegmentFile(fs, pool, file, fs.open(file, create));
  }

  /** True while some write is not known to be fsynced. */
  get dirty(): boolean {
    return this.#writes !== this.#durableWrites;
  }

  /** True when the pool may close the descriptor now. */
  get evictable(): boolean {
    return this.#fd !== null && this.#pins === 0 && !this.#resident && !this.dirty;
  }

  /** Whether the descriptor is open now (tests and metrics). */
  get isOpen(): boolean {
    return this.#fd !== null;
  }

  /**
   * Resident (the active segment's files): open for good and outside the pool's count. A file
   * that stops being resident joins the pool, which may close it once it is idle and synced.
   */
  setResident(resident: boolean): void {
    if (this.#closed || resident === this.#resident) return;
    this.#resident = resident;
    if (resident) {
      this.#pool.removed(this);
      this.#acquire();
      this.#pins--;
    } else if (this.#fd !== null) {
      this.#pool.added(this);
      this.#pool.trim();
    }
  }

  #acquire(): number {
    if (this.#closed) throw new Error(`${this.path} is closed`);
    if (this.#fd === null) {
      if (!this.#resident) this.#pool.reserve();
      // reopened, never created: a file removed meanwhile is an error, not a new empty file
      this.#fd = this.#fs.open(this.path, false);
      if (!this.#resident) this.#pool.added(this);
    } else if (!this.#resident) {
      this.#pool.touch(this);
    }
    this.#pins++;
    return this.#fd;
  }

  #release(): void {
    this.#pins--;
    if (this.#pins > 0) return;
    if (this.#closed) {
      // closed while in use (a segment deleted during its fsync): the descriptor goes now
      this.#closeQuietly();
    } else if (!this.#resident) this.#pool.trim();
  }

  /** Runs fn with the descriptor pinned open. */
  use<T>(fn: (fd: number) => T): T {
    const fd = this.#acquire();
    try {
      return fn(fd);
    } finally {
      this.#release();
    }
  }

  /** Runs fn with the descriptor pinned open until its promise settles. */
  async useAsync<T>(fn: (fd: number) => Promise<T>): Promise<T> {
    const fd = this.#acquire();
    try {
      return await fn(fd);
    } finally {
      this.#release();
    }
  }

  size(): number {
    return this.use((fd) => this.#fs.size(fd));
  }

  read(buf: Uint8Array, offset: number, length: number, position: number): number {
    return this.use((fd) => this.#fs.read(fd, buf, offset, length, position));
  }

  write(buf: Uint8Array, position: number): void {
    this.#writes++;
    this.use((fd) => this.#fs.write(fd, buf, position));
  }

  truncate(size: number): void {
    this.#writes++;
    this.use((fd) => this.#fs.truncate(fd, size));
  }

  /** fdatasync; on success every write issued before it is known durable. */
  async datasync(): Promise<void> {
    const writes = this.#writes;
    await this.useAsync((fd) => this.#fs.datasync(fd));
    if (writes > this.#durableWrites) this.#durableWrites = writes;
    if (!this.#resident) this.#pool.trim();
  }

  /**
   * fsync at close: skipped for a file whose descriptor the pool closed, which it does only once
   * every write is synced (a later write reopens it).
   */
  async syncIfOpen(): Promise<void> {
    if (this.#fd === null && !this.dirty) return;
    await this.datasync();
  }

  /**
   * Closes the file for good (its segment is closed or deleted). A use in progress (an fsync on
   * the thread pool) keeps the descriptor until it ends, so that it is never closed, and its
   * number reused, under that call.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pool.removed(this);
    if (this.#pins > 0) return;
    const fd = this.#fd;
    this.#fd = null;
    if (fd !== null) this.#fs.close(fd);
  }

  /** The pool closes an idle, synced descriptor; the next use reopens it. */
  evict(): void {
    if (this.#fd === null) return;
    this.#pool.removed(this);
    this.#closeQuietly();
  }

  /**
   * close(2) frees the descriptor even when it reports an error (Linux), and nothing of this
   * file is unsynced or in use here: the caller (another file's use, the end of a use) must not
   * fail for it.
   */
  #closeQuietly(): void {
    const fd = this.#fd;
    this.#fd = null;
    if (fd === null) return;
    try {
      this.#fs.close(fd);
    } catch {
      // see above
    }
  }
}
