/**
 * One topic's queue of a Producer. Records wait here until the batch is full (batchSize bytes or
 * maxBatchRecords) or lingerMs has passed, then go in one request. At most one request per topic
 * is in flight, as the broker's sequence rules require of an idempotent producer: requests to a
 * topic are numbered 0, 1, 2, ... and a retry repeats the number, so the broker writes it once.
 *
 *   queued --(full | linger | flush)--> in flight --2xx--> resolved
 *                                          |  retriable error / no answer: same body, same sequence,
 *                                          |  after backoff, until deliveryTimeoutMs
 *                                          '- other error: rejected; the lane drops its producer id
 *                                             (a fresh one restarts sequences at 0, so no later
 *                                             request can be mistaken for a retry of this one)
 */
import { retryUntil } from './backoff.js';
import { WebkaError } from './errors.js';
import type { HttpClient } from './http-client.js';
import { seg } from './http-client.js';
import type { ProducerRecord, RecordMetadata, ValueFormat } from './types.js';
import { buildBody, type BatchRecord } from './batch-body.js';
import { encodeRecord } from './encode-record.js';
import { RECORD_BATCH_CONTENT_TYPE } from '@webka/protocol';

export interface LaneOptions {
  cluster: string;
  batchSize: number;
  maxBatchRecords: number;
  lingerMs: number;
  idempotent: boolean;
  acks: 'all' | 1 | 0;
  valueFormat: ValueFormat;
  deliveryTimeoutMs: number;
  requestTimeoutMs: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  /** recordbatch: binary RecordBatch v2 bodies built here (default); json: JSON bodies. */
  wireFormat: 'recordbatch' | 'json';
  /** How long a topic's partition count is trusted before it is asked again (recordbatch only). */
  metadataMaxAgeMs: number;
  /** In a cluster, a request whose partitions one broker leads goes to that broker (recordbatch only). */
  toLeaders: boolean;
}

export interface Pending {
  /** The record's JSON text, as it goes into a JSON body (wireFormat json). */
  json?: string;
  /** The record as it goes into a batch (wireFormat recordbatch), with the record as given (for a keepalive JSON body). */
  rec?: BatchRecord;
  record?: ProducerRecord;
  /** About its bytes in a body. */
  size: number;
  resolve(m: RecordMetadata): void;
  reject(e: unknown): void;
}

interface Identity {
  producerId: number;
  producerEpoch: number;
  sequence: number;
}

interface Answer {
  records?: { partition: number; offset: number; timestamp: number }[];
  /** The answer to a binary body: each partition's base offset. */
  partitions?: { partition: number; baseOffset: number; count: number; logAppendTime: number }[];
}

/** setImmediate where the runtime has it (not in browsers, whose setTimeout(0) may wait 4 ms). */
const setImmediateFn = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;

/** Keepalive bodies may total 64 KiB per page; stay under it with room for the envelope. */
export const KEEPALIVE_BUDGET = 60 * 1024;

export class TopicLane {
  readonly topic: string;
  #http: HttpClient;
  #opts: LaneOptions;
  #queue: Pending[] = [];
  #queuedBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<void> | undefined;
  #identity: Identity | undefined;
  #maxRecords: number;
  #idle: (() => void)[] = [];
  /** Answers received but not yet handled (see #settle), in the order their requests went. */
  #later: (() => void)[] = [];
  #partitions: number | undefined;
  #partitionsAt = 0;
  /** Each partition's leader (node id; -1: none now), with the partition count. */
  #leaders: number[] | undefined;
  /** In a cluster, the live brokers' URLs by node id (undefined: one broker, or not known). */
  #brokers: Map<number, string> | undefined;
  /** Until when requests go to the brokers given only: a leader's URL could not be reached (blocked by a page's policy, or not routable from here). */
  #toLeadersOffUntil = 0;

  constructor(topic: string, http: HttpClient, opts: LaneOptions) {
    this.topic = topic;
    this.#http = http;
    this.#opts = opts;
    this.#maxRecords = opts.maxBatchRecords;
  }

  get queued(): number {
    return this.#queue.length;
  }

  enqueue(p: Pending): void {
    this.#queue.push(p);
    this.#queuedBytes += p.size;
    if (this.#queuedBytes >= this.#opts.batchSize || this.#queue.length >= this.#maxRecords) this.#kick();
    else if (this.#timer === undefined && this.#inFlight === undefined) this.#timer = setTimeout(() => this.#kick(), this.#opts.lingerMs);
  }

  /** Sends everything queued now and resolves when the lane is empty and idle. */
  flush(): Promise<void> {
    if (this.#queue.length === 0 && this.#inFlight === undefined && this.#later.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#kick();
    return done;
  }

  /** Rejects everything still queued (not what is in flight: that one ends by itself). */
  abandon(err: WebkaError): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const q = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    for (const p of q) p.reject(err);
  }

  /**
   * Page hide: sends what is queued with fetch keepalive, which outlives the page, in bodies under
   * the browser's 64 KiB keepalive budget. These requests are not idempotent (a page that is going
   * away cannot order or retry them), so each is written at most once. Returns the bytes used.
   */
  sendKeepalive(budget: number): number {
    let used = 0;
    while (this.#queue.length > 0) {
      const envelope = `{"valueFormat":"${this.#opts.valueFormat}","records":[]}`.length;
      let bytes = envelope;
      let n = 0;
      while (n < this.#queue.length && n < this.#maxRecords) {
        const b = utf8Length(jsonOf(this.#queue[n], this.#opts.valueFormat)) + 1;
        if (used + bytes + b > budget) break;
        bytes += b;
        n++;
      }
      if (n === 0) break;
      const batch = this.#take(n);
      used += bytes;
      // a JSON body: it needs no partition count, which a page going away may not have time to ask
      const body = this.#body(batch, undefined);
      this.#http
        .json<Answer>('POST', this.#path(), { body, keepalive: true, query: this.#query() })
        .then((a) => this.#resolve(batch, a, undefined), (e) => batch.forEach((p) => p.reject(e)));
    }
    return used;
  }

  #take(n: number): Pending[] {
    const batch = this.#queue.splice(0, n);
    for (const p of batch) this.#queuedBytes -= p.size;
    return batch;
  }

  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#inFlight !== undefined) return;
    if (this.#queue.length === 0) {
      // flush() resolves once every answer is handled (#runLater kicks again)
      if (this.#later.length > 0) return;
      const idle = this.#idle;
      this.#idle = [];
      idle.forEach((f) => f());
      return;
    }
    let n = 0;
    let bytes = 0;
    while (n < this.#queue.length && n < this.#maxRecords && (n === 0 || bytes + this.#queue[n].size < this.#opts.batchSize)) {
      bytes += this.#queue[n].size;
      n++;
    }
    const batch = this.#take(n);
    this.#inFlight = this.#send(batch).finally(() => {
      this.#inFlight = undefined;
      // What queued meanwhile has waited at least one round trip: send it now.
      this.#kick();
    });
  }

  #path(): string {
    return `/v1/clusters/${seg(this.#opts.cluster)}/topics/${seg(this.topic)}/records`;
  }

  #query(): Record<string, string | undefined> {
    return { acks: this.#opts.acks === 'all' ? undefined : String(this.#opts.acks) };
  }

  #body(batch: Pending[], id: Identity | undefined): string {
    let body = `{"valueFormat":"${this.#opts.valueFormat}",`;
    if (id !== undefined) body += `"producerId":${id.producerId},"producerEpoch":${id.producerEpoch},"sequence":${id.sequence},`;
    const records = new Array<string>(batch.length);
    for (let i = 0; i < batch.length; i++) records[i] = jsonOf(batch[i], this.#opts.valueFormat);
    return body + '"records":[' + records.join(',') + ']}';
  }

  /**
   * Resolves a batch from its answer. The broker is done with a request once it has answered, so
   * when more records wait and the runtime has setImmediate (Node, Bun, Deno), the next request
   * goes out first and this answer (a thousand offsets to parse, a thousand promises to resolve)
   * is handled just after, while that request is in flight. Batches resolve in the order sent.
   */
  #settle(batch: Pending[], text: string, built: BuiltLayout | undefined): void {
    const run = (): void => {
      let a: Answer | undefined;
      try {
        a = text.length === 0 ? undefined : (JSON.parse(text) as Answer);
      } catch (err) {
        const e = new WebkaError('NETWORK_ERROR', `the broker's answer is not JSON: ${String(err)}`, { cause: err });
        for (const p of batch) p.reject(e);
        return;
      }
      this.#resolve(batch, a, built);
    };
    if (this.#later.length === 0 && (this.#queue.length === 0 || setImmediateFn === undefined)) return run();
    this.#later.push(run);
    if (this.#later.length === 1) setImmediateFn!(() => this.#runLater());
  }

  #runLater(): void {
    const later = this.#later;
    this.#later = [];
    for (const run of later) run();
    if (this.#queue.length === 0 && this.#inFlight === undefined) this.#kick();
  }

  #resolve(batch: Pending[], a: Answer | undefined, built: BuiltLayout | undefined): void {
    if (a?.partitions !== undefined && built !== undefined) {
      const base = new Map(a.partitions.map((p) => [p.partition, p]));
      for (let i = 0; i < batch.length; i++) {
        const p = base.get(built.partitionOf[i]);
        const rec = batch[i].rec!;
        batch[i].resolve({ topic: this.topic, partition: built.partitionOf[i], offset: p === undefined ? -1 : p.baseOffset + built.indexInBatch[i], timestamp: p === undefined || p.logAppendTime < 0 ? rec.timestamp : p.logAppendTime });
      }
      return;
    }
    const out = a?.records;
    for (let i = 0; i < batch.length; i++) {
      const r = out?.[i];
      // acks=0 answers without offsets.
      batch[i].resolve({ topic: this.topic, partition: r?.partition ?? -1, offset: r?.offset ?? -1, timestamp: r?.timestamp ?? -1 });
    }
  }

  async #identityFor(deadline: number): Promise<Identity | undefined> {
    if (!this.#opts.idempotent) return undefined;
    if (this.#identity !== undefined) return this.#identity;
    const id = await this.#retrying(deadline, (signal) =>
      this.#http.json<{ producerId: number; producerEpoch: number }>('POST', `/v1/clusters/${seg(this.#opts.cluster)}/producers`, { body: {}, signal }),
    );
    this.#identity = { producerId: id.producerId, producerEpoch: id.producerEpoch, sequence: 0 };
    return this.#identity;
  }

  /**
   * The topic's partition count, asked again once older than metadataMaxAgeMs (as Kafka's
   * metadata.max.age.ms) or after a request sent to a leader failed; with it each partition's
   * leader and, in a cluster, the brokers' URLs (#leaderUrl).
   */
  async #partitionCount(deadline: number): Promise<number> {
    if (this.#partitions !== undefined && Date.now() - this.#partitionsAt < this.#opts.metadataMaxAgeMs) return this.#partitions;
    const path = `/v1/clusters/${seg(this.#opts.cluster)}/topics/${seg(this.topic)}/partitions`;
    const a = await this.#retrying(deadline, (signal) => this.#http.json<{ partitions: { leader?: number }[] }>('GET', path, { signal }));
    this.#partitions = a.partitions.length;
    this.#leaders = a.partitions.map((p) => (typeof p.leader === 'number' ? p.leader : -1));
    this.#partitionsAt = Date.now();
    this.#brokers = undefined;
    if (this.#opts.toLeaders) {
      try {
        const b = await this.#http.json<{ brokers: { nodeId: number; url: string; alive: boolean }[] }>('GET', '/v1/brokers', { signal: AbortSignal.timeout(this.#opts.requestTimeoutMs) });
        // a single broker lists itself, under the URL it was reached by: nothing to choose
        if (b.brokers.length > 1) this.#brokers = new Map(b.brokers.filter((x) => x.alive).map((x) => [x.nodeId, x.url.replace(/\/+$/, '')]));
      } catch {
        // not allowed to list the brokers, or an older broker: every request goes as before
      }
    }
    return this.#partitions;
  }

  /**
   * In a cluster, the URL of the broker that leads every partition of a body (most bodies have
   * one: keyless records go to one partition per request), so that it goes there directly rather
   * than through a broker that forwards it; undefined when the partitions have several leaders
   * (the broker asked splits the request), or when the leader is not known.
   */
  #leaderUrl(partitions: readonly number[]): string | undefined {
    if (this.#brokers === undefined || this.#leaders === undefined || Date.now() < this.#toLeadersOffUntil) return undefined;
    const leader = this.#leaders[partitions[0]];
    if (leader === undefined || leader < 0 || partitions.some((p) => this.#leaders![p] !== leader)) return undefined;
    return this.#brokers.get(leader);
  }

  /**
   * After a request to a leader failed: its retry goes through the configured brokers, and the
   * metadata is asked again; when the leader could not be reached at all, requests go through
   * the brokers given for metadataMaxAgeMs (its URL may never be reachable from here).
   */
  #forgetLeaders(err: unknown): void {
    this.#leaders = undefined;
    this.#partitionsAt = 0;
    const code = (err as { code?: string } | undefined)?.code;
    if (code === 'NETWORK_ERROR' || code === 'TIMEOUT') this.#toLeadersOffUntil = Date.now() + this.#opts.metadataMaxAgeMs;
  }

  #retrying<T>(deadline: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return retryUntil(deadline, this.#opts, call);
  }

  async #send(batch: Pending[]): Promise<void> {
    const deadline = Date.now() + this.#opts.deliveryTimeoutMs;
    try {
      const id = await this.#identityFor(deadline);
      let text: string;
      let built: BuiltLayout | undefined;
      if (this.#opts.wireFormat === 'json') {
        const body = this.#body(batch, id);
        text = await this.#retrying(deadline, (signal) => this.#http.text('POST', this.#path(), { body, signal, query: this.#query() }));
      } else {
        const partitions = await this.#partitionCount(deadline);
        // keyless records: one partition per request (the broker's rule for a JSON body)
        const keyless = id !== undefined ? (id.producerId + id.sequence) % partitions : Math.floor(Math.random() * partitions);
        const b = buildBody(batch.map((p) => p.rec!), partitions, keyless, id);
        built = b;
        const headers = { 'content-type': RECORD_BATCH_CONTENT_TYPE };
        text = await this.#retrying(deadline, async (signal) => {
          // to the partition's leader when the metadata names it; a failure there makes the
          // retry (same body, same sequence) go through the configured brokers, which forward it
          const baseUrl = this.#leaderUrl(b.partitions);
          try {
            return await this.#http.text('POST', this.#path(), { body: b.body, headers, signal, query: this.#query(), baseUrl });
          } catch (err) {
            if (baseUrl !== undefined) this.#forgetLeaders(err);
            throw err;
          }
        });
      }
      if (id !== undefined) id.sequence++;
      this.#settle(batch, text, built);
    } catch (err) {
      const e = err as WebkaError;
      if ((e.code === 'TOO_MANY_RECORDS' || e.code === 'PAYLOAD_TOO_LARGE') && batch.length > 1) {
        // Refused whole before any sequence was taken: send it again in halves, same sequence.
        this.#maxRecords = Math.max(1, Math.floor(batch.length / 2));
        const half = Math.ceil(batch.length / 2);
        await this.#send(batch.slice(0, half));
        await this.#send(batch.slice(half));
        return;
      }
      // The request may or may not have been written: a fresh producer id makes sure that no
      // later request is taken for a retry of this one.
      this.#identity = undefined;
      // a partition the count did not know of (or one that is gone): ask again next time
      if (e.code === 'PARTITION_NOT_FOUND') this.#partitions = undefined;
      for (const p of batch) p.reject(e);
    }
  }
}

/** Where a binary body put each record (buildBody). */
interface BuiltLayout {
  partitionOf: Int32Array;
  indexInBatch: Int32Array;
}

/** A record's JSON text: as queued (wireFormat json), or written now from the record as given. */
function jsonOf(p: Pending, format: ValueFormat): string {
  return (p.json ??= encodeRecord(p.record!, format));
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}
