/**
 * Follows every partition of a topic over one Server-Sent Events stream
 * (`GET /v1/clusters/{c}/topics/{t}/records`, docs/streaming.md): `for await (const r of follower)`.
 * The broker's event id is the topic position after each record; after a dropped connection or a
 * broker restart the follower reconnects with backoff and sends it as Last-Event-ID, so nothing is
 * missed or repeated. Used by the console's live tail; `close()` ends the loop.
 */
import { SSE_CONTENT_TYPE, SseEvent } from '@webka/protocol/sse';
import { backoffDelay, RetryBudget, sleep, type RetryBudgetOptions } from './backoff.js';
import { WebkaError } from './errors.js';
import { seg, type HttpClient } from './http-client.js';
import { streamError } from './partition-consumer.js';
import { readSse } from './sse-reader.js';
import type { ConsumerRecord, ValueFormat } from './types.js';

export interface TopicFollowerOptions extends RetryBudgetOptions {
  topic: string;
  /** Where to start (default latest: only records produced from now on). */
  from?: 'earliest' | 'latest' | { timestamp: number };
  /** How values are shown: as each was produced (default: text as text, JSON as JSON, bytes as base64), or all as json, text or binary. */
  valueFormat?: ValueFormat;
  keyFormat?: 'text' | 'binary';
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
}

export class TopicFollower implements AsyncIterable<ConsumerRecord> {
  readonly topic: string;
  #http: HttpClient;
  #cluster: string;
  #opts: TopicFollowerOptions;
  #closing = new AbortController();
  /** The broker's position after the last record delivered (its SSE event id). */
  #position: string | undefined;

  constructor(http: HttpClient, cluster: string, opts: TopicFollowerOptions) {
    this.#http = http;
    this.#cluster = cluster;
    this.#opts = opts;
    this.topic = opts.topic;
  }

  close(): void {
    this.#closing.abort(new WebkaError('CLOSED', 'the follower is closed'));
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ConsumerRecord> {
    const signal = this.#closing.signal;
    let attempt = 0;
    const budget = new RetryBudget(this.#opts, 'topic follower');
    while (!signal.aborted) {
      try {
        const from = this.#opts.from ?? 'latest';
        const res = await this.#http.raw('GET', `/v1/clusters/${seg(this.#cluster)}/topics/${seg(this.topic)}/records`, {
          query: {
            ...(this.#position === undefined ? (typeof from === 'object' ? { timestamp: from.timestamp } : { offset: from }) : {}),
            valueFormat: this.#opts.valueFormat,
            keyFormat: this.#opts.keyFormat,
          },
          headers: { accept: SSE_CONTENT_TYPE, ...(this.#position !== undefined ? { 'last-event-id': this.#position } : {}) },
          signal,
        });
        if (res.body === null) throw new WebkaError('NETWORK_ERROR', 'the event stream has no body');
        budget.answered();
        for await (const m of readSse(res.body, signal)) {
          if (m.event === SseEvent.error) throw streamError(m.data);
          if (m.event !== SseEvent.record) continue;
          attempt = 0;
          budget.answered();
          this.#position = m.id;
          yield { topic: this.topic, ...(JSON.parse(m.data) as Omit<ConsumerRecord, 'topic'>) };
        }
        throw new WebkaError('NETWORK_ERROR', 'the event stream ended');
      } catch (err) {
        if (signal.aborted) return;
        const e = err instanceof WebkaError ? err : new WebkaError('NETWORK_ERROR', String(err), { cause: err });
        if (!e.retriable) throw e;
        budget.failed(e);
        await sleep(backoffDelay(attempt++, this.#opts), signal).catch(() => undefined);
      }
    }
  }
}
