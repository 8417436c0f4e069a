/**
 * The group API as one member sees it: join, poll (long-poll or an SSE stream), commit, leave.
 * Only this file knows the routes and body shapes of /v1/clusters/{c}/groups/{g}/members; the
 * Consumer above it holds positions, commits and reconnects.
 */
import { SSE_CONTENT_TYPE, SseEvent } from '@webka/protocol/sse';
import { seg, type HttpClient } from './http-client.js';
import { readSse } from './sse-reader.js';
import { streamError } from './partition-consumer.js';
import type { ConsumerRecord, Isolation, TopicPartition, TopicPartitionOffset, ValueFormat } from './types.js';

export interface Assignment {
  generationId: number;
  partitions: TopicPartition[];
}

export interface JoinOptions {
  topics: string[];
  sessionTimeoutMs?: number;
  autoOffsetReset?: 'earliest' | 'latest' | 'none';
  clientId?: string;
  maxPollRecords?: number;
}

/**
 * The broker's assignment in either of its shapes: {generation, assignment:[{topic,partition}]}
 * (join and poll answers) or {generationId, assignment:[{topic,partitions:[..]}]} (SSE rebalance).
 */
export function toAssignment(a: { generation?: number; generationId?: number; assignment?: unknown }): Assignment | undefined {
  const generationId = a.generation ?? a.generationId;
  if (generationId === undefined || !Array.isArray(a.assignment)) return undefined;
  const partitions: TopicPartition[] = [];
  for (const e of a.assignment as { topic: string; partition?: number; partitions?: number[] }[]) {
    if (typeof e.partition === 'number') partitions.push({ topic: e.topic, partition: e.partition });
    for (const p of e.partitions ?? []) partitions.push({ topic: e.topic, partition: p });
  }
  return { generationId, partitions };
}

/** What one poll or one stream event gives. */
export type MemberEvent = { kind: 'records'; records: ConsumerRecord[] } | { kind: 'rebalance'; assignment: Assignment };

export class GroupMember {
  readonly memberId: string;
  /** Set when the broker answered a stream request with a plain poll answer. */
  sseUnsupported = false;
  /** The stream position after the last record received (a group position "g:..."). */
  lastEventId: string | undefined;
  #http: HttpClient;
  #base: string;

  private constructor(http: HttpClient, base: string, memberId: string) {
    this.#http = http;
    this.#base = base;
    this.memberId = memberId;
  }

  static async join(http: HttpClient, cluster: string, group: string, opts: JoinOptions, signal?: AbortSignal): Promise<{ member: GroupMember; assignment: Assignment | undefined }> {
    const base = `/v1/clusters/${seg(cluster)}/groups/${seg(group)}/members`;
    // The SDK commits itself (at-least-once: what the loop has finished with), so the broker's
    // own auto commit of everything delivered is off.
    const a = await http.json<{ memberId: string; generation?: number; assignment?: unknown }>('POST', base, {
      body: {
        topics: opts.topics,
        sessionTimeoutMs: opts.sessionTimeoutMs,
        autoOffsetReset: opts.autoOffsetReset,
        clientId: opts.clientId,
        maxPollRecords: opts.maxPollRecords,
        autoCommit: false,
        delivery: 'at-least-once',
      },
      signal,
    });
    return { member: new GroupMember(http, base, a.memberId), assignment: toAssignment(a) };
  }

  #path(suffix = ''): string {
    return `${this.#base}/${seg(this.memberId)}${suffix}`;
  }

  /** One long poll: records from the assigned partitions, and the assignment when it changed. */
  async poll(opts: { maxWaitMs: number; maxRecords?: number; valueFormat?: ValueFormat; isolation?: Isolation; generationId?: number }, signal: AbortSignal): Promise<MemberEvent[]> {
    const a = await this.#http.json<{ records: ConsumerRecord[]; generation?: number; assignment?: unknown }>('GET', this.#path('/records'), {
      query: { maxWaitMs: opts.maxWaitMs, maxRecords: opts.maxRecords, valueFormat: opts.valueFormat, isolation: opts.isolation },
      signal,
    });
    const out: MemberEvent[] = [];
    const assignment = toAssignment(a);
    if (assignment !== undefined) out.push({ kind: 'rebalance', assignment });
    out.push({ kind: 'records', records: a.records ?? [] });
    return out;
  }

  /** The member's SSE stream: record events and rebalance events, until it ends or fails. */
  async *stream(opts: { valueFormat?: ValueFormat; isolation?: Isolation }, signal: AbortSignal): AsyncGenerator<MemberEvent> {
    const res = await this.#http.raw('GET', this.#path('/records'), {
      query: { valueFormat: opts.valueFormat, isolation: opts.isolation },
      // The id of the last record received: the broker carries on right after it.
      headers: this.lastEventId === undefined ? { accept: SSE_CONTENT_TYPE } : { accept: SSE_CONTENT_TYPE, 'last-event-id': this.lastEventId },
      signal,
    });
    if (!(res.headers.get('content-type') ?? '').startsWith(SSE_CONTENT_TYPE)) {
      // A broker without group streams answered the poll as JSON: use what it sent, and say so.
      this.sseUnsupported = true;
      const a = (await res.json()) as { records?: ConsumerRecord[]; generation?: number; assignment?: unknown };
      const assignment = toAssignment(a);
      if (assignment !== undefined) yield { kind: 'rebalance', assignment };
      yield { kind: 'records', records: a.records ?? [] };
      return;
    }
    if (res.body === null) return;
    for await (const m of readSse(res.body, signal)) {
      if (m.event === SseEvent.record) {
        this.lastEventId = m.id;
        yield { kind: 'records', records: [JSON.parse(m.data) as ConsumerRecord] };
      }
      else if (m.event === SseEvent.rebalance) {
        const a = toAssignment(JSON.parse(m.data) as { generation?: number; generationId?: number; assignment?: unknown });
        if (a !== undefined) yield { kind: 'rebalance', assignment: a };
      }
      else if (m.event === SseEvent.error) throw streamError(m.data);
    }
  }

  async commit(offsets: TopicPartitionOffset[], generationId: number | undefined, signal?: AbortSignal): Promise<void> {
    await this.#http.json('POST', this.#path('/offsets'), { body: { generation: generationId, offsets }, signal });
  }

  /** Renews the session; answers the group's current generation and this member's assignment. */
  async heartbeat(signal?: AbortSignal): Promise<Assignment | undefined> {
    return toAssignment(await this.#http.json<{ generation?: number; assignment?: unknown }>('POST', this.#path('/heartbeat'), { signal }));
  }

  async leave(signal?: AbortSignal): Promise<void> {
    await this.#http.json('DELETE', this.#path(), { signal });
  }
}
