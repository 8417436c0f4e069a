/**
 * How many partitions this broker may hold, all topics together. Every partition keeps its
 * segment files open (a log and two indexes per segment: at least FILES_PER_PARTITION), so the
 * process's open-file limit bounds the partitions it can serve; past it, opening a file fails with
 * EMFILE, a segment roll takes its partition offline and the next start fails. So the budget is
 * checked once at start against the limit (`ulimit -n`, which Node raises to the hard limit), and
 * topic creation and partition growth are refused past it, with the setting named.
 */
import fs from 'node:fs';

export const FILES_PER_PARTITION = 3;
/** Open files kept for everything else: sockets of clients, the catalog, checkpoints. */
export const RESERVED_FILES = 512;

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
 * The partition budget: maxPartitions when set (0: what the open-file limit allows). Throws,
 * naming the setting, when maxPartitions needs more open files than the limit gives.
 */
export function partitionBudget(maxPartitions: number, limit: number | null): number {
  if (limit === null) return maxPartitions > 0 ? maxPartitions : 100_000;
  const fits = Math.max(1, Math.floor((limit - RESERVED_FILES) / FILES_PER_PARTITION));
  if (maxPartitions === 0) return fits;
  if (maxPartitions > fits) {
    throw new Error(
      `maxPartitions is ${maxPartitions}, but the open-file limit (ulimit -n) is ${limit}: each partition keeps at least ${FILES_PER_PARTITION} files open and ${RESERVED_FILES} are kept for connections, so at most ${fits} fit. Raise the limit (ulimit -n, LimitNOFILE) or lower maxPartitions`,
    );
  }
  return maxPartitions;
}
