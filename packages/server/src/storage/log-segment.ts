/**
 * One segment of a partition's log: `<baseOffset, 20 digits>.log` holding RecordBatch v2 batches
 * back to back, with its offset index and time index beside it (segment-index.ts).
 *
 * Lifecycle: created by Log when it rolls (create) or found at start (open, then recover or
 * loadIndexes). Only the last segment of a log, the active one, is appended to. Not thread-safe:
 * the owning Log serialises every call (the broker runs on one event loop).
 *
 * Files: the active segment keeps its three files open (resident); any other segment's files are
 * in the broker's fd pool (fd-pool.ts), closed when idle and synced, and reopened when read.
 *
 * After a crash the file may end with a torn batch or with garbage past the last complete batch;
 * recover() finds the longest valid prefix and reports what follows it, and the log's loader
 * decides between cutting a tail and taking the partition offline (log-loader.ts).
 */
import path from 'node:path';
import type { FileSystem } from './file-system.js';
import { SegmentFile, unboundedFdPool, type FdPool } from './fd-pool.js';
import { OffsetIndex, TimeIndex } from './segment-index.js';
import { LOG_OVERHEAD, BATCH_HEADER_SIZE, BATCH_LENGTH, baseOffsetAt, lastOffsetAt, maxTimestampAt } from './batch-fields.js';
import { validateBatch } from './record-batch.js';

const SCAN_CHUNK = 1 << 20;
const POSITION_SCAN_CHUNK = 64 << 10;
const MAX_HINTS = 64;

export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, '0') + suffix;
}

export interface RecoverResult {
  /** Bytes of valid batches from the start of the file. */
  validBytes: number;
  /** One past the last offset of the valid batches (baseOffset when none). */
  nextOffset: number;
  /** Bytes after validBytes; 0 when the file is clean. */
  invalidBytes: number;
  /** Why the batch at validBytes is invalid, when invalidBytes > 0. */
  reason: string | null;
}

export class LogSegment {
  readonly baseOffset: number;
  readonly file: string;
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;
  #fs: FileSystem;
  #file: SegmentFile;
  #size: number;
  #bytesSinceIndex = 0;
  #maxTimestamp = -1;
  #nextOffset: number;
  #hints = new Map<number, number>();
  /** Wall-clock ms of the first append (or of opening); drives roll by segment.ms. */
  createdAt: number;

  private constructor(fs: FileSystem, pool: FdPool, dir: string, baseOffset: number, create: boolean) {
    this.#fs = fs;
    this.baseOffset = baseOffset;
    this.file = path.join(dir, segmentFileName(baseOffset, '.log'));
    // what opened before a failure (EMFILE, ENOSPC) is closed again
    const opened: Array<{ close(): void }> = [];
    try {
      this.#file = SegmentFile.open(fs, pool, this.file, create);
      opened.push(this.#file);
      this.offsetIndex = new OffsetIndex(fs, pool, path.join(dir, segmentFileName(baseOffset, '.index')), baseOffset);
      opened.push(this.offsetIndex);
      this.timeIndex = new TimeIndex(fs, pool, path.join(dir, segmentFileName(baseOffset, '.timeindex')), baseOffset);
      opened.push(this.timeIndex);
      this.#size = this.#file.size();
    } catch (err) {
      for (const f of opened) f.close();
      throw err;
    }
    this.#nextOffset = baseOffset;
    this.createdAt = Date.now();
  }

  /** Creates the three files and fsyncs the directory so that the new entries survive a power cut. */
  static create(fs: FileSystem, dir: string, baseOffset: number, pool: FdPool = unboundedFdPool()): LogSegment {
    const seg = new LogSegment(fs, pool, dir, baseOffset, true);
    try {
      fs.syncDir(dir);
    } catch (err) {
      seg.close();
      throw err;
    }
    return seg;
  }

  static open(fs: FileSystem, dir: string, baseOffset: number, pool: FdPool = unboundedFdPool()): LogSegment {
    return new LogSegment(fs, pool, dir, baseOffset, false);
  }

  /**
   * The active segment keeps its files open; when it rolls they join the fd pool, which closes
   * them once they are idle and fsynced.
   */
  setActive(active: boolean): void {
    this.#file.setResident(active);
    this.offsetIndex.setResident(active);
    this.timeIndex.setResident(active);
  }

  get size(): number {
    return this.#size;
  }

  get nextOffset(): number {
    return this.#nextOffset;
  }

  get maxTimestamp(): number {
    return this.#maxTimestamp;
  }

  get isEmpty(): boolean {
    return this.#size === 0;
  }

  /**
   * Appends one batch whose base offset is already set, or several laid end to end (`starts`:
   * where each begins), with one write. Indexes a batch when at least indexInterval bytes were
   * written since the last entry. On a write error (to the segment or to an index)
   * the files are cut back to where they were, so that no partial batch or entry stays behind,
   * the segment's state is unchanged, and the error is rethrown.
   */
  append(batch: Buffer, lastOffset: number, maxTimestamp: number, indexInterval: number, starts: readonly number[] = [0]): void {
    const position = this.#size;
    const firstOffset = this.#nextOffset;
    let newMaxTimestamp = this.#maxTimestamp;
    let sinceIndex = this.#bytesSinceIndex;
    try {
      this.#file.write(batch, position);
      // An index entry at the first batch that reaches indexInterval bytes since the last one, as
      // if the batches had been appended one by one.
      for (let i = 0; i < starts.length; i++) {
        const at = starts[i];
        const size = (i + 1 < starts.length ? starts[i + 1] : batch.length) - at;
        const ts = maxTimestampAt(batch, at);
        if (ts > newMaxTimestamp) newMaxTimestamp = ts;
        sinceIndex += size;
        if (sinceIndex >= indexInterval) {
          this.offsetIndex.append(baseOffsetAt(batch, at), position + at);
          this.timeIndex.maybeAppend(newMaxTimestamp, lastOffsetAt(batch, at) + 1);
          sinceIndex = 0;
        }
      }
    } catch (err) {
      try {
        this.#file.truncate(position);
        this.offsetIndex.truncateTo(firstOffset);
        this.timeIndex.truncateTo(firstOffset);
      } catch {
        // the original error is what the caller must see
      }
      throw err;
    }
    if (this.#size === 0) this.createdAt = Date.now();
    this.#size += batch.length;
    this.hint(firstOffset, position);
    this.#nextOffset = lastOffset + 1;
    this.#maxTimestamp = Math.max(newMaxTimestamp, maxTimestamp);
    this.#bytesSinceIndex = sinceIndex;
  }

  /** Reads up to length bytes at position (fewer at the end of the file). */
  read(position: number, length: number): Buffer {
    const n = Math.max(0, Math.min(length, this.#size - position));
    const buf = Buffer.allocUnsafe(n);
    // one pin for the whole read: the descriptor stays this file's until it returns
    const done = this.#file.use(() => {
      let got = 0;
      while (got < n) {
        const r = this.#file.read(buf, got, n - got, position + got);
        if (r === 0) break;
        got += r;
      }
      return got;
    });
    return done === n ? buf : buf.subarray(0, done);
  }

  /**
   * Calls visit(buf, pos, size) for every complete batch from startPosition, reading the file in
   * large chunks; stops when visit returns false. Returns the position after the last batch seen.
   */
  scan(
    startPosition: number,
    visit: (buf: Buffer, pos: number, size: number, filePos: number) => boolean,
    chunkBytes = SCAN_CHUNK,
  ): number {
    let filePos = startPosition;
    while (filePos < this.#size) {
      const chunk = this.read(filePos, Math.max(chunkBytes, LOG_OVERHEAD));
      let pos = 0;
      let progressed = false;
      while (pos + LOG_OVERHEAD <= chunk.length) {
        const size = LOG_OVERHEAD + chunk.readInt32BE(pos + BATCH_LENGTH);
        if (size < BATCH_HEADER_SIZE) return filePos + pos;
        if (pos + size > chunk.length) {
          if (pos === 0) {
            // one batch larger than the chunk: read exactly it
            const whole = this.read(filePos, size);
            if (whole.length < size) return filePos;
            if (!visit(whole, 0, size, filePos)) return filePos + size;
            filePos += size;
            progressed = true;
          }
          break;
        }
        if (!visit(chunk, pos, size, filePos + pos)) return filePos + pos + size;
        pos += size;
        progressed = true;
      }
      if (pos > 0) filePos += pos;
      if (!progressed) return filePos;
    }
    return filePos;
  }

  /** The file position of the batch that holds offset, or -1 when offset is at or past the end. */
  positionOf(offset: number): number {
    if (offset >= this.#nextOffset) return -1;
    // sequential consumers ask for the offset that follows their last read: a batch boundary
    const hinted = this.#hints.get(offset);
    if (hinted !== undefined) return hinted;
    let found = -1;
    this.scan(
      this.offsetIndex.lookup(offset),
      (buf, pos, _size, filePos) => {
        if (lastOffsetAt(buf, pos) >= offset) {
          found = filePos;
          return false;
        }
        return true;
      },
      POSITION_SCAN_CHUNK,
    );
    return found;
  }

  /** Remembers that the batch starting at offset sits at position (bounded; oldest hints go first). */
  hint(offset: number, position: number): void {
    if (this.#hints.size >= MAX_HINTS) this.#hints.delete(this.#hints.keys().next().value as number);
    this.#hints.set(offset, position);
  }

  /** The first offset whose batch has a record at or after timestamp, or -1 when none does. */
  offsetForTimestamp(timestamp: number): number {
    if (this.#maxTimestamp < timestamp) return -1;
    const from = this.timeIndex.lookup(timestamp);
    const start = from <= this.baseOffset ? 0 : this.positionOf(from);
    if (start < 0) return -1;
    let found = -1;
    this.scan(start, (buf, pos) => {
      if (maxTimestampAt(buf, pos) >= timestamp) {
        found = baseOffsetAt(buf, pos);
        return false;
      }
      return true;
    });
    return found;
  }

  /**
   * Validates every batch from the start (length, magic, CRC32C, dense offsets), rebuilding
   * both indexes. Does not truncate: the caller decides what to do with invalidBytes.
   */
  recover(indexInterval: number): RecoverResult {
    this.offsetIndex.reset();
    this.timeIndex.reset();
    this.#maxTimestamp = -1;
    this.#bytesSinceIndex = 0;
    let next = this.baseOffset;
    let reason: string | null = null;
    let validBytes = 0;
    const end = this.scan(0, (buf, pos, size, filePos) => {
      reason = validateBatch(buf, pos, size);
      // The CRC does not cover baseOffset. Batches are dense (the cleaner keeps each batch's
      // offsets), so any other value is a damaged header; accepting it would shift offsets.
      if (reason === null && baseOffsetAt(buf, pos) !== next) reason = `base offset ${baseOffsetAt(buf, pos)} is not the expected ${next}`;
      if (reason !== null) return false;
      const last = lastOffsetAt(buf, pos);
      const maxTs = maxTimestampAt(buf, pos);
      if (maxTs > this.#maxTimestamp) this.#maxTimestamp = maxTs;
      this.#bytesSinceIndex += size;
      if (this.#bytesSinceIndex >= indexInterval) {
        this.offsetIndex.append(baseOffsetAt(buf, pos), filePos);
        this.timeIndex.maybeAppend(this.#maxTimestamp, last + 1);
        this.#bytesSinceIndex = 0;
      }
      next = last + 1;
      validBytes = filePos + size;
      return true;
    });
    if (reason !== null) reason = `invalid batch at position ${validBytes}: ${reason}`;
    else if (end < this.#size) reason = `incomplete or unreadable batch at position ${end} (${this.#size - end} bytes before the end of the file)`;
    this.#nextOffset = next;
    return { validBytes, nextOffset: next, invalidBytes: this.#size - validBytes, reason };
  }

  /** Loads both indexes from disk (clean start); rebuilds via recover() when either is unusable. */
  loadIndexes(indexInterval: number): RecoverResult | null {
    if (this.offsetIndex.load(this.#size)) {
      let next = this.baseOffset;
      let maxTs = -1;
      const end = this.scan(this.offsetIndex.lookup(Number.MAX_SAFE_INTEGER), (buf, pos) => {
        next = lastOffsetAt(buf, pos) + 1;
        maxTs = Math.max(maxTs, maxTimestampAt(buf, pos));
        return true;
      });
      if (end === this.#size && this.timeIndex.load(next)) {
        this.#nextOffset = next;
        this.#maxTimestamp = Math.max(maxTs, this.timeIndex.lastTimestamp);
        return null;
      }
    }
    return this.recover(indexInterval);
  }

  /** Cuts the file to size bytes (recovery or truncation); indexes follow. */
  truncateBytes(size: number, nextOffset: number): void {
    this.#hints.clear();
    this.#file.truncate(size);
    this.#size = size;
    this.#nextOffset = nextOffset;
    this.offsetIndex.truncateTo(nextOffset);
    this.timeIndex.truncateTo(nextOffset);
  }

  flush(): Promise<void> {
    return this.#file.datasync();
  }

  /** True while an index holds writes not yet fsynced (an unclean start must not trust it). */
  get indexesDirty(): boolean {
    return this.offsetIndex.dirty || this.timeIndex.dirty;
  }

  async flushIndexes(): Promise<void> {
    await Promise.all([this.offsetIndex.flush(), this.timeIndex.flush()]);
  }

  /** Fsyncs the three files (at close); a file the fd pool closed was synced before, and is skipped. */
  async flushAll(): Promise<void> {
    await Promise.all([this.#file.syncIfOpen(), this.offsetIndex.flushIfOpen(), this.timeIndex.flushIfOpen()]);
  }

  close(): void {
    this.#file.close();
    this.offsetIndex.close();
    this.timeIndex.close();
  }

  /** Closes and removes the segment's files. */
  delete(): void {
    this.close();
    for (const f of [this.file, this.offsetIndex.file, this.timeIndex.file]) {
      if (this.#fs.exists(f)) this.#fs.unlink(f);
    }
  }
}
