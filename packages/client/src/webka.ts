/**
 * The entry point: `new Webka({ url, token })` holds the connection settings and makes
 * producers, consumers and the admin client, which share them. It opens nothing by itself.
 */
import { Admin } from './admin.js';
import { DurableStream } from './durable-stream.js';
import { Consumer, type ConsumerOptions } from './consumer.js';
import { HttpClient, seg, type FetchFn } from './http-client.js';
import { PartitionConsumer, type PartitionConsumerOptions } from './partition-consumer.js';
import { Producer, type ProducerOptions } from './producer.js';
import { TransactionalProducer, type TransactionalProducerOptions } from './transactional-producer.js';
import { TopicFollower, type TopicFollowerOptions } from './topic-follower.js';
import type { ConsumerRecord, ValueFormat } from './types.js';

/** One fetch of a partition: its records and where the partition stands. */
export interface FetchedRecords {
  records: Omit<ConsumerRecord, 'topic' | 'partition'>[];
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
  /** With `match`: the records the broker looked through (nextOffset resumes past the last). */
  scanned?: number;
}

export interface FetchRecordsOptions {
  /** An offset, earliest (default) or latest. */
  offset?: number | 'earliest' | 'latest';
  /** Instead of offset: the first record at or after this time (ms). */
  timestamp?: number;
  maxRecords?: number;
  maxBytes?: number;
  /** How values are shown: as each was produced (default: text as text, JSON as JSON, bytes as base64), or all as json, text or binary. */
  valueFormat?: ValueFormat;
  keyFormat?: 'text' | 'binary';
  /** Search: only the records whose key, value or headers (see matchIn) contain this text, ignoring case. */
  match?: string;
  /** Where `match` looks: key, value, headers (name=value) or any of them (default). */
  matchIn?: 'any' | 'key' | 'value' | 'headers';
  /** Search: the records the broker looks through at most (default 10,000); resume at nextOffset. */
  maxScan?: number;
  signal?: AbortSignal;
}

export interface WebkaOptions {
  /**
   * The broker's base URL, e.g. http://localhost:8080. For a cluster, several brokers' URLs (an
   * array, or one string with commas): requests go to one at a time, and move to the next when
   * that one cannot be reached or cannot serve, so the SDK carries on when a broker dies.
   */
  url: string | readonly string[];
  /** Sent as Authorization: Bearer <token>. */
  token?: string;
  /** The cluster (default "default"). */
  cluster?: string;
  /** A fetch to use instead of globalThis.fetch (for proxies, tests, instrumentation). */
  fetch?: FetchFn;
  /** Headers added to every request. */
  headers?: Record<string, string>;
}

export class Webka {
  readonly cluster: string;
  readonly http: HttpClient;

  constructor(opts: WebkaOptions) {
    const given = typeof opts?.url === 'string' ? opts.url : Array.isArray(opts?.url) ? (opts.url as readonly string[]).join(',') : '';
    if (given.replace(/[\s,]/g, '') === '') throw new TypeError('new Webka({ url }) needs the broker URL (or, for a cluster, several brokers\' URLs)');
    this.http = new HttpClient({ url: opts.url, token: opts.token, fetch: opts.fetch, headers: opts.headers });
    this.cluster = opts.cluster ?? 'default';
  }

  producer(options: ProducerOptions = {}): Producer {
    return new Producer(this.http, this.cluster, options);
  }

  /** A producer whose sends and consumer offsets commit or abort together (docs/transactions.md). */
  transactionalProducer(options: TransactionalProducerOptions): TransactionalProducer {
    return new TransactionalProducer(this.http, this.cluster, options);
  }

  /** A group consumer (`groupId`), or a reader of one partition (`partition`) without a group. */
  consumer(options: ConsumerOptions): Consumer;
  consumer(options: PartitionConsumerOptions): PartitionConsumer;
  consumer(options: ConsumerOptions | PartitionConsumerOptions): Consumer | PartitionConsumer {
    if ('groupId' in options) return new Consumer(this.http, this.cluster, options);
    return new PartitionConsumer(this.http, this.cluster, options);
  }

  admin(): Admin {
    return new Admin(this.http, this.cluster);
  }

  /** Follows every partition of a topic live over one SSE stream, resuming after failures. */
  followTopic(options: TopicFollowerOptions): TopicFollower {
    return new TopicFollower(this.http, this.cluster, options);
  }

  /** A Durable Stream (`/v1/stream/{path}`) to read once or follow live (docs/durable-streams.md). */
  durableStream(path: string): DurableStream {
    return new DurableStream(this.http, path);
  }

  /** One fetch of a partition from an offset or a time, without waiting (for browsing). */
  fetchRecords(topic: string, partition: number, opts: FetchRecordsOptions = {}): Promise<FetchedRecords> {
    const { signal, offset, ...query } = opts;
    const path = `/v1/clusters/${seg(this.cluster)}/topics/${seg(topic)}/partitions/${partition}/records`;
    return this.http.json('GET', path, { query: { ...query, ...(opts.timestamp === undefined ? { offset } : {}) }, signal });
  }
}
