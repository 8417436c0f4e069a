/**
 * The streams that exist: their metadata (saved in the catalog), their topics in the `streams`
 * cluster, expiry, soft deletion and fork reference counts, and the watchers that live reads
 * park on.
 *
 * Created once per HTTP app by the Durable Streams plugin; it creates the `streams` cluster when
 * missing (with retention.ms = -1: a stream keeps its data until it is deleted, as the protocol
 * expects; an operator may set retention per topic). Everything here is synchronous, so a
 * route's checks and its append run in one turn of the event loop: that is what serialises the
 * writers of one stream (Stream-Seq, producer sequences, closure) without locks.
 *
 *   create ──> live ──DELETE──> gone
 *               │   └─DELETE with live forks──> soft-deleted ──last fork gone──> gone
 *               └─TTL/Expires-At passes──> (as DELETE)
 */
import type { Broker } from '../broker.js';
import type { Partition } from '../partitions/partition.js';
import { WebkaError } from '../errors.js';
import { StreamError } from './stream-error.js';
import { EXTENSION_KEY, SEQ_HEADER, CLOSED_HEADER, type SavedStreams, type StreamMeta } from './stream-meta.js';

export const STREAMS_CLUSTER = 'streams';

/** A run of a stream's offsets held by one partition: stream offset = base + topic offset. */
export interface Segment {
  partition: Partition;
  base: number;
  /** First stream offset past this segment (Infinity for the stream's own topic). */
  end: number;
}

export class StreamState {
  meta: StreamMeta;
  lastAccess = Date.now();
  /** The last Stream-Seq; undefined until read back from the log tail. */
  lastSeq: string | null | undefined = undefined;
  /** Set when the stream is removed, so that waiting readers stop. */
  gone = false;
  readonly #watchers = new Set<() => void>();

  constructor(meta: StreamMeta) {
    this.meta = meta;
  }

  get expiresAtMs(): number | null {
    return this.meta.expiresAt === null ? null : Date.parse(this.meta.expiresAt);
  }

  expired(now: number): boolean {
    if (this.meta.ttlSeconds !== null && now >= this.lastAccess + this.meta.ttlSeconds * 1000) return true;
    const at = this.expiresAtMs;
    return at !== null && now >= at;
  }

  /** Calls fn on closure and removal (appends wake readers through the partition). */
  watch(fn: () => void): () => void {
    this.#watchers.add(fn);
    return () => this.#watchers.delete(fn);
  }

  notify(): void {
    for (const fn of [...this.#watchers]) fn();
  }
}

export interface StoreOptions {
  maxMessageBytes: number;
  onWarning?: (message: string, details?: Record<string, unknown>) => void;
}

const SWEEP_EVERY_MS = 1_000;

export class StreamStore {
  readonly broker: Broker;
  #options: StoreOptions;
  #streams = new Map<string, StreamState>();
  #lastSweep = 0;

  constructor(broker: Broker, options: StoreOptions) {
    this.broker = broker;
    this.#options = options;
    if (!broker.listClusters().some((c) => c.name === STREAMS_CLUSTER)) {
      broker.createCluster(STREAMS_CLUSTER, 'Durable Streams: one single-partition topic per stream', { partitions: 1, configs: { 'retention.ms': -1 } });
    }
    const saved = broker.catalog.getExtension<SavedStreams>(EXTENSION_KEY);
    for (const meta of saved?.streams ?? []) {
      if (broker.catalog.findTopic(STREAMS_CLUSTER, meta.topic)?.id !== meta.topicId) {
        options.onWarning?.('stream lost its topic; dropping it', { path: meta.path, topic: meta.topic });
        continue;
      }
      this.#streams.set(meta.path, new StreamState(meta));
    }
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Every live stream (expired ones are removed first; soft-deleted ones are left out). */
  list(now = Date.now()): StreamState[] {
    this.sweep(now, true);
    return [...this.#streams.values()].filter((s) => !s.meta.softDeleted);
  }

  #save(): void {
    const saved: SavedStreams = { version: 1, streams: [...this.#streams.values()].map((s) => s.meta) };
    this.broker.catalog.setExtension(EXTENSION_KEY, saved);
  }

  /** Saves after a change of metadata (create, close, delete): one atomic catalog write. */
  save(): void {
    this.#save();
  }

  /** The stream at path if it exists (expired streams are removed first), soft-deleted or not. */
  peek(path: string, now = Date.now()): StreamState | undefined {
    this.sweep(now);
    const s = this.#streams.get(path);
    if (s !== undefined && !s.meta.softDeleted && s.expired(now)) {
      this.#expire(s);
      return this.#streams.get(path);
    }
    return s;
  }

  /** The live stream at path; 404 when missing or expired, 410 when soft-deleted. */
  find(path: string, touch: boolean): StreamState {
    const now = Date.now();
    const s = this.peek(path, now);
    if (s === undefined) throw new StreamError(404, 'stream not found');
    if (s.meta.softDeleted) throw new StreamError(410, 'stream was deleted; forks still read its data');
    if (touch) s.lastAccess = now;
    if (s.lastSeq === undefined) this.#recoverTail(s);
    return s;
  }

  /** Removes expired streams (at most once a second; also called by a background timer). */
  sweep(now = Date.now(), force = false): void {
    if (!force && now - this.#lastSweep < SWEEP_EVERY_MS) return;
    this.#lastSweep = now;
    for (const s of [...this.#streams.values()]) {
      if (!s.gone && !s.meta.softDeleted && s.expired(now)) this.#expire(s);
    }
  }

  #expire(s: StreamState): void {
    this.remove(s);
  }

  /** Registers a stream whose topic exists (saved by the caller with save()). */
  add(meta: StreamMeta): StreamState {
    const s = new StreamState(meta);
    s.lastSeq = null;
    this.#streams.set(meta.path, s);
    if (meta.fork !== null) {
      const source = this.#streams.get(meta.fork.source);
      if (source !== undefined) source.meta.forks++;
    }
    return s;
  }

  /**
   * DELETE (or expiry): a stream that live forks still read through is only soft-deleted;
   * otherwise it and its topic go, and its source loses a reference (which may let a
   * soft-deleted source go too, up the chain). Saves the catalog.
   */
  remove(s: StreamState): void {
    if (s.meta.forks > 0) {
      s.meta.softDeleted = true;
      this.#save();
      s.notify();
      return;
    }
    const doomed: StreamState[] = [];
    let cur: StreamState | undefined = s;
    while (cur !== undefined) {
      doomed.push(cur);
      this.#streams.delete(cur.meta.path);
      const fork = cur.meta.fork;
      cur = undefined;
      if (fork !== null) {
        const source = this.#streams.get(fork.source);
        if (source !== undefined) {
          source.meta.forks = Math.max(0, source.meta.forks - 1);
          if (source.meta.forks === 0 && source.meta.softDeleted) cur = source;
        }
      }
    }
    // the metadata and the topics go in one atomic catalog write; files are removed after it
    this.broker.catalog.atomically(() => {
      this.#save();
      for (const d of doomed) this.#dropTopic(d.meta);
    });
    for (const d of doomed) {
      d.gone = true;
      d.notify();
    }
  }

  #dropTopic(meta: StreamMeta): void {
    if (this.broker.catalog.findTopic(STREAMS_CLUSTER, meta.topic)?.id !== meta.topicId) return;
    this.broker.deleteTopic(STREAMS_CLUSTER, meta.topic).catch((err: unknown) => {
      this.#options.onWarning?.('deleting a stream topic failed', { topic: meta.topic, error: (err as Error).message });
    });
  }

  /**
   * Creates the stream's topic. A topic of that name without a stream (left by a crash between
   * creating the topic and saving the stream) is replaced.
   */
  createTopic(name: string): { id: string } {
    const stale = this.broker.catalog.findTopic(STREAMS_CLUSTER, name);
    if (stale !== undefined) {
      this.broker.deleteTopic(STREAMS_CLUSTER, name).catch(() => undefined);
    }
    const configs = { 'max.message.bytes': this.#options.maxMessageBytes };
    return this.broker.createTopic(STREAMS_CLUSTER, { name, partitions: 1, configs });
  }

  partition(s: StreamState): Partition {
    try {
      return this.broker.partition(STREAMS_CLUSTER, s.meta.topic, 0);
    } catch (err) {
      if (err instanceof WebkaError && err.code === 'TOPIC_NOT_FOUND') throw new StreamError(404, 'stream not found');
      throw err;
    }
  }

  /** The partitions a stream's offsets live in, oldest first (a fork reads through its sources). */
  segments(s: StreamState): Segment[] {
    const own: Segment = { partition: this.partition(s), base: s.meta.fork?.offset ?? 0, end: Number.POSITIVE_INFINITY };
    const fork = s.meta.fork;
    if (fork === null) return [own];
    const source = this.#streams.get(fork.source);
    if (source === undefined) return [own];
    const inherited = this.segments(source)
      .filter((seg) => seg.base < fork.offset)
      .map((seg) => ({ ...seg, end: Math.min(seg.end, fork.offset) }));
    return [...inherited, own];
  }

  /**
   * Closed as readers see it: the stream is closed and the append that closed it is durable
   * (readable). Writers are refused from the moment of the close (s.meta.closed); a reader that
   * heard "closed" before the final append became readable would miss it.
   */
  closedForReaders(s: StreamState): boolean {
    if (!s.meta.closed) return false;
    const log = this.partition(s).log;
    return log.highWatermark >= log.nextOffset;
  }

  /** The stream's tail: the offset the next append gets. */
  tail(s: StreamState): number {
    return (s.meta.fork?.offset ?? 0) + this.partition(s).log.highWatermark;
  }

  /** The first offset still held (above 0 once retention has deleted the oldest records). */
  earliest(s: StreamState): number {
    const first = this.segments(s)[0];
    return first.base + first.partition.log.logStartOffset;
  }

  /** The stream's last Stream-Seq, read back from the last batch of its topic after a start. */
  lastSeq(s: StreamState): string | null {
    if (s.lastSeq === undefined) this.#recoverTail(s);
    return s.lastSeq ?? null;
  }

  #recoverTail(s: StreamState): void {
    s.lastSeq = null;
    const p = this.partition(s);
    const hw = p.log.highWatermark;
    if (hw <= p.log.logStartOffset) return;
    const { records } = p.read(hw - 1, { maxRecords: 1, maxBytes: 1 });
    const last = records[records.length - 1];
    if (last === undefined) return;
    for (const h of last.headers) {
      if (h.key === SEQ_HEADER && h.value !== null) s.lastSeq = h.value.toString('utf8');
      if (h.key === CLOSED_HEADER && !s.meta.closed) {
        s.meta.closed = true;
        this.#save();
      }
    }
  }

}
