/**
 * The sparse indexes beside each segment. Both are kept in memory (a typed array that grows) and
 * appended to their file as entries are added. The file is fsynced once its segment is rolled (or
 * at close); until then it is `dirty` and the log's recovery point stays below its segment.
 *
 * Offset index file (`<baseOffset>.index`), one 8-byte entry per `index.interval.bytes` of log:
 *   relativeOffset int32 BE   offset - segment base offset, of the first record of a batch
 *   position       int32 BE   byte position of that batch in the .log file
 * Time index file (`<baseOffset>.timeindex`), 12-byte entries added at the same moments:
 *   timestamp      int64 BE   the largest record timestamp in the segment up to this batch
 *   relativeOffset int32 BE   relative offset of the batch that follows
 * Entries strictly increase (offsets, positions; timestamps only when larger). After a crash an
 * index may hold a torn last entry or point past the log's end: loading checks both and rebuilds
 * from the log when either is wrong, because an index is always derivable from its segment.
 * Lookups use memory only; the file's descriptor is needed to append, cut and fsync, so a rolled
 * segment's indexes leave it to the fd pool (fd-pool.ts) once fsynced.
 */
import type { FileSystem } from './file-system.js';
import { SegmentFile, type FdPool } from './fd-pool.js';

const OFFSET_ENTRY = 8;
const TIME_ENTRY = 12;

abstract class IndexFile {
  protected readonly handle: SegmentFile;
  protected entries = 0;
  readonly file: string;

  constructor(fs: FileSystem, pool: FdPool, file: string) {
    this.file = file;
    this.handle = SegmentFile.open(fs, pool, file, true);
  }

  get count(): number {
    return this.entries;
  }

  protected abstract entrySize(): number;

  /** True while some write to the file is not known to be fsynced. */
  get dirty(): boolean {
    return this.handle.dirty;
  }

  /** The active segment's indexes stay open; a rolled segment's go to the fd pool. */
  setResident(resident: boolean): void {
    this.handle.setResident(resident);
  }

  /** Drops every entry and empties the file (used before a rebuild). */
  reset(): void {
    this.entries = 0;
    this.handle.truncate(0);
  }

  protected truncateEntries(n: number): void {
    this.entries = n;
    this.handle.truncate(n * this.entrySize());
  }

  /** Reads the whole file (load). */
  protected readAll(): Buffer {
    const size = this.handle.size();
    const buf = Buffer.alloc(size);
    if (size > 0) this.handle.read(buf, 0, size, 0);
    return buf;
  }

  async flush(): Promise<void> {
    await this.handle.datasync();
  }

  /** flush(), unless the fd pool closed the file (it was synced then). */
  async flushIfOpen(): Promise<void> {
    await this.handle.syncIfOpen();
  }

  close(): void {
    this.handle.close();
  }
}

function grow(arr: Float64Array, need: number): Float64Array {
  if (need <= arr.length) return arr;
  const next = new Float64Array(Math.max(need, arr.length * 2, 64));
  next.set(arr);
  return next;
}

export class OffsetIndex extends IndexFile {
  readonly baseOffset: number;
  // offsets[i] and positions[i]; Float64Array holds any safe integer.
  #offsets: Float64Array = new Float64Array(0);
  #positions: Float64Array = new Float64Array(0);

  constructor(fs: FileSystem, pool: FdPool, file: string, baseOffset: number) {
    super(fs, pool, file);
    this.baseOffset = baseOffset;
  }

  protected entrySize(): number {
    return OFFSET_ENTRY;
  }

  /** Loads entries from the file; returns false when the file is not a valid index for a log of logSize bytes. */
  load(logSize: number): boolean {
    const buf = this.readAll();
    const size = buf.length;
    if (size % OFFSET_ENTRY !== 0) return false;
    const n = size / OFFSET_ENTRY;
    this.#offsets = new Float64Array(Math.max(n, 64));
    this.#positions = new Float64Array(Math.max(n, 64));
    let lastOff = -1;
    let lastPos = -1;
    for (let i = 0; i < n; i++) {
      const rel = buf.readInt32BE(i * OFFSET_ENTRY);
      const pos = buf.readInt32BE(i * OFFSET_ENTRY + 4);
      if (rel <= lastOff || pos <= lastPos || pos >= logSize || rel < 0) return false;
      this.#offsets[i] = this.baseOffset + rel;
      this.#positions[i] = pos;
      lastOff = rel;
      lastPos = pos;
    }
    this.entries = n;
    return true;
  }

  append(offset: number, position: number): void {
    const n = this.entries;
    if (n > 0 && (offset <= this.#offsets[n - 1] || position <= this.#positions[n - 1])) return;
    const entry = Buffer.allocUnsafe(OFFSET_ENTRY);
    entry.writeInt32BE(offset - this.baseOffset, 0);
    entry.writeInt32BE(position, 4);
    this.handle.write(entry, n * OFFSET_ENTRY);
    this.#offsets = grow(this.#offsets, n + 1);
    this.#positions = grow(this.#positions, n + 1);
    this.#offsets[n] = offset;
    this.#positions[n] = position;
    this.entries = n + 1;
  }

  /** The position of the last indexed batch starting at or before offset (0 when none is). */
  lookup(offset: number): number {
    let lo = 0;
    let hi = this.entries - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#offsets[mid] <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? 0 : this.#positions[found];
  }

  /** Removes entries at or past offset. */
  truncateTo(offset: number): void {
    let n = this.entries;
    while (n > 0 && this.#offsets[n - 1] >= offset) n--;
    if (n !== this.entries) this.truncateEntries(n);
  }
}

export class TimeIndex extends IndexFile {
  readonly baseOffset: number;
  #timestamps: Float64Array = new Float64Array(0);
  #offsets: Float64Array = new Float64Array(0);

  constructor(fs: FileSystem, pool: FdPool, file: string, baseOffset: number) {
    super(fs, pool, file);
    this.baseOffset = baseOffset;
  }

  protected entrySize(): number {
    return TIME_ENTRY;
  }

  get lastTimestamp(): number {
    return this.entries > 0 ? this.#timestamps[this.entries - 1] : -1;
  }

  load(nextOffset: number): boolean {
    const buf = this.readAll();
    const size = buf.length;
    if (size % TIME_ENTRY !== 0) return false;
    const n = size / TIME_ENTRY;
    this.#timestamps = new Float64Array(Math.max(n, 64));
    this.#offsets = new Float64Array(Math.max(n, 64));
    let lastTs = -Infinity;
    let lastOff = -1;
    for (let i = 0; i < n; i++) {
      const ts = Number(buf.readBigInt64BE(i * TIME_ENTRY));
      const rel = buf.readInt32BE(i * TIME_ENTRY + 8);
      if (ts <= lastTs || rel < lastOff || rel < 0 || this.baseOffset + rel > nextOffset) return false;
      this.#timestamps[i] = ts;
      this.#offsets[i] = this.baseOffset + rel;
      lastTs = ts;
      lastOff = rel;
    }
    this.entries = n;
    return true;
  }

  /** Adds (maxTimestamp so far, offset of the next batch) when the timestamp grew. */
  maybeAppend(timestamp: number, offset: number): void {
    const n = this.entries;
    if (n > 0 && timestamp <= this.#timestamps[n - 1]) return;
    const entry = Buffer.allocUnsafe(TIME_ENTRY);
    entry.writeBigInt64BE(BigInt(timestamp), 0);
    entry.writeInt32BE(offset - this.baseOffset, 8);
    this.handle.write(entry, n * TIME_ENTRY);
    this.#timestamps = grow(this.#timestamps, n + 1);
    this.#offsets = grow(this.#offsets, n + 1);
    this.#timestamps[n] = timestamp;
    this.#offsets[n] = offset;
    this.entries = n + 1;
  }

  /**
   * An offset from which a scan finds the first record with timestamp >= target: the offset of the
   * last entry whose timestamp is below target (every record before it is older), else the base.
   */
  lookup(target: number): number {
    let lo = 0;
    let hi = this.entries - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#timestamps[mid] < target) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? this.baseOffset : this.#offsets[found];
  }

  truncateTo(offset: number): void {
    let n = this.entries;
    while (n > 0 && this.#offsets[n - 1] > offset) n--;
    if (n !== this.entries) this.truncateEntries(n);
  }
}
