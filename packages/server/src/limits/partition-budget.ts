/**
 * How many partitions this broker may hold, all topics together, and what that costs in open
 * files. What storage keeps open:
 *   - each partition's active segment: its log and two indexes, FILES_PER_PARTITION, for good
 *   - the files of every other segment: in the fd pool (storage/fd-pool.ts), at most
 *     maxOpenSegmentFiles at once, whatever the number of segments (beyond it only while a file
 *     is in use or awaits its fsync: a segment that just rolled, for one group commit)
 * so the process needs RESERVED_FILES + FILES_PER_PARTITION x maxPartitions + maxOpenSegmentFiles
 * descriptors. Past the open-file limit, opening a file fails with EMFILE, a segment roll takes
 * its partition offline and the next start fails. So the budget is checked once at start against
 * the limit (`ulimit -n`, which Node raises to the hard limit), and topic creation and partition
 * growth are refused past it, with the setting named.
 */
import fs from 'node:fs';

export const FILES_PER_PARTITION = 3;
/** Open files kept for everything else: sockets of clients, the catalog, checkpoints. */
export const RESERVED_FILES = 512;
/** maxOpenSegmentFiles when not set. */
export const DEFAULT_OPEN_SEGMENT_FILES = 1_024;

/** The soft limit on open files, where the platform tells it (Linux); null elsewhere. */
export function openFileLimit(): number | null {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft === undefined || soft === 'unlimited' ? null : Number(soft);
  } catch {
    return null;
  }
}

/**
 * The partition budget: maxPartitions when set (0: what the open-file limit allows once the fd
 * pool's segmentFiles are set aside). Throws, naming the settings, when they need more open files
 * than the limit gives.
 */
export function partitionBudget(maxPartitions: number, limit: number | null, segmentFiles: number = DEFAULT_OPEN_SEGMENT_FILES): number {
  if (limit === null) return maxPartitions > 0 ? maxPartitions : 100_000;
  const fits = Math.floor((limit - RESERVED_FILES - segmentFiles) / FILES_PER_PARTITION);
  if (fits < 1) {
    throw new Error(
      `maxOpenSegmentFiles is ${segmentFiles}, but the open-file limit (ulimit -n) is ${limit}: with ${RESERVED_FILES} kept for connections no partition fits. Raise the limit (ulimit -n, LimitNOFILE) or lower maxOpenSegmentFiles`,
    );
  }
  if (maxPartitions === 0) return fits;
  if (maxPartitions > fits) {
    throw new Error(
      `maxPartitions is ${maxPartitions}, but the open-file limit (ulimit -n) is ${limit}: each partition keeps ${FILES_PER_PARTITION} files of its active segment open, the files of older segments share maxOpenSegmentFiles (${segmentFiles}) and ${RESERVED_FILES} are kept for connections, so at most ${fits} partitions fit. Raise the limit (ulimit -n, LimitNOFILE), or lower maxPartitions or maxOpenSegmentFiles`,
    );
  }
  return maxPartitions;
}
