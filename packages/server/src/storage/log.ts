/**
 * A partition's log: an ordered list of segments, the last one active. It assigns offsets,
 * appends batches, makes them durable with group commit, rolls segments, applies retention and
 * recovers after a crash. It knows bytes and offsets only; what records mean is the caller's.
 *
 *   segments:  [0 .. 4999] [5000 .. 9999] [10000 .. active ..)
 *              ^ logStartOffset                 nextOffset (LEO) ^
 *   durableOffset: every offset below it is fsynced; checkpoint() writes it down (recovery never
 *                  cuts below it) with the recovery point, which follows it but stops at the
 *                  first segment with a change not yet fsynced
 *   highWatermark: what readers may see: the durable end (Redpanda's rule), so that a record a
 *                  consumer read can never be taken back by a power cut. In a cluster it is
 *                  also bounded by the replica limit (setReplicaLimit: on a leader the least
 *                  durable end of its in-sync followers, on a follower the leader's high
 *                  watermark): the input to #visibleEnd(), not the design, changed.
 *   leaderEpoch:   in a cluster, the leader's epoch stamped into each batch it appends;
 *                  endOffsetForEpoch() and truncateTo() let a follower cut what an old leader
 *                  alone wrote (KIP-101).
 *
 * The log keeps an fsync in flight whenever it holds unsynced data (appends of any acks), so
 * data becomes visible within one group commit of being written; flush() waits for that. The
 * fsyncs of all logs run in commit rounds (commit-rounds.ts): issued together, one round at a
 * time, each log's data durable when its own file's fsync completes.
 *
 * Lifecycle: Log.open() loads or recovers the directory (log-loader.ts); append()/read() serve;
 * close() flushes and closes. Calls are serialised by the event loop; only flush() is
 * asynchronous, and any number of callers may wait on it at once (they share fsyncs).
 *
 * States: online -> offline (corruption below the flushed offset found at open or by a read, a failed fsync, or a
 * failed directory fsync at a roll). Offline is final for the process: a restart recovers from
 * what the disk really holds.
 */
import path from 'node:path';
import { makeDirDurable, type FileSystem } from './file-system.js';
import { LogSegment, segmentFileName } from './log-segment.js';
import { unboundedFdPool, type FdPool } from './fd-pool.js';
import { RECOVERY_POINT_FILE, completeSwap, formatCheckpoint, loadLog } from './log-loader.js';
import { BASE_OFFSET, BATCH_HEADER_SIZE, LOG_OVERHEAD, BATCH_LENGTH, PARTITION_LEADER_EPOCH, baseOffsetAt, lastOffsetAt, maxTimestampAt, writeInt64 } from './batch-fields.js';
import { WebkaError } from '../errors.js';
import { commitRounds, type CommitRounds } from './commit-rounds.js';

/** Bytes read beyond a record-bounded read's estimate (see read()): a batch's worth of headroom. */
const READ_SLACK = 16 * 1024;

/** The longest unsynced data waits for its fsync when no reader or producer waits for it. */
export const BACKGROUND_SYNC_MS = 10;

export interface LogConfig {
  segmentBytes: number;
  segmentMs: number;
  indexIntervalBytes: number;
  retentionMs: number;
  retentionBytes: number;
  /** The largest batch accepted. */
  maxBatchBytes: number;
}

export interface LogProbe {
  fsyncDone?(ms: number): void;
  recovered?(dir: string, result: { truncatedBytes: number; reason: string | null }): void;
}

export class Log {
  readonly dir: string;
  config: LogConfig;
  #fs: FileSystem;
  /** Where the files of closed segments are kept open, boundedly (shared by the broker's logs). */
  #pool: FdPool;
  #segments: LogSegment[] = [];
  #durableOffset = 0;
  /** The log end when it was opened (what #dropUnsynced leaves to recovery). */
  #openedEnd = 0;
  #checkpointed = '';
  #syncing: Promise<void> | null = null;
  #syncQueued = false;
  #paceTimer: NodeJS.Timeout | null = null;
  #demand: () => boolean = () => false;
  #highWatermark = 0;
  #onHighWatermark: () => void = () => undefined;
  #onAppend: () => void = () => undefined;
  /**
   * In a cluster, on the leader: its leader epoch, written into every batch it appends (the
   * partitionLeaderEpoch field, outside the CRC), so that replicas can find where epochs begin
   * (KIP-101). null: batches keep the field as encoded.
   */
  leaderEpoch: number | null = null;
  /** With replication: the end the other in-sync replicas hold durably (null: none to wait for). */
  #replicaLimit: number | null = null;
  /** Segments whose fsync is running: their changes are not yet known to be durable. */
  #inFlight: readonly LogSegment[] = [];
  #unsynced = new Set<LogSegment>();
  #offline: string | null = null;
  #probe: LogProbe;
  #rounds: CommitRounds;
  #closed = false;

  private constructor(fs: FileSystem, dir: string, config: LogConfig, probe: LogProbe, pool: FdPool, rounds: CommitRounds) {
    this.#fs = fs;
    this.#pool = pool;
    this.#rounds = rounds;
    this.dir = dir;
    this.config = config;
    this.#probe = probe;
  }

  /**
   * Opens the log in dir, creating it when missing. After a clean shutdown the indexes are loaded
   * as they are; otherwise every segment from the recovery point on is scanned batch by batch.
   * The files of segments other than the active one go to `fdPool` (a pool of its own when none).
   */
  static open(fs: FileSystem, dir: string, config: LogConfig, opts: { clean: boolean; probe?: LogProbe; fdPool?: FdPool; rounds?: CommitRounds }): Log {
    const log = new Log(fs, dir, config, opts.probe ?? {}, opts.fdPool ?? unboundedFdPool(), opts.rounds ?? commitRounds);
    makeDirDurable(fs, dir);
    const loaded = loadLog(fs, dir, config, opts.clean, log.#probe, log.#pool);
    log.#segments = loaded.segments;
    log.#segments[log.#segments.length - 1].setActive(true);
    log.#unsynced = loaded.unsynced;
    log.#durableOffset = loaded.durableOffset;
    log.#openedEnd = log.nextOffset;
    log.#offline = loaded.offline;
    log.#highWatermark = log.#visibleEnd();
    // what recovery kept past the recovery point may still be only in the page cache
    log.#queueSync();
    return log;
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

  /** The end of what readers may see (see the header): never above what is durable. */
  get highWatermark(): number {
    return this.#highWatermark;
  }

  /** Calls fn each time the high watermark moves (the partition wakes its waiters with it). */
  onHighWatermark(fn: () => void): void {
    this.#onHighWatermark = fn;
  }

  /** Calls fn after each append (a leader wakes the followers' fetches waiting at its end). */
  onAppend(fn: () => void): void {
    this.#onAppend = fn;
  }

  /**
   * The input of the high watermark. One broker: the local durable end. Replication: the minimum
   * of this and the replica limit: on a leader, the least durable end its in-sync followers
   * acknowledged; on a follower, the leader's high watermark.
   */
  #visibleEnd(): number {
    return this.#replicaLimit === null ? this.#durableOffset : Math.min(this.#durableOffset, this.#replicaLimit);
  }

  /**
   * Sets the replica limit (see #visibleEnd); null: this log alone decides. The high watermark
   * moves up to the new visible end at once; it never moves down.
   */
  setReplicaLimit(limit: number | null): void {
    this.#replicaLimit = limit;
    this.#advanceHighWatermark();
  }

  #advanceHighWatermark(): void {
    const hw = this.#visibleEnd();
    if (hw > this.#highWatermark) {
      this.#highWatermark = hw;
      this.#onHighWatermark();
    }
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
    return this.appendBatches(batch, [{ at: 0, count: recordCount }], maxTimestamp);
  }

  /**
   * Appends several encoded batches laid end to end in `bytes` (`at` is where each starts) with
   * one write, assigning consecutive base offsets; returns the first batch's. All or nothing, as
   * append: the batches share one segment and, on a write error, none of them is in the log.
   */
  appendBatches(bytes: Buffer, batches: ReadonlyArray<{ at: number; count: number }>, maxTimestamp: number): number {
    this.#checkOnline();
    let active = this.#segments[this.#segments.length - 1];
    if (this.#shouldRoll(active, bytes.length)) {
      try {
        active = this.#roll();
      } catch (err) {
        const message = `rolling a new segment in ${this.dir} failed: ${(err as Error).message}; nothing was written`;
        // The files were created but the directory fsync failed: the new entries might not
        // survive a power cut and a retry that succeeds proves nothing, so, as after any failed
        // fsync, nothing more is acknowledged. (A failed create leaves the log writable.)
        if (this.#fs.exists(path.join(this.dir, segmentFileName(this.nextOffset, '.log')))) {
          this.#offline = `${message}; the partition is offline`;
        }
        throw new WebkaError('STORAGE_ERROR', message);
      }
    }
    const baseOffset = active.nextOffset;
    let next = baseOffset;
    for (const b of batches) {
      writeInt64(bytes, b.at + BASE_OFFSET, next);
      if (this.leaderEpoch !== null) bytes.writeInt32BE(this.leaderEpoch, b.at + PARTITION_LEADER_EPOCH);
      next += b.count;
    }
    try {
      active.append(bytes, next - 1, maxTimestamp, this.config.indexIntervalBytes, batches.map((b) => b.at));
    } catch (err) {
      // the segment was cut back to its previous size; that cut is synced with the next flush
      this.#unsynced.add(active);
      throw new WebkaError('STORAGE_ERROR', `write to ${active.file} failed: ${(err as Error).message}; nothing was written`);
    }
    this.#unsynced.add(active);
    this.#queueSync();
    this.#onAppend();
    return baseOffset;
  }

  /**
   * Appends a leader's batches as they are (a follower's copy): their offsets must continue this
   * log's end exactly, batch after batch, and nothing in them is rewritten, so the copy holds the
   * same bytes at the same offsets. All or nothing, as appendBatches. Returns the new log end.
   */
  appendReplicated(bytes: Buffer): number {
    this.#checkOnline();
    const positions: number[] = [];
    let next = this.nextOffset;
    let maxTimestamp = -1;
    for (let pos = 0; pos < bytes.length; ) {
      if (pos + LOG_OVERHEAD > bytes.length) throw new WebkaError('CORRUPT_RECORD', `a replicated batch at position ${pos} is cut short`);
      const size = LOG_OVERHEAD + bytes.readInt32BE(pos + BATCH_LENGTH);
      if (size < BATCH_HEADER_SIZE || pos + size > bytes.length) throw new WebkaError('CORRUPT_RECORD', `a replicated batch at position ${pos} claims ${size} bytes of ${bytes.length - pos}`);
      if (baseOffsetAt(bytes, pos) !== next) throw new WebkaError('CORRUPT_RECORD', `a replicated batch starts at offset ${baseOffsetAt(bytes, pos)}, not at this copy's end ${next}`);
      positions.push(pos);
      next = lastOffsetAt(bytes, pos) + 1;
      maxTimestamp = Math.max(maxTimestamp, maxTimestampAt(bytes, pos));
      pos += size;
    }
    if (positions.length === 0) return this.nextOffset;
    let active = this.#segments[this.#segments.length - 1];
    if (this.#shouldRoll(active, bytes.length)) active = this.#roll();
    try {
      active.append(bytes, next - 1, maxTimestamp, this.config.indexIntervalBytes, positions);
    } catch (err) {
      this.#unsynced.add(active);
      throw new WebkaError('STORAGE_ERROR', `write to ${active.file} failed: ${(err as Error).message}; nothing was written`);
    }
    this.#unsynced.add(active);
    this.#queueSync();
    this.#onAppend();
    return next;
  }

  #shouldRoll(active: LogSegment, incoming: number): boolean {
    if (active.isEmpty) return false;
    if (active.size + incoming > this.config.segmentBytes) return true;
    if (Date.now() - active.createdAt >= this.config.segmentMs) return true;
    // relative offsets in the index are int32
    return active.nextOffset - active.baseOffset > 0x7fff0000;
  }

  #roll(): LogSegment {
    const seg = LogSegment.create(this.#fs, this.dir, this.nextOffset, this.#pool);
    seg.setActive(true);
    this.#segments[this.#segments.length - 1].setActive(false);
    this.#segments.push(seg);
    // the rolled segment's indexes are final: their fsync lets the fd pool close them
    this.#queueSync();
    return seg;
  }

  /**
   * Resolves once every offset below `upTo` (at most the log end) is fsynced. Callers arriving
   * while an fsync runs wait for it and then share the next one (group commit). A failed fsync
   * takes the log offline and rejects every waiter: the data may or may not be on disk, and is
   * never acknowledged. Each turn of the loop either returns or waits for an fsync that moves
   * durableOffset to the log end as it was when the fsync started, so it cannot spin.
   */
  async flush(upTo: number = this.nextOffset): Promise<void> {
    // (an offline log may have cut what it appended past its durable end: asking is an error)
    if (upTo > this.#durableOffset) this.#checkOnline();
    const target = Math.min(upTo, this.nextOffset);
    while (this.#durableOffset < target) {
      this.#checkOnline();
      await this.#startSync();
    }
  }

  /**
   * Starts an fsync unless one runs; returns the running one. It runs in the next commit round
   * (commit-rounds.ts) with the fsyncs of every other log that has unsynced data by then.
   */
  #startSync(): Promise<void> {
    if (this.#syncing === null) {
      const sync = this.#rounds.join(() => this.#sync()).finally(() => {
        this.#syncing = null;
        this.#advanceHighWatermark();
        // data appended while this fsync ran gets the next one at once
        if (this.#durableOffset < this.nextOffset) this.#queueSync();
      });
      // waiters see the error through flush(); a background fsync nobody waits for must not
      // become an unhandled rejection (the log is offline and says why)
      sync.catch(() => undefined);
      this.#syncing = sync;
    }
    return this.#syncing;
  }

  /**
   * Says whether someone waits to read past the high watermark (the partition's long polls and
   * streams): then unsynced data is fsynced at once instead of at the paced time.
   */
  setSyncDemand(fn: () => boolean): void {
    this.#demand = fn;
  }

  /** A reader started waiting: fsync what is unsynced now rather than at the paced time. */
  syncSoon(): void {
    this.#queueSync(true);
  }

  /**
   * Keeps an fsync in flight whenever unsynced data exists, so acks=0 and acks=1 data becomes
   * durable, and visible, within one group commit. When a reader waits (or a producer, through
   * flush()) it starts at the end of the current turn, so the appends of one turn share it; when
   * nobody waits it starts BACKGROUND_SYNC_MS later, so that a stream of acks=1 appends with no
   * reader costs about 100 fsyncs a second rather than one after another.
   */
  #queueSync(urgent: boolean = this.#demand()): void {
    if (urgent) {
      if (this.#syncQueued) return;
      this.#syncQueued = true;
      queueMicrotask(() => {
        this.#syncQueued = false;
        this.#backgroundSync();
      });
      return;
    }
    if (this.#paceTimer !== null) return;
    this.#paceTimer = setTimeout(() => {
      this.#paceTimer = null;
      this.#backgroundSync();
    }, BACKGROUND_SYNC_MS);
    this.#paceTimer.unref();
  }

  #backgroundSync(): void {
    if (this.#syncing !== null || this.#offline !== null || this.#closed) return;
    // (a rolled segment's indexes too: until synced they hold their descriptors, and the recovery point)
    if (this.#durableOffset < this.nextOffset || this.#unsynced.size > 0 || this.#rolledIndexesDirty()) void this.#startSync();
  }

  #rolledIndexesDirty(): boolean {
    for (let i = this.#segments.length - 2; i >= 0; i--) if (this.#segments[i].indexesDirty) return true;
    return false;
  }

  async #sync(): Promise<void> {
    const target = this.nextOffset;
    const segs = [...this.#unsynced];
    this.#unsynced.clear();
    // a rolled segment's indexes are final: fsync them once, so that a recovery point can cover it
    const active = this.#segments[this.#segments.length - 1];
    const rolled = this.#segments.filter((s) => s !== active && s.indexesDirty);
    // a segment that retention or the cleaner removed meanwhile no longer matters (its fd is closed)
    const settled = (s: LogSegment, p: Promise<void>): Promise<void> =>
      p.catch((err: unknown) => {
        if (this.#segments.includes(s)) throw err;
      });
    const started = performance.now();
    this.#inFlight = [...segs, ...rolled];
    // Older segments first, the active one after: what is durable is then always a prefix of the
    // log, so a power cut can never keep new data behind an older segment's unsynced tail or cut
    // (which the next start would have to take for mid-log damage). Two fsyncs in a row happen
    // only after a roll or a recovery cut; the common case is the active segment alone.
    const older = segs.filter((s) => s !== active);
    try {
      await Promise.all([...older.map((s) => settled(s, s.flush())), ...rolled.map((s) => settled(s, s.flushIndexes()))]);
      if (segs.includes(active)) await settled(active, active.flush());
    } catch (err) {
      this.#offline = `fsync of ${this.dir} failed: ${(err as Error).message}; appends since the last fsync are not acknowledged`;
      this.#dropUnsynced();
      throw new WebkaError('PARTITION_OFFLINE', this.#offline);
    } finally {
      this.#inFlight = [];
    }
    this.#probe.fsyncDone?.(performance.now() - started);
    if (target > this.#durableOffset) this.#durableOffset = target;
  }

  /**
   * After a failed fsync Linux may keep the unsynced pages in the page cache marked clean: they
   * read back fine but no later fsync writes them, so a restart of the process would find them,
   * serve them and append after them, and a power cut would then leave a hole before acknowledged
   * data. Cut what this run appended past the durable offset now (none of it was acknowledged);
   * what the cut misses (the process dies first; or a previous run's unsynced tail, found by an
   * unclean start, whose first fsync fails) lies past the flushed offset, where recovery may
   * cut it but cannot tell that it was never written.
   */
  #dropUnsynced(): void {
    // Only what this run appended: after an unclean start durableOffset is a lower bound, and
    // what was found on disk past it may have been acknowledged by the previous run.
    const keep = Math.max(this.#durableOffset, this.#openedEnd);
    for (const seg of this.#segments) {
      if (seg.nextOffset <= keep) continue;
      const position = seg.baseOffset >= keep ? 0 : seg.positionOf(keep);
      if (position < 0) continue;
      try {
        seg.truncateBytes(position, Math.max(seg.baseOffset, keep));
      } catch {
        // a failing disk: recovery cuts the rest at the next start
      }
    }
  }

  /**
   * Writes the recovery point and the flushed offset (only when one moved; format in
   * log-loader.ts), so that the next unclean start scans less and knows what it must not cut.
   * An unclean start trusts every segment that ends at or below the recovery point, data and
   * indexes as they are, so it stops at the first segment with a change (a write, a cut, an index
   * entry) not yet known to be fsynced. The active segment is scanned anyway, so stopping at its
   * base costs nothing. Below the flushed offset everything was fsynced: recovery takes damage
   * there for corruption (offline), never for a torn tail to cut.
   */
  checkpoint(): void {
    if (this.#offline !== null || this.#closed) return;
    let point = this.#durableOffset;
    const dirty = this.#segments.find((s) => s.indexesDirty || this.#unsynced.has(s) || this.#inFlight.includes(s));
    if (dirty !== undefined && dirty.baseOffset < point) point = dirty.baseOffset;
    const text = formatCheckpoint({ recoveryPoint: point, flushedOffset: this.#durableOffset });
    if (text === this.#checkpointed) return;
    this.#fs.writeFileAtomic(path.join(this.dir, RECOVERY_POINT_FILE), text);
    this.#checkpointed = text;
  }

  /**
   * Reads whole batches from the one holding `offset`, about maxBytes of them (always at least
   * one batch, so a batch larger than maxBytes still makes progress), stopping before the first
   * batch that starts at or after `limit` (readers pass the high watermark). Empty at the end.
   * Throws OFFSET_OUT_OF_RANGE outside [logStartOffset, nextOffset]: an offset between the high
   * watermark and the log end is one a producer was given, and becomes readable once durable.
   * Batch headers that cannot be right (a length below the header size, offsets that do not
   * follow on) take the log offline and throw CORRUPT_RECORD: the CRC that the partition checks
   * does not cover baseOffset.
   *
   * With maxRecords, the batches stop after the one that reaches offset + maxRecords, and the
   * file is read in about that many records' bytes (the segment's average per offset, and some to
   * spare) rather than maxBytes: a fetch of 1,000 small records then reads tens of KB, not 1 MiB.
   * When the estimate falls short, the rest is read as before, up to maxBytes.
   */
  read(offset: number, maxBytes: number, limit: number = this.nextOffset, maxRecords = Infinity): Buffer {
    if (this.#offline !== null) throw new WebkaError('PARTITION_OFFLINE', this.#offline);
    if (offset < this.logStartOffset || offset > this.nextOffset) {
      throw new WebkaError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} is outside the log: valid offsets are ${this.logStartOffset} to ${this.nextOffset} (the log end, to wait for the next record)`,
        { logStartOffset: this.logStartOffset, highWatermark: this.nextOffset },
      );
    }
    if (offset >= limit) return Buffer.alloc(0);
    for (let i = this.#segmentIndexFor(offset); i < this.#segments.length; i++) {
      const seg = this.#segments[i];
      const pos = seg.positionOf(offset);
      if (pos < 0) {
        // the segment holds offset but no batch was found for it: a damaged length stopped the scan
        if (offset < seg.nextOffset) this.#corrupt(seg, offset, 'no batch holding it could be found');
        continue;
      }
      const wanted = offset + maxRecords;
      const fullBytes = Math.max(maxBytes, LOG_OVERHEAD);
      let readBytes = fullBytes;
      if (maxRecords !== Infinity) {
        const perOffset = seg.size / Math.max(1, seg.nextOffset - seg.baseOffset);
        readBytes = Math.min(fullBytes, Math.ceil(perOffset * maxRecords * 1.25) + READ_SLACK);
      }
      let buf = seg.read(pos, readBytes);
      // keep whole batches; when the first batch is larger than maxBytes read it whole
      let end = 0;
      let next = offset;
      for (;;) {
        if (readBytes < fullBytes && buf.length === readBytes && (end + LOG_OVERHEAD > buf.length || end + LOG_OVERHEAD + buf.readInt32BE(end + BATCH_LENGTH) > buf.length)) {
          // the estimate fell short of maxRecords' batches: read on to maxBytes, as without it
          buf = seg.read(pos, fullBytes);
          readBytes = fullBytes;
        }
        if (end + LOG_OVERHEAD > buf.length) break;
        const size = LOG_OVERHEAD + buf.readInt32BE(end + BATCH_LENGTH);
        if (size < BATCH_HEADER_SIZE) this.#corrupt(seg, offset, `the batch at position ${pos + end} claims ${size} bytes`);
        if (end + size > buf.length) {
          if (end > 0) break;
          buf = seg.read(pos, size);
          if (buf.length < size) this.#corrupt(seg, offset, `the batch at position ${pos} claims ${size} bytes, past the end of the file`);
        }
        // offsets are dense: the first batch holds offset, each next one starts where it ended
        const base = baseOffsetAt(buf, end);
        const last = lastOffsetAt(buf, end);
        if (end === 0 ? base > offset || last < offset : base !== next) {
          this.#corrupt(seg, offset, `the batch at position ${pos + end} has offsets ${base} to ${last}, expected ${end === 0 ? 'them to hold' : 'a start at'} ${next}`);
        }
        next = last + 1;
        end += size;
        if (next >= limit || next >= wanted) break;
      }
      if (end > 0) seg.hint(next, pos + end);
      return buf.subarray(0, end);
    }
    return Buffer.alloc(0);
  }

  #corrupt(seg: LogSegment, offset: number, problem: string): never {
    const reason = `corrupt batch header in ${seg.file} while reading offset ${offset}: ${problem}; the partition is offline`;
    this.markOffline(reason);
    throw new WebkaError('CORRUPT_RECORD', reason);
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

  /** The leader epoch of the last batch (-1 for an empty log). */
  lastLeaderEpoch(): number {
    let epoch = -1;
    const last = this.#segments[this.#segments.length - 1];
    for (const seg of last.isEmpty && this.#segments.length > 1 ? this.#segments.slice(-2) : [last]) {
      seg.scan(0, (buf, pos) => {
        epoch = buf.readInt32BE(pos + PARTITION_LEADER_EPOCH);
        return true;
      });
    }
    return epoch;
  }

  /**
   * KIP-101's OffsetsForLeaderEpoch on this log: the end of `epoch` here, which is where the
   * first batch of a later epoch starts, or the log end when no later epoch has written. A
   * follower whose last batch is of `epoch` truncates to this before it fetches.
   */
  endOffsetForEpoch(epoch: number): number {
    let end = this.nextOffset;
    for (const seg of this.#segments) {
      if (end !== this.nextOffset) break;
      seg.scan(0, (buf, pos) => {
        if (buf.readInt32BE(pos + PARTITION_LEADER_EPOCH) > epoch) {
          end = baseOffsetAt(buf, pos);
          return false;
        }
        return true;
      });
    }
    return end;
  }

  /**
   * Kafka's OffsetForLeaderEpoch for an epoch before the current one: the largest epoch at or
   * below `epoch` that wrote a batch here (or `epoch` itself when none did), and where `epoch`
   * ends (the first batch of a later epoch, or the log end). Batches with no epoch (-1) count
   * for neither.
   */
  epochEnd(epoch: number): { epoch: number; endOffset: number } {
    let floor = -1;
    let end = this.nextOffset;
    for (const seg of this.#segments) {
      if (end !== this.nextOffset) break;
      seg.scan(0, (buf, pos) => {
        const e = buf.readInt32BE(pos + PARTITION_LEADER_EPOCH);
        if (e > epoch) {
          end = baseOffsetAt(buf, pos);
          return false;
        }
        if (e > floor) floor = e;
        return true;
      });
    }
    return { epoch: floor >= 0 ? floor : epoch, endOffset: end };
  }

  /**
   * Removes every batch from `offset` on (a follower whose copy diverged from its leader's:
   * batches of an epoch the leader did not keep). `offset` must be a batch boundary at or after
   * the log start; the cut is fsynced before this resolves. The high watermark and the durable end
   * come down with it.
   */
  async truncateTo(offset: number): Promise<void> {
    this.#checkOnline();
    if (offset >= this.nextOffset) return;
    if (offset < this.logStartOffset) throw new WebkaError('OFFSET_OUT_OF_RANGE', `cannot truncate ${this.dir} to ${offset}, below its log start ${this.logStartOffset}`);
    if (this.#syncing !== null) await this.#syncing.catch(() => undefined);
    while (this.#segments.length > 1 && this.#segments[this.#segments.length - 1].baseOffset >= offset) {
      const seg = this.#segments.pop()!;
      this.#unsynced.delete(seg);
      seg.delete();
    }
    const active = this.#segments[this.#segments.length - 1];
    if (active.nextOffset > offset) {
      const position = active.baseOffset >= offset ? 0 : active.positionOf(offset);
      if (position < 0) throw new WebkaError('CORRUPT_RECORD', `no batch starts at ${offset} in ${active.file}`);
      active.truncateBytes(position, offset);
    }
    active.setActive(true);
    this.#unsynced.add(active);
    this.#fs.syncDir(this.dir);
    if (this.#durableOffset > offset) this.#durableOffset = offset;
    if (this.#highWatermark > offset) this.#highWatermark = offset;
    if (this.#openedEnd > offset) this.#openedEnd = offset;
    await this.flush();
    await this.#startSync();
    this.checkpoint();
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
      this.#advanceHighWatermark();
    }
    return deleted;
  }

  /**
   * Replaces a closed segment with its cleaned copy (the log cleaner's output: the same batches'
   * offsets, fewer records), so that a crash at any point leaves either the old or the new one:
   *   1. write `<base>.log.cleaned` and fsync it          (a crash here: recovery deletes it)
   *   2. rename it to `<base>.log.swap`, fsync the dir    (the swap is decided)
   *   3. delete the old indexes, rename `.swap` over `<base>.log`, fsync the dir
   *   4. open the new file and rebuild its indexes from its batches
   * Recovery completes step 3 for a `.swap` file it finds (log-loader.ts). The data
   * must cover the same offsets with dense batches (reads check that each starts where the
   * previous ended).
   * Returns false when the segment is no longer this log's closed segment (retention or a
   * close got there first while the copy was being synced); then nothing changed.
   */
  async replaceSegment(segment: LogSegment, data: Buffer): Promise<boolean> {
    const closed = (): boolean => this.#offline === null && !this.#closed && this.#segments.indexOf(segment) >= 0 && segment !== this.#segments[this.#segments.length - 1];
    if (!closed()) return false;
    const cleaned = `${segment.file}.cleaned`;
    const fd = this.#fs.open(cleaned, true);
    try {
      this.#fs.truncate(fd, 0);
      this.#fs.write(fd, data, 0);
      await this.#fs.datasync(fd);
    } finally {
      this.#fs.close(fd);
    }
    if (!closed()) {
      // (a deleted topic took the directory with it)
      if (this.#fs.exists(cleaned)) this.#fs.unlink(cleaned);
      return false;
    }
    const swap = `${segment.file}.swap`;
    this.#fs.rename(cleaned, swap);
    this.#fs.syncDir(this.dir);
    segment.close();
    completeSwap(this.#fs, this.dir, segment.baseOffset);
    const next = LogSegment.open(this.#fs, this.dir, segment.baseOffset, this.#pool);
    next.recover(this.config.indexIntervalBytes);
    this.#segments[this.#segments.indexOf(segment)] = next;
    this.#unsynced.delete(segment);
    return true;
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
    if (this.#paceTimer !== null) clearTimeout(this.#paceTimer);
    for (const s of this.#segments) s.close();
  }

  /** Closes and removes the whole directory (topic deletion). */
  async deleteAll(): Promise<void> {
    this.#closed = true;
    if (this.#paceTimer !== null) clearTimeout(this.#paceTimer);
    if (this.#syncing) await this.#syncing.catch(() => undefined);
    for (const s of this.#segments) s.close();
    this.#fs.rmrf(this.dir);
    this.#fs.syncDir(path.dirname(this.dir));
  }
}

