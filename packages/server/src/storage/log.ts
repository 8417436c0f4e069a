/**
 * A partition's log: an ordered list of segments, the last one active. It assigns offsets,
 * appends batches, makes them durable with group commit, rolls segments, applies retention and
 * recovers after a crash. It knows bytes and offsets only; what records mean is the caller's.
 *
 *   segments:  [0 .. 4999] [5000 .. 9999] [10000 .. active ..)
 *              ^ logStartOffset                 nextOffset (LEO) ^
 *   durableOffset: every offset below it is fsynced (the recovery point)
 *
 * Lifecycle: Log.open() loads or recovers the directory; append()/read() serve; close() flushes
 * and closes. Calls are serialised by the event loop; only flush() is asynchronous, and any
 * number of callers may wait on it at once (they share fsyncs).
 *
 * States: online -> offline (mid-log corruption found at open, or a failed fsync). Offline is
 * final for the process: a restart recovers from what the disk really holds.
 */
import path from 'node:path';
import type { FileSystem } from './file-system.js';
import { LogSegment, segmentFileName } from './log-segment.js';
import { LOG_OVERHEAD, BATCH_LENGTH, lastOffsetAt, writeInt64 } from './batch-fields.js';
import { WebkaError } from '../errors.js';

export interface LogConfig {
  segmentBytes: number;
  segmentMs: number;
  indexIntervalBytes: number;
  retentionMs: number;
  retentionBytes: number;
  /** The largest batch accepted; also bounds recovery's search for valid data after bad bytes. */
  maxBatchBytes: number;
}

export interface LogProbe {
  fsyncDone?(ms: number): void;
  recovered?(dir: string, result: { truncatedBytes: number; reason: string | null }): void;
}

export interface ReadResult {
  /** Whole batches, starting with the one that holds the requested offset. */
  data: Buffer;
  /** The offset the read started at (after clamping to logStartOffset it is unchanged: see read). */
  highWatermark: number;
  logStartOffset: number;
}

const RECOVERY_POINT_FILE = 'recovery-point';

export class Log {
  readonly dir: string;
  config: LogConfig;
  #fs: FileSystem;
  #segments: LogSegment[] = [];
  #durableOffset = 0;
  #checkpointedOffset = -1;
  #syncing: Promise<void> | null = null;
  #unsynced = new Set<LogSegment>();
  #offline: string | null = null;
  #probe: LogProbe;
  #closed = false;

  private constructor(fs: FileSystem, dir: string, config: LogConfig, probe: LogProbe) {
    this.#fs = fs;
    this.dir = dir;
    this.config = config;
    this.#probe = probe;
  }

  /**
   * Opens the log in dir, creating it when missing. After a clean shutdown the indexes are loaded
   * as they are; otherwise every segment from the recovery point on is scanned batch by batch.
   */
  static open(fs: FileSystem, dir: string, config: LogConfig, opts: { clean: boolean; probe?: LogProbe }): Log {
    const log = new Log(fs, dir, config, opts.probe ?? {});
    if (!fs.exists(dir)) {
      fs.mkdirp(dir);
      fs.syncDir(path.dirname(dir));
    }
    log.#load(opts.clean);
    return log;
  }

  #load(clean: boolean): void {
    const bases = this.#fs
      .readdir(this.dir)
      .filter((f) => /^\d{20}\.log$/.test(f))
      .map((f) => Number(f.slice(0, 20)))
      .sort((a, b) => a - b);
    // leftovers of an interrupted atomic write or segment deletion
    for (const f of this.#fs.readdir(this.dir)) {
      if (f.endsWith('.tmp')) this.#fs.unlink(path.join(this.dir, f));
    }
    let recoveryPoint = this.#readRecoveryPoint();
    if (bases.length === 0) {
      this.#segments.push(LogSegment.create(this.#fs, this.dir, Math.max(0, recoveryPoint)));
      this.#durableOffset = this.nextOffset;
      return;
    }
    for (const base of bases) this.#segments.push(LogSegment.open(this.#fs, this.dir, base));
    if (recoveryPoint < 0) recoveryPoint = bases[0];
    for (let i = 0; i < this.#segments.length; i++) {
      const seg = this.#segments[i];
      const next = this.#segments[i + 1];
      const needsScan = !clean && (next === undefined || next.baseOffset > recoveryPoint);
      const result = needsScan
        ? seg.recover(this.config.indexIntervalBytes, this.config.maxBatchBytes)
        : seg.loadIndexes(this.config.indexIntervalBytes, this.config.maxBatchBytes);
      if (result === null || result.invalidBytes === 0) continue;
      const laterData = this.#segments.slice(i + 1).some((s) => !s.isEmpty);
      if (result.validAfterInvalid || laterData) {
        this.#offline =
          `mid-log corruption in ${seg.file}: ${result.reason}; valid data follows, so nothing was truncated. ` +
          'The segment is kept for inspection; the partition is offline until an operator repairs or removes it.';
        this.#probe.recovered?.(this.dir, { truncatedBytes: 0, reason: this.#offline });
        break;
      }
      seg.truncateBytes(result.validBytes, result.nextOffset);
      this.#probe.recovered?.(this.dir, { truncatedBytes: result.invalidBytes, reason: result.reason });
      // segments rolled after the torn batch are empty and would leave a gap in offsets
      for (const empty of this.#segments.splice(i + 1)) empty.delete();
      this.#fs.syncDir(this.dir);
      break;
    }
    // an empty active segment may sit below the previous one's end after a truncated tail
    this.#durableOffset = this.nextOffset;
  }

  #readRecoveryPoint(): number {
    const file = path.join(this.dir, RECOVERY_POINT_FILE);
    if (!this.#fs.exists(file)) return -1;
    const n = Number(this.#fs.readFile(file).toString('utf8').trim());
    return Number.isSafeInteger(n) && n >= 0 ? n : -1;
  }

  /** Takes the log offline (a reader found a batch that fails its CRC). */
  markOffline(reason: string): void {
    if (this.#offline === null) this.#offline = reason;
  }

  get offlineReason(): string | null {
    return this.#offline;
  }

  get logStartOffset(): number {
    return this.#segments[0].baseOffset;
  }

  get nextOffset(): number {
    return this.#segments[this.#segments.length - 1].nextOffset;
  }

  /** One broker: everything appended is visible. With replication this becomes the ISR's minimum. */
  get highWatermark(): number {
    return this.nextOffset;
  }

  get durableOffset(): number {
    return this.#durableOffset;
  }

  get sizeBytes(): number {
    let n = 0;
    for (const s of this.#segments) n += s.size;
    return n;
  }

  get segmentCount(): number {
    return this.#segments.length;
  }

  get segments(): readonly LogSegment[] {
    return this.#segments;
  }

  #checkOnline(): void {
    if (this.#offline !== null) throw new WebkaError('PARTITION_OFFLINE', this.#offline);
    if (this.#closed) throw new WebkaError('SHUTTING_DOWN', 'the log is closed');
  }

  /**
   * Appends one encoded batch (header fields other than baseOffset already final), assigning its
   * base offset. Returns the base offset. The bytes are in the operating system when this
   * returns; call flush(baseOffset + count) to make them durable. A write error leaves the log as
   * it was and throws STORAGE_ERROR.
   */
  append(batch: Buffer, recordCount: number, maxTimestamp: number): number {
    this.#checkOnline();
    let active = this.#segments[this.#segments.length - 1];
    if (this.#shouldRoll(active, batch.length)) active = this.#roll();
    const baseOffset = active.nextOffset;
    writeInt64(batch, 0, baseOffset);
    try {
      active.append(batch, baseOffset + recordCount - 1, maxTimestamp, this.config.indexIntervalBytes);
    } catch (err) {
      throw new WebkaError('STORAGE_ERROR', `write to ${active.file} failed: ${(err as Error).message}; nothing was written`);
    }
    this.#unsynced.add(active);
    return baseOffset;
  }

  #shouldRoll(active: LogSegment, incoming: number): boolean {
    if (active.isEmpty) return false;
    if (active.size + incoming > this.config.segmentBytes) return true;
    if (Date.now() - active.createdAt >= this.config.segmentMs) return true;
    // relative offsets in the index are int32
    return active.nextOffset - active.baseOffset > 0x7fff0000;
  }

  #roll(): LogSegment {
    const seg = LogSegment.create(this.#fs, this.dir, this.nextOffset);
    this.#segments.push(seg);
    return seg;
  }

  /**
   * Resolves once every offset below `upTo` is fsynced. Callers arriving while an fsync runs wait
   * for it and then share the next one (group commit). A failed fsync takes the log offline and
   * rejects every waiter: the data may or may not be on disk, and is never acknowledged.
   */
  async flush(upTo: number = this.nextOffset): Promise<void> {
    while (this.#durableOffset < upTo) {
      this.#checkOnline();
      if (this.#syncing === null) {
        this.#syncing = this.#sync().finally(() => {
          this.#syncing = null;
        });
      }
      await this.#syncing;
    }
  }

  async #sync(): Promise<void> {
    const target = this.nextOffset;
    const segs = [...this.#unsynced];
    this.#unsynced.clear();
    const started = performance.now();
    try {
      await Promise.all(segs.map((s) => s.flush()));
    } catch (err) {
      this.#offline = `fsync of ${this.dir} failed: ${(err as Error).message}; appends since the last fsync are not acknowledged`;
      throw new WebkaError('PARTITION_OFFLINE', this.#offline);
    }
    this.#probe.fsyncDone?.(performance.now() - started);
    if (target > this.#durableOffset) this.#durableOffset = target;
  }

  /** Writes the recovery point (only when it moved), so that the next unclean start scans less. */
  checkpoint(): void {
    if (this.#offline !== null || this.#closed || this.#durableOffset === this.#checkpointedOffset) return;
    this.#fs.writeFileAtomic(path.join(this.dir, RECOVERY_POINT_FILE), String(this.#durableOffset));
    this.#checkpointedOffset = this.#durableOffset;
  }

  /**
   * Reads whole batches from the one holding `offset`, about maxBytes of them (always at least
   * one batch, so a batch larger than maxBytes still makes progress). Empty at the end of the log.
   * Throws OFFSET_OUT_OF_RANGE outside [logStartOffset, nextOffset].
   */
  read(offset: number, maxBytes: number): Buffer {
    if (this.#offline !== null) throw new WebkaError('PARTITION_OFFLINE', this.#offline);
    if (offset < this.logStartOffset || offset > this.nextOffset) {
      throw new WebkaError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} is outside the log: valid offsets are ${this.logStartOffset} to ${this.nextOffset} (the high watermark, to wait for the next record)`,
        { logStartOffset: this.logStartOffset, highWatermark: this.nextOffset },
      );
    }
    for (let i = this.#segmentIndexFor(offset); i < this.#segments.length; i++) {
      const seg = this.#segments[i];
      const pos = seg.positionOf(offset);
      if (pos < 0) continue;
      const buf = seg.read(pos, Math.max(maxBytes, LOG_OVERHEAD));
      // keep whole batches; when the first batch is larger than maxBytes read it whole
      let end = 0;
      let lastStart = 0;
      while (end + LOG_OVERHEAD <= buf.length) {
        const size = LOG_OVERHEAD + buf.readInt32BE(end + BATCH_LENGTH);
        if (end + size > buf.length) break;
        lastStart = end;
        end += size;
      }
      if (end === 0 && buf.length >= LOG_OVERHEAD) {
        return seg.read(pos, LOG_OVERHEAD + buf.readInt32BE(BATCH_LENGTH));
      }
      if (end > 0) seg.hint(lastOffsetAt(buf, lastStart) + 1, pos + end);
      return buf.subarray(0, end);
    }
    return Buffer.alloc(0);
  }

  #segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.#segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#segments[mid].baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The first offset at or after timestamp's batch (Kafka's ListOffsets), or nextOffset when none. */
  offsetForTimestamp(timestamp: number): number {
    for (const seg of this.#segments) {
      const off = seg.offsetForTimestamp(timestamp);
      if (off >= 0) return Math.max(off, this.logStartOffset);
    }
    return this.nextOffset;
  }

  /**
   * Visits the header of every batch from fromOffset (used to rebuild producer state). The buffer
   * holds the batch at pos; callers read header fields only.
   */
  scanBatches(fromOffset: number, visit: (buf: Buffer, pos: number) => void): void {
    for (const seg of this.#segments) {
      if (seg.nextOffset <= fromOffset) continue;
      seg.scan(0, (buf, pos) => {
        if (lastOffsetAt(buf, pos) >= fromOffset) visit(buf, pos);
        return true;
      });
    }
  }

  /**
   * Deletes whole segments that retention allows, oldest first, never the only segment. An
   * expired active segment is first rolled so that the time limit is honoured on quiet topics.
   * Returns the number of segments deleted.
   */
  applyRetention(now: number): number {
    if (this.#offline !== null || this.#closed) return 0;
    const { retentionMs, retentionBytes } = this.config;
    let deleted = 0;
    const active = this.#segments[this.#segments.length - 1];
    if (retentionMs >= 0 && !active.isEmpty && active.maxTimestamp >= 0 && now - active.maxTimestamp > retentionMs) {
      this.#roll();
    }
    let total = this.sizeBytes;
    while (this.#segments.length > 1) {
      const oldest = this.#segments[0];
      const byTime = retentionMs >= 0 && (oldest.isEmpty || now - oldest.maxTimestamp > retentionMs);
      const bySize = retentionBytes >= 0 && total - oldest.size >= retentionBytes;
      if (!byTime && !bySize) break;
      this.#segments.shift();
      this.#unsynced.delete(oldest);
      total -= oldest.size;
      oldest.delete();
      deleted++;
    }
    if (deleted > 0) {
      this.#fs.syncDir(this.dir);
      if (this.#durableOffset < this.logStartOffset) this.#durableOffset = this.logStartOffset;
    }
    return deleted;
  }

  /** Flushes everything and closes the files. A closed log refuses appends and reads. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#offline === null) {
      try {
        await this.flush();
        await Promise.all(this.#segments.map((s) => s.flushAll()));
        this.checkpoint();
      } catch {
        // an offline log closes without its checkpoint; the next start recovers it
      }
    }
    this.#closed = true;
    for (const s of this.#segments) s.close();
  }

  /** Closes and removes the whole directory (topic deletion). */
  async deleteAll(): Promise<void> {
    this.#closed = true;
    if (this.#syncing) await this.#syncing.catch(() => undefined);
    for (const s of this.#segments) s.close();
    this.#fs.rmrf(this.dir);
    this.#fs.syncDir(path.dirname(this.dir));
  }
}

