/**
 * The streams that exist: their metadata (saved in the catalog), their topics in the `streams`
 * cluster, expiry, soft deletion and fork reference counts, and the watchers that live reads
 * park on.
 *
 * In a cluster of brokers (cluster-streams.ts) the metadata lives in the coordinator instead, one
 * document per stream, and each stream is served by the leader of its topic's one partition: the
 * other brokers forward its requests there. This store then mirrors the documents, writes the
 * ones of the streams this broker leads, and takes a stream up afresh whenever it becomes its
 * leader (its sliding TTL restarts, its last Stream-Seq is read back from the log).
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
import { decodeRecords, type DecodedRecord } from '../storage/record-batch.js';
import type { Coordinator, Versioned } from '../cluster/coordinator.js';

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
  /** In a cluster: the revision of its document (null until it is written), and the leader epoch this broker took it up in (-1: not yet). */
  revision: string | null = null;
  epoch = -1;
  /** In a cluster: the document writes of this stream, one at a time. */
  saving: Promise<void> = Promise.resolve();
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

/** What a store needs of a cluster of brokers (cluster-streams.ts). */
export interface StreamCluster {
  coordinator: Coordinator;
  /** The leader epoch of the stream topic's partition where this broker leads it, else -1. */
  leaderEpoch(topicId: string): number;
  /** Deletes a stream's topic from the cluster (through the controller). */
  deleteTopic(topic: string): Promise<void>;
}

export interface StoreOptions {
  maxMessageBytes: number;
  onWarning?: (message: string, details?: Record<string, unknown>) => void;
  /** In a cluster of brokers: the metadata is the coordinator's, and streams are served by their leaders. */
  cluster?: StreamCluster;
}

const STREAM_DOCUMENTS = 'streams/';
/** The coordinator document of the stream whose topic is `topic`. */
export const streamDocument = (topic: string): string => `${STREAM_DOCUMENTS}${topic}`;
/** How often a document write is tried again after another broker changed it meanwhile. */
const WRITE_TRIES = 5;

const SWEEP_EVERY_MS = 1_000;

export class StreamStore {
  readonly broker: Broker;
  #options: StoreOptions;
  #streams = new Map<string, StreamState>();
  #lastSweep = 0;
  /** In a cluster: the stream topics this broker is deleting (their documents are not taken in meanwhile, nor their topics by a new stream). */
  #deleting = new Set<string>();
  #ready: Promise<void> | undefined;
  #loaded = false;
  #stop: () => void = () => undefined;

  constructor(broker: Broker, options: StoreOptions) {
    this.broker = broker;
    this.#options = options;
    if (!broker.listClusters().some((c) => c.name === STREAMS_CLUSTER)) {
      broker.createCluster(STREAMS_CLUSTER, 'Durable Streams: one single-partition topic per stream', { partitions: 1, configs: { 'retention.ms': -1 } });
    }
    if (options.cluster !== undefined) return;
    this.#ready = Promise.resolve();
    this.#loaded = true;
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

  /**
   * Resolves once the streams are known: at once on a single broker; in a cluster once the
   * coordinator's documents have been read, which the first call starts (the broker has joined
   * by then), and followed from then on.
   */
  get ready(): Promise<void> {
    if (this.#ready === undefined) {
      const coordinator = this.#options.cluster!.coordinator;
      this.#ready = new Promise((resolve) => {
        this.#stop = coordinator.watchDocuments(STREAM_DOCUMENTS, (docs) => {
          this.#sync(docs);
          this.#loaded = true;
          resolve();
        });
      });
    }
    return this.#ready;
  }

  /** Whether the streams are known (ready has resolved). */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Stops following the coordinator's documents (in a cluster). */
  close(): void {
    this.#stop();
  }

  /**
   * In a cluster: the stream documents as they are now. A stream appears, changes or goes as its
   * document does; a closure is never undone (this broker may have closed it before its
   * document says so), and a stream not yet written (being created here) stays.
   */
  #sync(docs: Map<string, Versioned<unknown>>): void {
    const seen = new Set<string>();
    for (const doc of docs.values()) {
      seen.add((doc.value as StreamMeta).path);
      this.#merge(doc);
    }
    for (const s of [...this.#streams.values()]) {
      if (!seen.has(s.meta.path) && s.revision !== null) this.#drop(s);
    }
  }

  /** Takes in a stream's document: a stream new here, or a later revision of one it knows. */
  #merge(doc: Versioned<unknown>): void {
    const meta = doc.value as StreamMeta;
    if (this.#deleting.has(meta.topic)) return;
    const s = this.#streams.get(meta.path);
    if (s !== undefined && s.meta.topicId === meta.topicId) {
      if (s.revision !== null && BigInt(doc.revision) <= BigInt(s.revision)) return;
      const closing = meta.closed && !s.meta.closed;
      s.meta = { ...meta, closed: s.meta.closed || meta.closed, closedBy: s.meta.closedBy ?? meta.closedBy };
      s.revision = doc.revision;
      if (closing) s.notify();
      return;
    }
    // another incarnation of the path (deleted and made again meanwhile)
    if (s !== undefined) this.#drop(s);
    const fresh = new StreamState(meta);
    fresh.revision = doc.revision;
    this.#streams.set(meta.path, fresh);
  }

  /**
   * In a cluster: reads the document of the stream whose topic is `topic` from the coordinator
   * itself, for a stream this broker does not know yet (its own copy of the documents follows
   * them a moment late).
   */
  async load(topic: string): Promise<void> {
    const cluster = this.#options.cluster;
    if (cluster === undefined) return;
    const doc = await cluster.coordinator.readDocument(streamDocument(topic));
    if (doc !== null) this.#merge(doc);
  }

  /** In a cluster: the document of the stream at path as this broker has it (null: none), or undefined when it has not read the documents yet. */
  known(path: string): Versioned<unknown> | null | undefined {
    if (this.#ready === undefined) return undefined;
    const s = this.#streams.get(path);
    return s === undefined || s.revision === null ? null : { value: s.meta, revision: s.revision };
  }

  /**
   * In a cluster: removes the document of a stream whose topic is gone (unless it has changed
   * since `doc`), and the stream with it.
   */
  async forget(doc: Versioned<unknown>): Promise<void> {
    const meta = doc.value as StreamMeta;
    this.#options.onWarning?.('a stream lost its topic; dropping it', { path: meta.path, topic: meta.topic });
    await this.#options.cluster!.coordinator.deleteDocument(streamDocument(meta.topic), doc.revision);
    const s = this.#streams.get(meta.path);
    if (s !== undefined && s.meta.topicId === meta.topicId) this.#drop(s);
  }

  /** Whether the stream's metadata is the coordinator's (a cluster of brokers). */
  get clustered(): boolean {
    return this.#options.cluster !== undefined;
  }

  #drop(s: StreamState): void {
    if (this.#streams.get(s.meta.path) === s) this.#streams.delete(s.meta.path);
    s.gone = true;
    s.notify();
  }

  /**
   * In a cluster: where this broker has become the stream's leader since it last served it, the
   * stream is taken up afresh: its TTL clock starts now (the last leader kept it) and its last
   * Stream-Seq is read back from the log (the last leader may have appended since).
   */
  #takeUp(s: StreamState, now: number): void {
    const cluster = this.#options.cluster;
    if (cluster === undefined) return;
    const epoch = cluster.leaderEpoch(s.meta.topicId);
    if (epoch === s.epoch) return;
    s.epoch = epoch;
    if (epoch < 0) return;
    s.lastAccess = now;
    s.lastSeq = undefined;
  }

  /** Whether this broker serves the stream's requests: always on a single broker, its leader's in a cluster. */
  #serves(s: StreamState): boolean {
    return this.#options.cluster === undefined || this.#options.cluster.leaderEpoch(s.meta.topicId) >= 0;
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

  /**
   * Saves a stream after a change of its metadata (create, close, soft delete): on a single broker
   * one atomic catalog write, done before this returns; in a cluster its document, written
   * when the promise resolves.
   */
  save(s: StreamState): Promise<void> {
    if (this.#options.cluster === undefined) {
      this.#save();
      return Promise.resolve();
    }
    const write = s.saving.then(() => this.#write(s));
    s.saving = write.catch(() => undefined);
    return write;
  }

  /** Writes a stream's document by compare-and-swap, again on the current one when another write came first. */
  async #write(s: StreamState): Promise<void> {
    const coordinator = this.#options.cluster!.coordinator;
    const name = streamDocument(s.meta.topic);
    for (let tries = 0; tries < WRITE_TRIES; tries++) {
      const r = await coordinator.writeDocument(name, s.meta, s.revision);
      if (r.ok) {
        s.revision = r.revision;
        return;
      }
      const current = r.current;
      if (current === null || (current.value as StreamMeta).topicId !== s.meta.topicId) {
        // deleted (and perhaps created again) meanwhile by another broker
        if (s.revision !== null) {
          this.#drop(s);
          throw new StreamError(404, 'stream not found');
        }
        if (current !== null) throw new StreamError(409, 'another stream was created at this path meanwhile');
        continue;
      }
      const theirs = current.value as StreamMeta;
      s.meta = { ...s.meta, closed: s.meta.closed || theirs.closed, closedBy: s.meta.closedBy ?? theirs.closedBy };
      s.revision = current.revision;
    }
    throw new WebkaError('COORDINATION_UNAVAILABLE', `the metadata of stream ${JSON.stringify(s.meta.path)} kept changing under this write; retry`);
  }

  /** The stream at path if it exists (expired streams are removed first), soft-deleted or not. */
  peek(path: string, now = Date.now()): StreamState | undefined {
    this.sweep(now);
    const s = this.#streams.get(path);
    if (s !== undefined) this.#takeUp(s, now);
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
      if (!this.#serves(s)) continue;
      this.#takeUp(s, now);
      if (!s.gone && !s.meta.softDeleted && s.expired(now)) this.#expire(s);
    }
  }

  #expire(s: StreamState): void {
    this.remove(s).catch((err: unknown) => {
      this.#options.onWarning?.('removing an expired stream failed', { path: s.meta.path, error: (err as Error).message });
    });
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
   * soft-deleted source go too, up the chain). Saves the catalog; in a cluster the stream's
   * document goes (it is gone for every broker from then), then its topic.
   */
  remove(s: StreamState): Promise<void> {
    if (s.meta.forks > 0) {
      s.meta.softDeleted = true;
      const saved = this.save(s);
      s.notify();
      return saved;
    }
    if (this.#options.cluster !== undefined) return this.#removeShared(s);
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
    return Promise.resolve();
  }

  /**
   * In a cluster (where streams have no forks): the document goes first, then the topic. Until
   * both are gone, a report of the documents does not bring the stream back here, and no new
   * stream takes the topic.
   */
  async #removeShared(s: StreamState): Promise<void> {
    const topic = s.meta.topic;
    this.#drop(s);
    this.#deleting.add(topic);
    try {
      await s.saving;
      await this.#options.cluster!.coordinator.deleteDocument(streamDocument(topic), null);
      await this.#deleteTopic(topic);
    } finally {
      this.#deleting.delete(topic);
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
    if (this.#options.cluster !== undefined) return this.#clusterTopic(name);
    const stale = this.broker.catalog.findTopic(STREAMS_CLUSTER, name);
    if (stale !== undefined) {
      this.broker.deleteTopic(STREAMS_CLUSTER, name).catch(() => undefined);
    }
    const configs = { 'max.message.bytes': this.#options.maxMessageBytes };
    return this.broker.createTopic(STREAMS_CLUSTER, { name, partitions: 1, configs });
  }

  /**
   * In a cluster the stream's topic was made through the controller before the request reached
   * this broker, its leader. A stream starts empty: a topic that holds records (an earlier
   * stream's, whose document went but not its topic) or is being deleted is not taken.
   */
  #clusterTopic(name: string): { id: string } {
    const t = this.broker.catalog.findTopic(STREAMS_CLUSTER, name);
    if (t === undefined) throw new WebkaError('NOT_LEADER', "the stream's topic has not reached this broker yet; retry in a moment");
    if (this.#deleting.has(name)) throw new StreamError(503, 'an earlier stream at this path is being deleted; retry in a moment');
    if (this.broker.partition(STREAMS_CLUSTER, name, 0).log.nextOffset > 0) {
      this.#deleting.add(name);
      void this.#deleteTopic(name).finally(() => this.#deleting.delete(name));
      throw new StreamError(503, 'an earlier stream at this path left its records behind; they are being deleted: retry in a moment');
    }
    return t;
  }

  /** In a cluster: deletes a stream's topic through the controller (a failure is logged; the topic stays, and a create at its path deletes it again). */
  async #deleteTopic(name: string): Promise<void> {
    try {
      await this.#options.cluster!.deleteTopic(name);
    } catch (err) {
      this.#options.onWarning?.('deleting a stream topic failed; the topic stays without a stream', { topic: name, error: (err as Error).message });
    }
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

  /**
   * Reads the last batch of the log: to its end, not to the high watermark (a new leader's high
   * watermark can lag its log end for a moment, and what is in its log stays).
   */
  #recoverTail(s: StreamState): void {
    s.lastSeq = null;
    const p = this.partition(s);
    const end = p.log.nextOffset;
    if (end <= p.log.logStartOffset) return;
    const data = p.log.read(end - 1, 1, end);
    if (data.length === 0) return;
    const records: DecodedRecord[] = [];
    decodeRecords(data, 0, records);
    const last = records[records.length - 1];
    if (last === undefined) return;
    for (const h of last.headers) {
      if (h.key === SEQ_HEADER && h.value !== null) s.lastSeq = h.value.toString('utf8');
      if (h.key === CLOSED_HEADER && !s.meta.closed) {
        s.meta.closed = true;
        this.save(s).catch((err: unknown) => this.#options.onWarning?.('saving a stream closure failed', { path: s.meta.path, error: (err as Error).message }));
      }
    }
  }

}
