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
import type { RecordMetadata, ValueFormat } from './types.js';

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
}

export interface Pending {
  /** The record's JSON text, as it goes into the body. */
  json: string;
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
    this.#queuedBytes += p.json.length + 1;
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
        const b = utf8Length(this.#queue[n].json) + 1;
        if (used + bytes + b > budget) break;
        bytes += b;
        n++;
      }
      if (n === 0) break;
      const batch = this.#take(n);
      used += bytes;
      const body = this.#body(batch, undefined);
      this.#http
        .json<Answer>('POST', this.#path(), { body, keepalive: true, query: this.#query() })
        .then((a) => this.#resolve(batch, a), (e) => batch.forEach((p) => p.reject(e)));
    }
    return used;
  }

  #take(n: number): Pending[] {
    const batch = this.#queue.splice(0, n);
    for (const p of batch) this.#queuedBytes -= p.json.length + 1;
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
    while (n < this.#queue.length && n < this.#maxRecords && (n === 0 || bytes + this.#queue[n].json.length < this.#opts.batchSize)) {
      bytes += this.#queue[n].json.length + 1;
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
    for (let i = 0; i < batch.length; i++) records[i] = batch[i].json;
    return body + '"records":[' + records.join(',') + ']}';
  }

  /**
   * Resolves a batch from its answer. The broker is done with a request once it has answered, so
   * when more records wait and the runtime has setImmediate (Node, Bun, Deno), the next request
   * goes out first and this answer (a thousand offsets to parse, a thousand promises to resolve)
   * is handled just after, while that request is in flight. Batches resolve in the order sent.
   */
  #settle(batch: Pending[], text: string): void {
    const run = (): void => {
      let a: Answer | undefined;
      try {
        a = text.length === 0 ? undefined : (JSON.parse(text) as Answer);
      } catch (err) {
        const e = new WebkaError('NETWORK_ERROR', `the broker's answer is not JSON: ${String(err)}`, { cause: err });
        for (const p of batch) p.reject(e);
        return;
      }
      this.#resolve(batch, a);
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

  #resolve(batch: Pending[], a: Answer | undefined): void {
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

  #retrying<T>(deadline: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return retryUntil(deadline, this.#opts, call);
  }

  async #send(batch: Pending[]): Promise<void> {
    const deadline = Date.now() + this.#opts.deliveryTimeoutMs;
    try {
      const id = await this.#identityFor(deadline);
      const body = this.#body(batch, id);
      const text = await this.#retrying(deadline, (signal) => this.#http.text('POST', this.#path(), { body, signal, query: this.#query() }));
      if (id !== undefined) id.sequence++;
      this.#settle(batch, text);
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
      for (const p of batch) p.reject(e);
    }
  }
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}
