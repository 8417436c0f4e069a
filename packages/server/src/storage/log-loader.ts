/**
 * Opening a log directory (Log.open): finishes a segment swap that a crash interrupted, removes
 * temp files, loads the segments and, after an unclean stop, scans every segment from the recovery
 * point on batch by batch. Bad bytes past the recovery point are a torn tail, cut at the first bad
 * byte (and the cut joins the first flush), even when valid batches follow them: a power cut may
 * keep later unsynced writes and lose earlier ones. Damage below the recovery point (data that
 * was fsynced and checkpointed) is never cut: the log opens offline.
 *
 *   clean stop:    every segment's indexes are loaded as they are; all of it is durable
 *   unclean stop:  segments below the recovery point are trusted from their indexes (and scanned
 *                  after all when one turns out to reach past it); the rest are scanned; only
 *                  what the recovery point covers counts as durable until the first fsync
 */
import path from 'node:path';
import type { FileSystem } from './file-system.js';
import { LogSegment, segmentFileName, type RecoverResult } from './log-segment.js';
import type { FdPool } from './fd-pool.js';
import type { LogConfig, LogProbe } from './log.js';

export const RECOVERY_POINT_FILE = 'recovery-point';

/** What Log.open starts from. */
export interface LoadedLog {
  segments: LogSegment[];
  /** Segments whose content (what a scan read, a cut) may be in the page cache only. */
  unsynced: Set<LogSegment>;
  durableOffset: number;
  offline: string | null;
}

export function loadLog(fs: FileSystem, dir: string, config: LogConfig, clean: boolean, probe: LogProbe, pool: FdPool): LoadedLog {
  finishInterruptedSwaps(fs, dir);
  const segments: LogSegment[] = [];
  const unsynced = new Set<LogSegment>();
  let offline: string | null = null;
  const nextOffset = (): number => segments[segments.length - 1].nextOffset;
  const bases = fs
    .readdir(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .map((f) => Number(f.slice(0, 20)))
    .sort((a, b) => a - b);
  // leftovers of an interrupted atomic write or segment deletion
  for (const f of fs.readdir(dir)) {
    if (f.endsWith('.tmp')) fs.unlink(path.join(dir, f));
  }
  const checkpoint = readRecoveryPoint(fs, dir);
  if (bases.length === 0) {
    segments.push(LogSegment.create(fs, dir, Math.max(0, checkpoint?.recoveryPoint ?? 0), pool));
    return { segments, unsynced, durableOffset: nextOffset(), offline };
  }
  for (const base of bases) segments.push(LogSegment.open(fs, dir, base, pool));
  const recoveryPoint = checkpoint?.recoveryPoint ?? bases[0];
  // Offsets below this were fsynced when the last checkpoint was written (a clean stop writes
  // one after its final fsync): damage there takes the partition offline; only what lies at or
  // past it may be cut.
  const promised = checkpoint?.flushedOffset ?? bases[0];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const next = segments[i + 1];
    const needsScan = !clean && (next === undefined || next.baseOffset > recoveryPoint);
    let result = needsScan ? seg.recover(config.indexIntervalBytes) : seg.loadIndexes(config.indexIntervalBytes);
    // a trusted segment that reaches past the recovery point grew a tail it never covered
    const unchecked = !clean && !needsScan && result === null && seg.nextOffset > recoveryPoint;
    if (unchecked) result = seg.recover(config.indexIntervalBytes);
    // what a scan read may be in the page cache only, a cut by the previous run included
    if (needsScan || unchecked) unsynced.add(seg);
    const invalid = result !== null && result.invalidBytes > 0;
    // A power cut can take a segment's unsynced tail whole, at a batch boundary, while the
    // segment rolled after it survives (empty): its base would leave a gap in the offsets.
    const gap = next !== undefined && seg.nextOffset !== next.baseOffset;
    if (!invalid && !gap) continue;
    const reason = invalid ? (result as RecoverResult).reason : `the segment ends at offset ${seg.nextOffset} but the next one starts at ${(next as LogSegment).baseOffset}`;
    // the first offset that the damage (bad bytes, or a gap) takes away
    const damaged = invalid ? (result as RecoverResult).nextOffset : seg.nextOffset;
    if (damaged < promised) {
      offline =
        `corruption below the recovery point in ${seg.file}: ${reason}; offsets below ${promised} were fsynced, so nothing was truncated. ` +
        'The segment is kept for inspection; the partition is offline until an operator repairs or removes it.';
      probe.recovered?.(dir, { truncatedBytes: 0, reason: offline });
      break;
    }
    // Past the recovery point nothing was promised durable (what a crash leaves there is any
    // subset of the unsynced writes: a hole, then valid batches written later, is still a torn
    // tail): cut at the first bad byte and drop the segments after it, all of whose offsets lie
    // past it too. (Data fsynced since the last checkpoint is not told apart from data that was
    // not: only a checkpoint makes damage to it detectable rather than cut.)
    if (invalid) {
      const r = result as RecoverResult;
      // The cut reaches the disk with the next fsync, which must include this segment: if a later
      // segment's data became durable first, a power cut would bring the torn bytes back in front
      // of it. A segment trusted from its indexes that turned out to have a torn tail (loadIndexes
      // falls back to a scan) was not in `unsynced` yet.
      unsynced.add(seg);
      seg.truncateBytes(r.validBytes, r.nextOffset);
      probe.recovered?.(dir, { truncatedBytes: r.invalidBytes, reason: r.reason });
    }
    for (const later of segments.splice(i + 1)) {
      if (!later.isEmpty) probe.recovered?.(dir, { truncatedBytes: later.size, reason: `${later.file} follows a torn tail at offset ${damaged}` });
      later.delete();
    }
    fs.syncDir(dir);
    break;
  }
  if (offline === null && nextOffset() < promised) {
    // whole batches below the recovery point are missing (the file is shorter than what was fsynced)
    offline =
      `the log ends at offset ${nextOffset()} but offsets below the recovery point ${promised} were fsynced; ` +
      'the partition is offline until an operator repairs or removes it.';
    probe.recovered?.(dir, { truncatedBytes: 0, reason: offline });
  }
  for (const seg of unsynced) if (!segments.includes(seg)) unsynced.delete(seg);
  if (clean) return { segments, unsynced, durableOffset: nextOffset(), offline };
  // A segment that ends exactly at the recovery point was trusted, but the previous run may have
  // appended to it and had that cut back by an earlier recovery whose cut is still only in the
  // page cache (a kill -9 keeps it there): the first flush makes its file durable too, before
  // any later segment (older first), so a power cut cannot put old torn bytes in front of data.
  if (offline === null) for (const seg of segments) if (seg.nextOffset >= recoveryPoint) unsynced.add(seg);
  // After an unclean stop only what the recovery point covers is known to be on disk: the rest
  // may sit in the page cache (the process died, not the machine). The first flush fsyncs it
  // before anything in it is acknowledged (an idempotent producer's retry, say).
  const logStartOffset = segments[0].baseOffset;
  return { segments, unsynced, durableOffset: Math.min(nextOffset(), Math.max(promised, logStartOffset)), offline };
}

/**
 * The `recovery-point` file, written by Log.checkpoint() (temp file, fsync, rename, directory
 * fsync): two decimal offsets separated by a space, `<recoveryPoint> <flushedOffset>`.
 *   recoveryPoint  segments that end at or below it are trusted as they are, data and indexes
 *   flushedOffset  every offset below it was fsynced (at or above recoveryPoint: the active
 *                  segment's indexes are rarely synced, its data is)
 * An older broker wrote the recovery point alone; it is then both.
 */
export interface Checkpoint {
  recoveryPoint: number;
  flushedOffset: number;
}

export function formatCheckpoint(c: Checkpoint): string {
  return `${c.recoveryPoint} ${c.flushedOffset}`;
}

function readRecoveryPoint(fs: FileSystem, dir: string): Checkpoint | null {
  const file = path.join(dir, RECOVERY_POINT_FILE);
  if (!fs.exists(file)) return null;
  const [point, flushed = point] = fs.readFile(file).toString('utf8').trim().split(' ').map(Number);
  const valid = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
  return valid(point) && valid(flushed) && flushed >= point ? { recoveryPoint: point, flushedOffset: flushed } : null;
}

/** Step 3 of Log.replaceSegment: the `.swap` file takes the place of the segment's `.log`. */
export function completeSwap(fs: FileSystem, dir: string, baseOffset: number): void {
  const file = (suffix: string): string => path.join(dir, segmentFileName(baseOffset, suffix));
  for (const index of [file('.index'), file('.timeindex')]) if (fs.exists(index)) fs.unlink(index);
  fs.rename(file('.log.swap'), file('.log'));
  fs.syncDir(dir);
}

/** Leftovers of a replaceSegment cut short by a crash: unfinished copies go, decided swaps finish. */
function finishInterruptedSwaps(fs: FileSystem, dir: string): void {
  for (const f of fs.readdir(dir)) {
    if (/^\d{20}\.log\.cleaned$/.test(f)) fs.unlink(path.join(dir, f));
    else if (/^\d{20}\.log\.swap$/.test(f)) completeSwap(fs, dir, Number(f.slice(0, 20)));
  }
}
