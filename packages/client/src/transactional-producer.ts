/**
 * The transactional producer (docs/transactions.md): records sent to any topics and a consumer
 * group's offsets become visible together when the transaction commits, or not at all.
 *
 *   init() ---> ready --begin()--> open --send()/sendOffsets()--> open --commit()--> ready
 *                 ^                  |                                 \--abort()---> ready
 *                 |                  '-- a failed send or sendOffsets: only abort() is allowed
 *                 '-- PRODUCER_FENCED from any call: fenced for good (another instance took over,
 *                     an operator aborted, or the broker timed the transaction out); close this
 *                     instance, or init() again to take the id back
 *
 * Each send() is one produce request (split at maxBatchRecords); requests to one topic go one at
 * a time, numbered 0, 1, 2, ... for the epoch, and a retry of a lost answer repeats the number so
 * the broker writes it once. commit() waits for every send of the transaction first.
 *
 * Created by `webka.transactionalProducer({ transactionalId })`. Calls of one transaction may run
 * concurrently; begin/commit/abort must not overlap each other.
 */
import { retryUntil, type RetryOptions } from './backoff.js';
import { WebkaError } from './errors.js';
import { seg, type HttpClient } from './http-client.js';
import { encodeRecord } from './encode-record.js';
import type { ProducerRecord, RecordMetadata, TopicPartitionOffset, ValueFormat } from './types.js';

export interface TransactionalProducerOptions {
  /** A stable name for this pipeline instance: a new instance with the same id fences the old one. */
  transactionalId: string;
  /** The broker aborts a transaction left open longer than this (1 s to 15 min, default 60 s). */
  timeoutMs?: number;
  /** Most records per produce request; a larger send() is split (default 5,000). */
  maxBatchRecords?: number;
  valueFormat?: ValueFormat;
  /** How long one call may take, retries included (default 120 s). */
  deliveryTimeoutMs?: number;
  /** How long one attempt may wait for its answer (default 30 s). */
  requestTimeoutMs?: number;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
}

/** The group a transaction's offsets belong to, as a group consumer knows it. */
export interface GroupPosition {
  groupId: string;
  generation: number;
  memberId: string;
  offsets: TopicPartitionOffset[];
}

/** What sendOffsets takes: a Consumer (its positions so far) or the group and offsets by hand. */
export interface OffsetsSource {
  transactionOffsets(): GroupPosition;
}

export type TransactionState = 'uninitialised' | 'ready' | 'open' | 'failed' | 'fenced' | 'closed';

export interface TransactionDescription {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  state: 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort';
  timeoutMs: number;
  partitions: { topic: string; partition: number }[];
  offsets: { groupId: string; topic: string; partition: number; offset: number }[];
  startedAt: number | null;
  ageMs: number | null;
  principal: string;
}

interface Answer {
  records?: { partition: number; offset: number; timestamp: number }[];
}

export class TransactionalProducer {
  readonly transactionalId: string;
  #http: HttpClient;
  #base: string;
  #records: (topic: string) => string;
  #opts: RetryOptions & { maxBatchRecords: number; valueFormat: ValueFormat; timeoutMs?: number };
  #state: TransactionState = 'uninitialised';
  #producerId = -1;
  #producerEpoch = -1;
  /** Next sequence per topic for this epoch. */
  #sequences = new Map<string, number>();
  /** The last request to each topic: the next one waits for it. */
  #chains = new Map<string, Promise<unknown>>();
  /** Every send and sendOffsets of the open transaction. */
  #pending: Promise<unknown>[] = [];
  #failure: WebkaError | undefined;

  constructor(http: HttpClient, cluster: string, options: TransactionalProducerOptions) {
    if (typeof options?.transactionalId !== 'string' || options.transactionalId.length === 0) {
      throw new WebkaError('INVALID_REQUEST', 'a transactional producer needs a transactionalId');
    }
    this.transactionalId = options.transactionalId;
    this.#http = http;
    this.#base = `/v1/clusters/${seg(cluster)}/transactions`;
    this.#records = (topic) => `/v1/clusters/${seg(cluster)}/topics/${seg(topic)}/records`;
    this.#opts = {
      timeoutMs: options.timeoutMs,
      maxBatchRecords: options.maxBatchRecords ?? 5_000,
      valueFormat: options.valueFormat ?? 'json',
      deliveryTimeoutMs: options.deliveryTimeoutMs ?? 120_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      retryBackoffMs: options.retryBackoffMs ?? 100,
      retryBackoffMaxMs: options.retryBackoffMaxMs ?? 5_000,
    };
  }

  get state(): TransactionState {
    return this.#state;
  }

  /** The producer id and epoch of this instance (-1 before init). */
  get producer(): { producerId: number; producerEpoch: number } {
    return { producerId: this.#producerId, producerEpoch: this.#producerEpoch };
  }

  /**
   * Takes the transactional id: a new epoch, which fences any older instance and aborts what it
   * left open. Called by the first begin() when not called before; call it again after fencing
   * to take the id back.
   */
  async init(): Promise<void> {
    if (this.#state === 'closed') throw this.#closedError();
    const a = await this.#call<{ producerId: number; producerEpoch: number }>('POST', this.#base, { transactionalId: this.transactionalId, timeoutMs: this.#opts.timeoutMs });
    this.#producerId = a.producerId;
    this.#producerEpoch = a.producerEpoch;
    this.#sequences.clear();
    this.#chains.clear();
    this.#pending = [];
    this.#failure = undefined;
    this.#state = 'ready';
  }

  /** Starts a transaction (on the broker it opens with the first send or sendOffsets). */
  async begin(): Promise<void> {
    this.#check('uninitialised', 'ready');
    if (this.#state === 'uninitialised') await this.init();
    this.#state = 'open';
  }

  /** Sends records as part of the open transaction; resolves with where each was written. */
  send(topic: string, record: ProducerRecord): Promise<RecordMetadata>;
  send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]>;
  send(topic: string, r: ProducerRecord | ProducerRecord[]): Promise<RecordMetadata | RecordMetadata[]> {
    try {
      this.#check('open');
      const json = (Array.isArray(r) ? r : [r]).map((one) => encodeRecord(one, this.#opts.valueFormat));
      const batches: string[][] = [];
      for (let i = 0; i < json.length; i += this.#opts.maxBatchRecords) batches.push(json.slice(i, i + this.#opts.maxBatchRecords));
      const all = Promise.all(batches.map((b) => this.#produce(topic, b))).then((parts) => parts.flat());
      this.#track(all);
      return Array.isArray(r) ? all : all.then((m) => m[0]);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Adds a consumer group's offsets to the open transaction: the group sees them when it commits.
   * Pass the Consumer the input was read with (its positions after every record handed out so
   * far, its generation and member id), or the group position by hand.
   */
  sendOffsets(source: OffsetsSource | GroupPosition): Promise<void> {
    try {
      this.#check('open');
      const pos = 'transactionOffsets' in source ? source.transactionOffsets() : source;
      if (pos.offsets.length === 0) return Promise.resolve();
      const body = { producerId: this.#producerId, producerEpoch: this.#producerEpoch, groupId: pos.groupId, generation: pos.generation, memberId: pos.memberId, offsets: pos.offsets };
      const done = this.#call<void>('POST', `${this.#base}/${seg(this.transactionalId)}/offsets`, body);
      this.#track(done);
      return done;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Waits for the transaction's sends, then commits it: its records become visible to
   * read_committed readers and its offsets to the group. If a send failed, nothing is committed:
   * this throws that failure and only abort() is allowed.
   */
  async commit(): Promise<TransactionDescription> {
    this.#check('open', 'failed');
    await Promise.allSettled(this.#pending);
    if (this.#failure !== undefined || (this.#state as TransactionState) === 'failed') {
      const cause = this.#failure;
      if (cause?.code === 'PRODUCER_FENCED') throw cause;
      throw new WebkaError('INVALID_TXN_STATE', `the transaction cannot commit: a send or sendOffsets failed (${cause?.code}: ${cause?.message}); abort() it and try again`, { status: 409, cause });
    }
    const d = await this.#end('commit');
    this.#state = 'ready';
    return d;
  }

  /**
   * Aborts the open transaction: its records are never shown to read_committed readers and its
   * offsets are dropped. After a failed send, it also takes a new epoch (a send's fate may be
   * unknown, so its sequence numbers start afresh).
   */
  async abort(): Promise<TransactionDescription> {
    this.#check('open', 'failed');
    await Promise.allSettled(this.#pending);
    const d = await this.#end('abort');
    if (this.#failure !== undefined) await this.init();
    this.#pending = [];
    this.#state = 'ready';
    return d;
  }

  /** Describes the transactional id as the broker knows it (state, partitions, offsets, age). */
  describe(): Promise<TransactionDescription> {
    return this.#http.json('GET', `${this.#base}/${seg(this.transactionalId)}`);
  }

  /** Refuses further calls (an open transaction is left to abort()/the broker's timeout). */
  close(): void {
    this.#state = 'closed';
  }

  async #end(type: 'commit' | 'abort'): Promise<TransactionDescription> {
    return this.#call<TransactionDescription>('POST', `${this.#base}/${seg(this.transactionalId)}/${type}`, { producerId: this.#producerId, producerEpoch: this.#producerEpoch });
  }

  #produce(topic: string, records: string[]): Promise<RecordMetadata[]> {
    const prev = this.#chains.get(topic) ?? Promise.resolve();
    const run = async (): Promise<RecordMetadata[]> => {
      const sequence = this.#sequences.get(topic) ?? 0;
      const body =
        `{"valueFormat":"${this.#opts.valueFormat}","transactionalId":${JSON.stringify(this.transactionalId)},` +
        `"producerId":${this.#producerId},"producerEpoch":${this.#producerEpoch},"sequence":${sequence},"records":[${records.join(',')}]}`;
      const a = await this.#call<Answer>('POST', this.#records(topic), body);
      this.#sequences.set(topic, sequence + 1);
      return records.map((_, i) => {
        const r = a?.records?.[i];
        return { topic, partition: r?.partition ?? -1, offset: r?.offset ?? -1, timestamp: r?.timestamp ?? -1 };
      });
    };
    const p = prev.then(run, run);
    this.#chains.set(topic, p.catch(() => undefined));
    return p;
  }

  /** One broker call, retried while retriable; a fencing answer fences this instance for good. */
  async #call<T>(method: string, path: string, body: unknown): Promise<T> {
    try {
      return await retryUntil(Date.now() + this.#opts.deliveryTimeoutMs, this.#opts, (signal) => this.#http.json<T>(method, path, { body, signal }));
    } catch (err) {
      const e = err instanceof WebkaError ? err : new WebkaError('NETWORK_ERROR', String(err), { cause: err });
      if (e.code === 'PRODUCER_FENCED') {
        this.#state = 'fenced';
        throw new WebkaError('PRODUCER_FENCED', `transactional id "${this.transactionalId}" was taken over by a newer epoch than ${this.#producerEpoch} (another instance initialised it, an operator aborted it, or the broker timed the transaction out): stop this instance, or init() again to take it back (${e.message})`, { status: e.status, details: e.details, cause: e });
      }
      throw e;
    }
  }

  #track(p: Promise<unknown>): void {
    this.#pending.push(p);
    p.catch((err: unknown) => {
      this.#failure ??= err as WebkaError;
      if (this.#state === 'open') this.#state = 'failed';
    });
  }

  #check(...allowed: TransactionState[]): void {
    if (allowed.includes(this.#state)) return;
    if (this.#state === 'fenced') throw new WebkaError('PRODUCER_FENCED', `transactional id "${this.transactionalId}" is fenced: a newer epoch took it over; stop this instance, or init() again`, { status: 409 });
    if (this.#state === 'closed') throw this.#closedError();
    const hint: Record<string, string> = {
      uninitialised: 'call begin() first',
      ready: 'call begin() first',
      open: 'commit() or abort() the open transaction first',
      failed: 'a send failed: abort() the transaction',
    };
    throw new WebkaError('INVALID_TXN_STATE', `not allowed while the transactional producer is ${this.#state}: ${hint[this.#state]}`, { status: 409 });
  }

  #closedError(): WebkaError {
    return new WebkaError('CLOSED', 'the transactional producer is closed');
  }
}
