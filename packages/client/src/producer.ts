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
import { encodeRecord } from './encode-record.js';
import { toBatchRecord, type BatchRecord } from './batch-body.js';
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
  /**
   * How requests carry records: 'recordbatch' (default) builds a Kafka RecordBatch v2 per
   * partition here, which the broker appends without decoding (records without a timestamp get
   * this client's clock, and keys are routed here by murmur2 as the broker would); 'json' sends
   * JSON bodies that the broker routes and encodes.
   */
  wireFormat?: 'recordbatch' | 'json';
  /** recordbatch: how long a topic's partition count and leaders are trusted before they are asked again (default 5 min, as Kafka's metadata.max.age.ms). */
  metadataMaxAgeMs?: number;
  /**
   * recordbatch, in a cluster: send a request whose partitions one broker leads straight to that
   * broker, at the URL it registered (default true). False where only the URLs given are
   * reachable (a page whose Content-Security-Policy allows its own origin alone, say).
   */
  toLeaders?: boolean;
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
      wireFormat: options.wireFormat ?? 'recordbatch',
      metadataMaxAgeMs: options.metadataMaxAgeMs ?? 300_000,
      toLeaders: options.toLeaders ?? true,
    };
    if (this.#opts.wireFormat !== 'recordbatch' && this.#opts.wireFormat !== 'json') throw new WebkaError('INVALID_REQUEST', 'wireFormat is "recordbatch" or "json"');
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
    let json: string | undefined;
    let rec: BatchRecord | undefined;
    try {
      if (this.#opts.wireFormat === 'json') json = encodeRecord(r, this.#opts.valueFormat);
      else rec = toBatchRecord(r, this.#opts.valueFormat, Date.now());
    } catch (err) {
      return Promise.reject(err);
    }
    let lane = this.#lanes.get(topic);
    if (lane === undefined) {
      lane = new TopicLane(topic, this.#http, this.#opts);
      this.#lanes.set(topic, lane);
    }
    return new Promise<RecordMetadata>((resolve, reject) =>
      lane.enqueue(rec !== undefined ? { rec, record: r, size: rec.size, resolve, reject } : { json, size: json!.length + 1, resolve, reject }),
    );
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

export { encodeRecord, toBase64 } from './encode-record.js';
