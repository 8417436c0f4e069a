/**
 * The entry point: `new Webka({ url, token })` holds the connection settings and makes
 * producers, consumers and the admin client, which share them. It opens nothing by itself.
 */
import { Admin } from './admin.js';
import { Consumer, type ConsumerOptions } from './consumer.js';
import { HttpClient, type FetchFn } from './http-client.js';
import { PartitionConsumer, type PartitionConsumerOptions } from './partition-consumer.js';
import { Producer, type ProducerOptions } from './producer.js';

export interface WebkaOptions {
  /** The broker's base URL, e.g. http://localhost:8080. */
  url: string;
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
    if (typeof opts?.url !== 'string' || opts.url.length === 0) throw new TypeError('new Webka({ url }) needs the broker URL');
    this.http = new HttpClient({ url: opts.url, token: opts.token, fetch: opts.fetch, headers: opts.headers });
    this.cluster = opts.cluster ?? 'default';
  }

  producer(options: ProducerOptions = {}): Producer {
    return new Producer(this.http, this.cluster, options);
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
}
