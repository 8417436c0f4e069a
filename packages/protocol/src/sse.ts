/**
 * Server-Sent Events: the event names and the `id:` of record events, shared by the broker (which
 * writes them) and the SDK (which resumes from them). docs/streaming.md describes the stream.
 *
 * An event id is the position from which a stream resumes, i.e. the NEXT offset(s) to deliver,
 * never the offset of the record just sent. A reconnecting EventSource sends it back as
 * `Last-Event-ID`, and the broker starts exactly there: nothing missed, nothing repeated.
 *
 * Partition stream id: the next offset in decimal.          "42"
 *
 * Topic stream id: "t:" then every partition's next offset, in partition order, in base 36,
 * separated by ".":                                         "t:16.0.2s" = partition 0 at 42,
 *                                                                        1 at 0, 2 at 100
 *   - base 36 keeps ids short (an offset of 10^12 is 8 characters, not 13);
 *   - a topic that grew after the id was written has more partitions than the id: the new
 *     partitions are read from their log start, since everything in them came after the id;
 *   - an id with MORE partitions than the topic is invalid (partitions never shrink);
 *   - at most MAX_TOPIC_POSITION_PARTITIONS entries, so the id fits in one request header.
 * Group member stream id: "g:" then, for every partition the stream has delivered from (or
 * knows a position of), "topic:partition:nextOffset" with partition and offset in base 36,
 * joined by ",":                                            "g:orders:0:16,orders:1:0"
 *   - names hold no ":" or ",", so the split is unambiguous;
 *   - at-least-once members resume there (the broker rewinds or advances the member to it);
 *     at-most-once members ignore it, since what was sent is committed.
 */

export const SSE_CONTENT_TYPE = 'text/event-stream';

/** `event:` names. A record's `data:` is the fetch API's record JSON (topic streams add "partition"). */
export const SseEvent = {
  record: 'record',
  /** A group member's assignment: `data:` {"memberId","generation","assignment":[{"topic","partition"}]}; first on every group stream, then after each rebalance. */
  rebalance: 'rebalance',
  /** The stream failed after it started: `data:` the error body {"error":{code,message}}; the stream then ends. */
  error: 'error',
} as const;
export type SseEventName = (typeof SseEvent)[keyof typeof SseEvent];

export const TOPIC_POSITION_PREFIX = 't:';
/** Upper bound of a topic id's entries: 2,000 offsets of at most 11 base-36 digits fit in 24 KB. */
export const MAX_TOPIC_POSITION_PARTITIONS = 2_000;
const BASE36 = /^[0-9a-z]{1,11}$/;
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

export function encodePartitionPosition(nextOffset: number): string {
  return String(nextOffset);
}

/** The next offset named by a partition stream id, or null when the id is not one. */
export function decodePartitionPosition(id: string): number | null {
  if (!DECIMAL.test(id)) return null;
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : null;
}

/** Encodes every partition's next offset (index = partition) as a topic stream id. */
export function encodeTopicPosition(nextOffsets: readonly number[]): string {
  let out = TOPIC_POSITION_PREFIX;
  for (let i = 0; i < nextOffsets.length; i++) {
    if (i > 0) out += '.';
    out += nextOffsets[i].toString(36);
  }
  return out;
}

/**
 * Decodes a topic stream id into next offsets by partition, or null when it is malformed (wrong
 * prefix, an empty or non-base-36 entry, an offset past 2^53, too many entries).
 */
export function decodeTopicPosition(id: string): number[] | null {
  if (!id.startsWith(TOPIC_POSITION_PREFIX)) return null;
  const body = id.slice(TOPIC_POSITION_PREFIX.length);
  if (body.length === 0) return null;
  const parts = body.split('.');
  if (parts.length > MAX_TOPIC_POSITION_PARTITIONS) return null;
  const out = new Array<number>(parts.length);
  for (let i = 0; i < parts.length; i++) {
    if (!BASE36.test(parts[i])) return null;
    const n = parseInt(parts[i], 36);
    if (!Number.isSafeInteger(n)) return null;
    out[i] = n;
  }
  return out;
}

export const GROUP_POSITION_PREFIX = 'g:';
const ENTRY = /^([a-zA-Z0-9._-]{1,249}):([0-9a-z]{1,6}):([0-9a-z]{1,11})$/;

export interface GroupPositionEntry {
  topic: string;
  partition: number;
  /** The next offset to deliver. */
  offset: number;
}

/** Encodes a group member stream id. */
export function encodeGroupPosition(entries: readonly GroupPositionEntry[]): string {
  let out = GROUP_POSITION_PREFIX;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (i > 0) out += ',';
    out += `${e.topic}:${e.partition.toString(36)}:${e.offset.toString(36)}`;
  }
  return out;
}

/** Decodes a group member stream id, or null when malformed. An empty list is valid ("g:"). */
export function decodeGroupPosition(id: string): GroupPositionEntry[] | null {
  if (!id.startsWith(GROUP_POSITION_PREFIX)) return null;
  const body = id.slice(GROUP_POSITION_PREFIX.length);
  if (body.length === 0) return [];
  const parts = body.split(',');
  if (parts.length > MAX_TOPIC_POSITION_PARTITIONS) return null;
  const out: GroupPositionEntry[] = [];
  for (const part of parts) {
    const m = ENTRY.exec(part);
    if (m === null) return null;
    const offset = parseInt(m[3], 36);
    if (!Number.isSafeInteger(offset)) return null;
    out.push({ topic: m[1], partition: parseInt(m[2], 36), offset });
  }
  return out;
}
