/**
 * The producer: `send()` queues records per topic and resolves each with its partition and
 * offset once the broker has written it (acks=all by default: on disk). Batching, retries and
 * idempotence live in TopicLane; this class routes, flushes and closes.
 *
 * Created by `webka.producer(options)`; usable at once; `close()` flushes and then refuses new
 * sends. Safe to call from any number of concurrent tasks.
 */
import { WebkaError } from './errors.js';
import type { HttpClient } from './http-client.js';
import { onPageHide } from './page-hide.js';
import { KEEPALIVE_BUDGET, TopicLane, type LaneOptions } from './topic-lane.js';
import type { ProducerRecord, RecordMetadata, ValueFormat } from './types.js';

export interface ProducerOptions {
  /** Most bytes of records per request (default 1 MiB). */
  batchSize?: number;
  /** Most records per request (default 5,000; keep it under the broker's maxRecordsPerRequest). */
  maxBatchRecords?: number;
  /** How long a record may wait for others to fill its batch (default 5 ms). */
  lingerMs?: number;
  /** Exactly-once writes through a producer id and sequences (default true; needs acks all). */
  idempotent?: boolean;
  acks?: 'all' | 1 | 0;
  /** How values are sent: json (any JSON value, default), text (strings), binary (Uint8Array). */
  valueFormat?: ValueFormat;
  /** How long a record may take, retries included, before send() rejects (default 120 s). */
  deliveryTimeoutMs?: number;
  /** How long one attempt may wait for its answer (default 30 s). */
  requestTimeoutMs?: number;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** In a browser: send what is queued with fetch keepalive when the page is hidden (default true). */
  flushOnPageHide?: boolean;
}

export class Producer {
  #http: HttpClient;
  #opts: LaneOptions;
  #lanes = new Map<string, TopicLane>();
  #closed = false;
  #unlisten: () => void;

  constructor(http: HttpClient, cluster: string, options: ProducerOptions = {}) {
    this.#http = http;
    const acks = options.acks ?? 'all';
    this.#opts = {
      cluster,
      batchSize: options.batchSize ?? 1024 * 1024,
      maxBatchRecords: options.maxBatchRecords ?? 5_000,
      lingerMs: options.lingerMs ?? 5,
      idempotent: (options.idempotent ?? true) && acks === 'all',
      acks,
      valueFormat: options.valueFormat ?? 'json',
      deliveryTimeoutMs: options.deliveryTimeoutMs ?? 120_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      retryBackoffMs: options.retryBackoffMs ?? 100,
      retryBackoffMaxMs: options.retryBackoffMaxMs ?? 5_000,
    };
    if (options.idempotent === true && acks !== 'all') throw new WebkaError('INVALID_REQUEST', 'an idempotent producer needs acks "all"');
    this.#unlisten = options.flushOnPageHide === false ? () => undefined : onPageHide(() => this.#keepaliveFlush());
  }

  /** Queues one record; resolves when it is written. */
  send(topic: string, record: ProducerRecord): Promise<RecordMetadata>;
  /** Queues several records (in order); resolves when all are written. */
  send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]>;
  send(topic: string, r: ProducerRecord | ProducerRecord[]): Promise<RecordMetadata | RecordMetadata[]> {
    if (this.#closed) return Promise.reject(new WebkaError('CLOSED', 'the producer is closed'));
    if (Array.isArray(r)) return Promise.all(r.map((one) => this.#enqueue(topic, one)));
    return this.#enqueue(topic, r);
  }

  #enqueue(topic: string, r: ProducerRecord): Promise<RecordMetadata> {
    let json: string;
    try {
      json = encodeRecord(r, this.#opts.valueFormat);
    } catch (err) {
      return Promise.reject(err);
    }
    let lane = this.#lanes.get(topic);
    if (lane === undefined) {
      lane = new TopicLane(topic, this.#http, this.#opts);
      this.#lanes.set(topic, lane);
    }
    return new Promise<RecordMetadata>((resolve, reject) => lane.enqueue({ json, resolve, reject }));
  }

  /** Sends everything queued and waits until every record sent so far is answered. */
  async flush(): Promise<void> {
    await Promise.all([...this.#lanes.values()].map((l) => l.flush()));
  }

  /** Flushes, then refuses further sends. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unlisten();
    await this.flush();
  }

  #keepaliveFlush(): void {
    let budget = KEEPALIVE_BUDGET;
    for (const lane of this.#lanes.values()) {
      if (lane.queued === 0) continue;
      budget -= lane.sendKeepalive(budget);
      // What did not fit goes the normal way; it may still make it if the page lives on.
      if (lane.queued > 0) void lane.flush();
    }
  }
}

/** One record's JSON text in the produce body; validated here so a bad record fails alone. */
export function encodeRecord(r: ProducerRecord, format: ValueFormat): string {
  if (r === null || typeof r !== 'object' || !('value' in r)) throw new WebkaError('INVALID_REQUEST', 'a record needs a "value" (null for a tombstone)');
  let value = r.value;
  if (value === undefined) throw new WebkaError('INVALID_REQUEST', 'record value is undefined; use null for a tombstone');
  if (format === 'text' && value !== null && typeof value !== 'string') throw new WebkaError('INVALID_REQUEST', 'with valueFormat text, values are strings');
  if (format === 'binary' && value !== null) {
    if (!(value instanceof Uint8Array)) throw new WebkaError('INVALID_REQUEST', 'with valueFormat binary, values are Uint8Array');
    value = toBase64(value);
  }
  // Written by hand rather than JSON.stringify of a new object: this runs once per record and
  // is most of the producer's own CPU time. The commonest record, a plain string value and
  // nothing else, is one concatenation.
  if (typeof value === 'string' && r.key === undefined && r.headers === undefined && r.partition === undefined && r.timestamp === undefined && isPlain(value)) {
    return '{"value":"' + value + '"}';
  }
  let out = '{"value":' + (typeof value === 'string' ? quote(value) : JSON.stringify(value));
  if (r.key !== undefined && r.key !== null) {
    if (typeof r.key !== 'string') throw new WebkaError('INVALID_REQUEST', 'a record key is a string (or null)');
    out += ',"key":' + quote(r.key);
  }
  if (r.headers !== undefined) out += ',"headers":' + JSON.stringify(r.headers);
  if (r.partition !== undefined) {
    if (!Number.isInteger(r.partition) || r.partition < 0) throw new WebkaError('INVALID_REQUEST', 'a record partition is a non-negative integer');
    out += ',"partition":' + r.partition;
  }
  if (r.timestamp !== undefined) {
    if (!Number.isInteger(r.timestamp)) throw new WebkaError('INVALID_TIMESTAMP', 'a record timestamp is an integer of milliseconds since the epoch');
    out += ',"timestamp":' + r.timestamp;
  }
  return out + '}';
}

/** Strings without characters that need escaping (the common case) skip JSON.stringify. */
const PLAIN = /^[^"\\\u0000-\u001f\u2028\u2029\ud800-\udfff]*$/;
function isPlain(s: string): boolean {
  return s.length < 256 && PLAIN.test(s);
}
function quote(s: string): string {
  return isPlain(s) ? '"' + s + '"' : JSON.stringify(s);
}

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
