/**
 * Reads one partition from a position, without a group: `for await (const r of reader)`. Used by
 * `webka consume --partition` and by apps that track their own offsets. The reader keeps its
 * position (the next offset) and, after any failure (a dropped connection, a broker restart),
 * reconnects with backoff and resumes exactly there: nothing missed, nothing repeated.
 *
 * Transports: 'long-poll' (GET .../records?maxWaitMs=, woken by appends) or 'sse' (the same URL
 * with Accept: text/event-stream, resumed with Last-Event-ID). Without `follow`, the reader ends
 * at the high watermark it finds (always through fetch, which reports it).
 */
import { encodePartitionPosition, SSE_CONTENT_TYPE, SseEvent } from '@webka/protocol/sse';
import { backoffDelay, RetryBudget, sleep, type RetryBudgetOptions } from './backoff.js';
import { WebkaError } from './errors.js';
import { seg, type HttpClient } from './http-client.js';
import { readSse } from './sse-reader.js';
import type { ConsumerRecord, Isolation, ValueFormat } from './types.js';

export type StartPosition = 'earliest' | 'latest' | { offset: number } | { timestamp: number };

export interface PartitionConsumerOptions extends RetryBudgetOptions {
  topic: string;
  partition: number;
  /** Where to start (default earliest). */
  from?: StartPosition;
  /** Keep waiting for new records at the end (default true). */
  follow?: boolean;
  transport?: 'sse' | 'long-poll';
  /** Most records per fetch (long-poll). */
  maxRecords?: number;
  /** How long one long poll waits (default 20 s). */
  maxWaitMs?: number;
  /** How values are shown: as each was produced (default: text as text, JSON as JSON, bytes as base64), or all as json, text or binary. */
  valueFormat?: ValueFormat;
  /** read_uncommitted (default) or read_committed: only committed transactions' records; without follow, ends at the last stable offset. */
  isolation?: Isolation;
  /**
   * Only the records whose key, value or headers (see matchIn) contain this text, ignoring case:
   * the broker searches (docs/http-api.md#search), so the others never cross the network.
   * Long-poll transport only.
   */
  match?: string;
  /** Where `match` looks: key, value, headers (name=value) or any of them (default). */
  matchIn?: 'any' | 'key' | 'value' | 'headers';
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
}

interface FetchAnswer {
  records: Omit<ConsumerRecord, 'topic' | 'partition'>[];
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
  /** With read_committed: where the undecided transactions begin. */
  lastStableOffset?: number;
}

export class PartitionConsumer implements AsyncIterable<ConsumerRecord> {
  readonly topic: string;
  readonly partition: number;
  #http: HttpClient;
  #opts: PartitionConsumerOptions;
  #cluster: string;
  #position: number | undefined;
  #closing = new AbortController();

  constructor(http: HttpClient, cluster: string, opts: PartitionConsumerOptions) {
    this.#http = http;
    this.#cluster = cluster;
    if (opts.match !== undefined && opts.transport === 'sse' && opts.follow !== false) throw new WebkaError('INVALID_REQUEST', 'match needs the long-poll transport: the broker searches in fetches, not in SSE streams');
    this.#opts = opts;
    this.topic = opts.topic;
    this.partition = opts.partition;
  }

  /** The next offset to deliver (undefined before the start position is resolved). */
  get position(): number | undefined {
    return this.#position;
  }

  close(): void {
    this.#closing.abort(new WebkaError('CLOSED', 'the consumer is closed'));
  }

  #base(): string {
    return `/v1/clusters/${seg(this.#cluster)}/topics/${seg(this.topic)}/partitions/${this.partition}`;
  }

  async #resolveStart(signal: AbortSignal): Promise<number> {
    const from = this.#opts.from ?? 'earliest';
    const o = await this.#http.json<{ earliest: number; latest: number; offsetForTimestamp?: number }>('GET', `${this.#base()}/offsets`, {
      query: { timestamp: typeof from === 'object' && 'timestamp' in from ? from.timestamp : undefined },
      signal,
    });
    if (from === 'earliest') return o.earliest;
    if (from === 'latest') return o.latest;
    if ('timestamp' in from) return o.offsetForTimestamp ?? o.latest;
    return from.offset;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ConsumerRecord> {
    const signal = this.#closing.signal;
    const follow = this.#opts.follow ?? true;
    let attempt = 0;
    const budget = new RetryBudget(this.#opts, 'partition consumer');
    while (!signal.aborted) {
      try {
        this.#position ??= await this.#resolveStart(signal);
        if (follow && this.#opts.transport === 'sse') {
          for await (const r of this.#sse(signal, budget)) {
            attempt = 0;
            budget.answered();
            yield r;
          }
        } else {
          const a = await this.#http.json<FetchAnswer>('GET', `${this.#base()}/records`, {
            query: {
              offset: this.#position,
              maxRecords: this.#opts.maxRecords,
              maxWaitMs: follow ? (this.#opts.maxWaitMs ?? 20_000) : 0,
              valueFormat: this.#opts.valueFormat,
              isolation: this.#opts.isolation,
              match: this.#opts.match,
              matchIn: this.#opts.match === undefined ? undefined : this.#opts.matchIn,
            },
            signal,
          });
          attempt = 0;
          budget.answered();
          for (const r of a.records) {
            if (signal.aborted) return;
            this.#position = r.offset + 1;
            yield { topic: this.topic, partition: this.partition, ...r };
          }
          // A fetch can end before a record (a compacted gap, or records a search passed over): nextOffset moves us past it.
          this.#position = Math.max(this.#position, a.nextOffset);
          if (!follow && this.#position >= (this.#opts.isolation === 'read_committed' ? (a.lastStableOffset ?? a.highWatermark) : a.highWatermark)) return;
        }
      } catch (err) {
        if (signal.aborted) return;
        const e = err instanceof WebkaError ? err : new WebkaError('NETWORK_ERROR', String(err), { cause: err });
        if (e.code === 'OFFSET_OUT_OF_RANGE' && typeof e.details.logStartOffset === 'number' && this.#position! < e.details.logStartOffset) {
          // Retention removed what we wanted: go on from the oldest record left, as Kafka's
          // auto.offset.reset=earliest does.
          this.#position = e.details.logStartOffset;
          continue;
        }
        if (!e.retriable) throw e;
        budget.failed(e);
        await sleep(backoffDelay(attempt++, this.#opts), signal).catch(() => undefined);
      }
    }
  }

  async *#sse(signal: AbortSignal, budget: RetryBudget): AsyncGenerator<ConsumerRecord> {
    const res = await this.#http.raw('GET', `${this.#base()}/records`, {
      query: { offset: this.#position, valueFormat: this.#opts.valueFormat, isolation: this.#opts.isolation },
      headers: { accept: SSE_CONTENT_TYPE, 'last-event-id': encodePartitionPosition(this.#position!) },
      signal,
    });
    if (res.body === null) return;
    budget.answered();
    for await (const m of readSse(res.body, signal)) {
      if (m.event === SseEvent.error) throw streamError(m.data);
      if (m.event !== SseEvent.record) continue;
      const r = JSON.parse(m.data) as Omit<ConsumerRecord, 'topic' | 'partition'>;
      if (r.offset < this.#position!) continue;
      this.#position = r.offset + 1;
      yield { topic: this.topic, partition: this.partition, ...r };
    }
    // The broker ended the stream (it is stopping): the caller reconnects.
    throw new WebkaError('NETWORK_ERROR', 'the event stream ended');
  }
}

/** The error an `event: error` carries (the broker's error body). */
export function streamError(data: string): WebkaError {
  try {
    const e = (JSON.parse(data) as { error: { code: string; message: string } }).error;
    const { code, message, ...details } = e as { code: string; message: string } & Record<string, unknown>;
    return new WebkaError(code, message, { details });
  } catch {
    return new WebkaError('UNKNOWN_ERROR', `bad error event: ${data.slice(0, 200)}`);
  }
}
