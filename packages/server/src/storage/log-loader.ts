/**
 * Opening a log directory (Log.open): finishes a segment swap that a crash interrupted, removes
 * temp files, loads the segments and, after an unclean stop, scans every segment from the recovery
 * point on batch by batch. A torn or corrupt tail is cut (and the cut joins the first flush); bad
 * bytes followed by valid data are mid-log corruption: nothing is cut and the log opens offline.
 *
 *   clean stop:    every segment's indexes are loaded as they are; all of it is durable
 *   unclean stop:  segments below the recovery point are trusted from their indexes (and scanned
 *                  after all when one turns out to reach past it); the rest are scanned; only
 *                  what the recovery point covers counts as durable until the first fsync
 */
import path from 'node:path';
import type { FileSystem } from './file-system.js';
import { LogSegment, segmentFileName, type RecoverResult } from './log-segment.js';
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

export function loadLog(fs: FileSystem, dir: string, config: LogConfig, clean: boolean, probe: LogProbe): LoadedLog {
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
  let recoveryPoint = readRecoveryPoint(fs, dir);
  if (bases.length === 0) {
    segments.push(LogSegment.create(fs, dir, Math.max(0, recoveryPoint)));
    return { segments, unsynced, durableOffset: nextOffset(), offline };
  }
  for (const base of bases) segments.push(LogSegment.open(fs, dir, base));
  if (recoveryPoint < 0) recoveryPoint = bases[0];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const next = segments[i + 1];
    const needsScan = !clean && (next === undefined || next.baseOffset > recoveryPoint);
    let result = needsScan ? seg.recover(config.indexIntervalBytes, config.maxBatchBytes) : seg.loadIndexes(config.indexIntervalBytes, config.maxBatchBytes);
    // a trusted segment that reaches past the recovery point grew a tail it never covered
    const unchecked = !clean && !needsScan && result === null && seg.nextOffset > recoveryPoint;
    if (unchecked) result = seg.recover(config.indexIntervalBytes, config.maxBatchBytes);
    // what a scan read may be in the page cache only, a cut by the previous run included
    if (needsScan || unchecked) unsynced.add(seg);
    const invalid = result !== null && result.invalidBytes > 0;
    // A power cut can take a segment's unsynced tail whole, at a batch boundary, while the
    // segment rolled after it survives (empty): its base would leave a gap in the offsets.
    const gap = next !== undefined && seg.nextOffset !== next.baseOffset;
    if (!invalid && !gap) continue;
    const reason = invalid ? (result as RecoverResult).reason : `the segment ends at offset ${seg.nextOffset} but the next one starts at ${(next as LogSegment).baseOffset}`;
    const laterData = segments.slice(i + 1).some((s) => !s.isEmpty);
    if ((invalid && (result as RecoverResult).validAfterInvalid) || laterData) {
      offline =
        `mid-log corruption in ${seg.file}: ${reason}; valid data follows, so nothing was truncated. ` +
        'The segment is kept for inspection; the partition is offline until an operator repairs or removes it.';
      probe.recovered?.(dir, { truncatedBytes: 0, reason: offline });
      break;
    }
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
    // segments rolled after the lost tail are empty and would leave a gap in offsets
    for (const empty of segments.splice(i + 1)) empty.delete();
    fs.syncDir(dir);
    break;
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
  return { segments, unsynced, durableOffset: Math.min(nextOffset(), Math.max(recoveryPoint, logStartOffset)), offline };
}

function readRecoveryPoint(fs: FileSystem, dir: string): number {
  const file = path.join(dir, RECOVERY_POINT_FILE);
  if (!fs.exists(file)) return -1;
  const n = Number(fs.readFile(file).toString('utf8').trim());
  return Number.isSafeInteger(n) && n >= 0 ? n : -1;
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
