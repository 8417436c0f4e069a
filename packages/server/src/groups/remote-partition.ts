/**
 * A partition a group is read from on a broker that does not lead it: the coordinator reads the
 * leader's copy, as a Kafka consumer would (its own may be a follower's, behind the leader, or
 * none at all: with fewer replicas than brokers, the coordinator often holds no replica).
 *
 * The group's poll reads synchronously (member-reader.ts), so this view answers from what it
 * has and fetches the rest in the background: a read at an offset it does not hold starts one
 * fetch from the leader (a long poll: it comes back when the leader has records past the offset,
 * or after REMOTE_WAIT_MS) and returns nothing now; when the fetch lands, subscribers are woken
 * (a waiting poll reads again). When a read takes a chunk to its end, the next fetch starts at
 * once, so a member reading steadily meets a chunk already fetched.
 *
 *   read(offset) --hit--> records of the chunk from offset ---(chunk ended)--> fetch(nextOffset)
 *               \--miss--> fetch(offset) --> chunk, bounds --> subscribers woken
 *
 * Bounds: at most one fetch in flight and one chunk per group and partition (each group reads at
 * its own offsets), of at most REMOTE_CHUNK_BYTES of records while the broker's views together
 * stay within REMOTE_BUDGET_BYTES, and less, down to REMOTE_MIN_CHUNK_BYTES, when there are more
 * of them (remoteChunkBytes: the coordinator gives each view its share); the view is made on first use and
 * dropped when no read has used it for REMOTE_IDLE_MS (the coordinator's sweep calls expire()).
 * A failed fetch is retried on the next read after REMOTE_RETRY_MS, never from a loop of its own.
 *
 * The offsets a view holds are those of its last answer, which may be old (an idle view keeps
 * them until it expires): a position outside them is reset only once the leader, asked again,
 * still puts it outside (confirmOutside), never on the view's memory alone, or a group whose
 * coordinator came back to this broker would be sent back to the start of the log.
 */
import type { DecodedRecord } from '../storage/record-batch.js';
import type { Isolation } from '../partitions/partition.js';

export const REMOTE_WAIT_MS = 1_000;
export const REMOTE_CHUNK_BYTES = 1 << 20;
/** What the chunks of all of a broker's views may hold together, about: each view's share, within the bounds below. */
export const REMOTE_BUDGET_BYTES = 64 << 20;
export const REMOTE_MIN_CHUNK_BYTES = 64 << 10;
export const REMOTE_IDLE_MS = 60_000;
export const REMOTE_RETRY_MS = 500;

/** Each of `views` views' share of REMOTE_BUDGET_BYTES, within REMOTE_MIN_CHUNK_BYTES and REMOTE_CHUNK_BYTES. */
export function remoteChunkBytes(views: number): number {
  return Math.min(REMOTE_CHUNK_BYTES, Math.max(REMOTE_MIN_CHUNK_BYTES, Math.floor(REMOTE_BUDGET_BYTES / Math.max(1, views))));
}

/** What a group's poll reads a partition through: the local partition, or a RemotePartition. */
export interface ReadSource {
  /** False until the partition's offsets are known (a remote view asks the leader for them on the first look). */
  readonly known: boolean;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly logEndOffset: number;
  /** Where a read from here finds nothing more now (a remote view cannot say: it answers MAX_SAFE_INTEGER). */
  readableEnd(isolation: Isolation | undefined): number;
  read(offset: number, opts: { maxRecords: number; maxBytes: number; isolation?: Isolation }): { records: DecodedRecord[]; nextOffset: number };
  subscribe(fn: () => void): () => void;
  /**
   * A remote view's offsets may be older than a position the group has since committed: before
   * a position outside them is reset, the view asks the leader again. True once offsets asked for
   * after the position was first found outside are in hand; false (and asked) until then.
   * Absent where the offsets are the partition's own (a local partition).
   */
  confirmOutside?(position: number): boolean;
}

/** The leader's answer to a remote read. */
export interface RemoteReadAnswer {
  records: DecodedRecord[];
  nextOffset: number;
  logStartOffset: number;
  highWatermark: number;
  logEndOffset: number;
}

export type RemoteRead = (req: { offset: number; isolation: Isolation; maxWaitMs: number; maxBytes: number; signal: AbortSignal }) => Promise<RemoteReadAnswer>;

interface Chunk {
  isolation: Isolation;
  from: number;
  records: DecodedRecord[];
  nextOffset: number;
}

export class RemotePartition implements ReadSource {
  #bounds: { logStartOffset: number; highWatermark: number; logEndOffset: number } | null = null;
  #chunk: Chunk | null = null;
  #fetching = false;
  #retryAt = 0;
  /** Set by a failed fetch, cleared by one that succeeds: onError hears of the first failure of a run. */
  #failing = false;
  #lastUsed: number;
  /** Fetches started so far; the number of the one whose answer gave the offsets in hand. */
  #fetches = 0;
  #boundsFetch = 0;
  /** A position found outside the offsets, and the fetches started by then: it is reset only on offsets asked for later (confirmOutside). */
  #outside: { position: number; after: number } | null = null;
  readonly #listeners = new Set<() => void>();
  readonly #stop = new AbortController();

  constructor(
    readonly fetchRemote: RemoteRead,
    readonly onError: (err: Error) => void,
    readonly now: () => number = Date.now,
    /** The most bytes of records the next fetch may bring (the view's share of the budget). */
    readonly chunkBytes: () => number = () => REMOTE_CHUNK_BYTES,
  ) {
    this.#lastUsed = now();
  }

  get known(): boolean {
    if (this.#bounds === null) this.#want(-1, 'read_uncommitted');
    return this.#bounds !== null;
  }

  get logStartOffset(): number {
    return this.#bounds?.logStartOffset ?? 0;
  }

  get highWatermark(): number {
    return this.#bounds?.highWatermark ?? 0;
  }

  /** The highest the leaders have reported (a new leader's can be lower for a moment: a position up to this one is kept). */
  get logEndOffset(): number {
    return this.#bounds?.logEndOffset ?? 0;
  }

  /** Unknown here: read() asks the leader, which answers up to its own end. */
  readableEnd(): number {
    return Number.MAX_SAFE_INTEGER;
  }

  read(offset: number, opts: { maxRecords: number; maxBytes: number; isolation?: Isolation }): { records: DecodedRecord[]; nextOffset: number } {
    this.#lastUsed = this.now();
    const isolation = opts.isolation ?? 'read_uncommitted';
    const c = this.#chunk;
    if (c === null || c.isolation !== isolation || offset < c.from || offset >= c.nextOffset) {
      this.#want(offset, isolation);
      return { records: [], nextOffset: offset };
    }
    const records: DecodedRecord[] = [];
    let bytes = 0;
    let i = 0;
    while (i < c.records.length && c.records[i].offset < offset) i++;
    for (; i < c.records.length; i++) {
      if (records.length >= opts.maxRecords || (bytes >= opts.maxBytes && records.length > 0)) break;
      const r = c.records[i];
      records.push(r);
      bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
    }
    const nextOffset = i === c.records.length ? c.nextOffset : c.records[i].offset;
    // the chunk is used up: fetch what follows now, so the next read finds it
    if (nextOffset === c.nextOffset) this.#want(nextOffset, isolation);
    return { records, nextOffset };
  }

  confirmOutside(position: number): boolean {
    if (this.#outside?.position === position && this.#boundsFetch > this.#outside.after) {
      this.#outside = null;
      return true;
    }
    if (this.#outside?.position !== position) this.#outside = { position, after: this.#fetches };
    // the offsets alone, at once (a fetch in flight since before the question does not count)
    this.#want(-1, 'read_uncommitted');
    return false;
  }

  subscribe(fn: () => void): () => void {
    this.#lastUsed = this.now();
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** True (and the view stopped) when nothing has used it for REMOTE_IDLE_MS. */
  expire(): boolean {
    if (this.#listeners.size > 0 || this.now() - this.#lastUsed < REMOTE_IDLE_MS) return false;
    this.close();
    return true;
  }

  close(): void {
    this.#stop.abort();
    this.#listeners.clear();
  }

  /** Starts a fetch from `offset` (-1: only the bounds), unless one is in flight or a failure is recent. */
  #want(offset: number, isolation: Isolation): void {
    if (this.#fetching || this.#stop.signal.aborted || this.now() < this.#retryAt) return;
    this.#fetching = true;
    void this.#fetch(offset, isolation);
  }

  async #fetch(offset: number, isolation: Isolation): Promise<void> {
    const signal = this.#stop.signal;
    const started = this.now();
    const seq = ++this.#fetches;
    try {
      // offset -1 asks for the bounds alone; a read waits up to REMOTE_WAIT_MS for records (a long poll: an empty answer is asked again only by the next read)
      const a = await this.fetchRemote({ offset, isolation, maxWaitMs: offset < 0 ? 0 : REMOTE_WAIT_MS, maxBytes: this.chunkBytes(), signal });
      if (signal.aborted) return;
      this.#bounds = { logStartOffset: a.logStartOffset, highWatermark: a.highWatermark, logEndOffset: Math.max(a.logEndOffset, this.#bounds?.logEndOffset ?? 0) };
      this.#boundsFetch = seq;
      if (offset >= 0) this.#chunk = { isolation, from: offset, records: a.records, nextOffset: a.nextOffset };
      this.#failing = false;
      // an empty answer that did not wait (the offset is past the leader's end, say): pause as
      // after a failure, so that a waiting poll does not ask again at once, over and over
      if (offset >= 0 && a.nextOffset === offset && this.now() - started < REMOTE_WAIT_MS / 2) this.#pause();
    } catch (err) {
      if (signal.aborted) return;
      if (!this.#failing) this.onError(err as Error);
      this.#failing = true;
      this.#pause();
    } finally {
      this.#fetching = false;
    }
    this.#wake();
  }

  /** No fetch for REMOTE_RETRY_MS; then a waiting poll is woken to read (and so fetch) again. */
  #pause(): void {
    this.#retryAt = this.now() + REMOTE_RETRY_MS;
    setTimeout(() => this.#wake(), REMOTE_RETRY_MS).unref();
  }

  #wake(): void {
    for (const fn of [...this.#listeners]) fn();
  }
}
