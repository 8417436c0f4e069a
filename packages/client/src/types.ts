/** The shapes the SDK takes and gives. Field names follow the HTTP API (docs/http-api.md). */

export type Headers = Record<string, string | null>;

/** A record to produce. `value` is any JSON value (valueFormat json), a string (text), or bytes. */
export interface ProducerRecord {
  key?: string | null;
  value: unknown;
  headers?: Headers;
  /** Pins the partition; otherwise by key (murmur2, as Kafka), else sticky. */
  partition?: number;
  /** Milliseconds since the epoch; the broker's clock when absent. */
  timestamp?: number;
}

/** Where a produced record was written. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
}

/** A record as fetched: the broker's JSON shape, with topic and partition always filled in. */
export interface ConsumerRecord<V = unknown> {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: V;
  headers: Headers;
  /** "base64" when the value is bytes (produced as binary, or not showable in the asked format; docs/values.md). */
  keyEncoding?: 'base64';
  valueEncoding?: 'base64';
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
}

/**
 * How values are written (producers: default json) or shown (readers: by default each value as
 * it was produced, so text stays text; give a format to see every value in it). docs/values.md.
 */
export type ValueFormat = 'json' | 'text' | 'binary';

/** What a reader sees of transactions: everything written (default), or only committed transactions' records. */
export type Isolation = 'read_uncommitted' | 'read_committed';
