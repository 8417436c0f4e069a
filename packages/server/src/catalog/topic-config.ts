/**
 * Topic configuration keys Webka understands, with Kafka's names, defaults and ranges. A topic
 * stores only the keys set on it; the effective value falls back to its cluster's defaults, then
 * to the broker's defaults here, so changing a cluster default reaches every topic that did not
 * override it (as a Kafka broker default does).
 */
import { WebkaError } from '../errors.js';

export type ConfigValue = number | string;
export type ConfigMap = Record<string, ConfigValue>;

interface ConfigDef {
  type: 'long' | 'enum';
  default: ConfigValue;
  /** Bounds of a long, both inclusive: what Kafka allows, narrowed to what Webka's code can hold. */
  min?: number;
  max?: number;
  values?: readonly string[];
  doc: string;
}

const DAY = 86_400_000;
/** Times and byte counts that are only compared or added: any integer a double holds exactly. */
const LONG_MAX = Number.MAX_SAFE_INTEGER;
/** Kafka's Integer.MAX_VALUE, for the keys that Kafka keeps in an int. */
const INT_MAX = 2_147_483_647;
/**
 * Offset index positions are int32 (storage/segment-index.ts), and a segment takes a batch only
 * while it ends within segment.bytes: with segments of at most 1 GiB every position fits, as with
 * Kafka's own 1 GiB default. A larger segment would overflow the index and never roll.
 */
export const MAX_SEGMENT_BYTES = 1_073_741_824;

export const TOPIC_CONFIGS: Record<string, ConfigDef> = {
  'retention.ms': { type: 'long', default: 7 * DAY, min: -1, max: LONG_MAX, doc: 'Delete segments whose newest record is older than this; -1 keeps forever.' },
  'retention.bytes': { type: 'long', default: -1, min: -1, max: LONG_MAX, doc: 'Per partition: delete oldest segments while the log exceeds this; -1 for no limit.' },
  'segment.bytes': { type: 'long', default: MAX_SEGMENT_BYTES, min: 1024, max: MAX_SEGMENT_BYTES, doc: 'Roll to a new segment file at this size (at most 1 GiB: index positions are 32-bit).' },
  'segment.ms': { type: 'long', default: 7 * DAY, min: 1, max: LONG_MAX, doc: 'Roll to a new segment after this long even when not full.' },
  'cleanup.policy': { type: 'enum', default: 'delete', values: ['delete', 'compact', 'compact,delete', 'delete,compact'], doc: 'delete (retention), compact (keep the latest record per key), or both.' },
  'max.message.bytes': { type: 'long', default: 1_048_588, min: 64, max: MAX_SEGMENT_BYTES, doc: 'Largest record accepted, in bytes as stored (key, value, headers and framing); at most one segment\'s size.' },
  'compression.type': { type: 'enum', default: 'producer', values: ['producer', 'uncompressed', 'gzip'], doc: 'Compression of stored batches; producer keeps what the producer sent (HTTP records arrive uncompressed).' },
  'message.timestamp.type': { type: 'enum', default: 'CreateTime', values: ['CreateTime', 'LogAppendTime'], doc: 'CreateTime keeps the producer\'s timestamp; LogAppendTime stamps records with the broker\'s clock.' },
  'index.interval.bytes': { type: 'long', default: 4096, min: 0, max: INT_MAX, doc: 'Bytes of log between offset index entries.' },
  'delete.retention.ms': { type: 'long', default: DAY, min: 0, max: LONG_MAX, doc: 'How long a compacted topic keeps tombstones (null values).' },
  'min.compaction.lag.ms': { type: 'long', default: 0, min: 0, max: LONG_MAX, doc: 'Records younger than this are not compacted.' },
  'min.insync.replicas': { type: 'long', default: 1, min: 1, max: INT_MAX, doc: 'Replicas that must hold a record before acks=all answers; at most the topic\'s replication factor (a larger value is refused).' },
  'unclean.leader.election.enable': { type: 'enum', default: 'false', values: ['false', 'true'], doc: 'In a cluster, when no in-sync replica of a partition is alive: false keeps the partition offline until one is back; true lets a live replica outside the ISR lead, losing what it lacks (acknowledged records included) for availability.' },
};

/**
 * Validates and normalises a map of config changes. A null value means "remove the override"
 * and is kept as null for the caller. Numbers may be given as JSON numbers or numeric strings.
 */
export function normaliseConfigs(input: unknown, where: string): Record<string, ConfigValue | null> {
  if (input === undefined) return {};
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new WebkaError('INVALID_CONFIG', `${where} must be an object of config keys to values`);
  }
  const out: Record<string, ConfigValue | null> = {};
  for (const [key, raw] of Object.entries(input as Record<string, unknown>)) {
    const def = TOPIC_CONFIGS[key];
    if (def === undefined) {
      throw new WebkaError('INVALID_CONFIG', `unknown config "${key}" in ${where}; known keys: ${Object.keys(TOPIC_CONFIGS).join(', ')}`);
    }
    if (raw === null) {
      out[key] = null;
      continue;
    }
    if (def.type === 'long') {
      const n = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < def.min! || n > def.max!) {
        throw new WebkaError('INVALID_CONFIG', `config "${key}" must be an integer from ${def.min} to ${def.max}, got ${JSON.stringify(raw)}`);
      }
      out[key] = n;
    } else {
      if (typeof raw !== 'string' || !def.values!.includes(raw)) {
        throw new WebkaError('INVALID_CONFIG', `config "${key}" must be one of ${def.values!.join(', ')}, got ${JSON.stringify(raw)}`);
      }
      out[key] = raw;
    }
  }
  return out;
}

export interface EffectiveConfig {
  value: ConfigValue;
  source: 'topic' | 'cluster' | 'default';
}

/**
 * A stored value within its key's bounds: a catalog written before a bound existed (segment.bytes
 * of 2 GiB, say) takes effect as the nearest value the code can hold.
 */
function bounded(def: ConfigDef, v: ConfigValue): ConfigValue {
  return def.type === 'long' && typeof v === 'number' ? Math.min(Math.max(v, def.min!), def.max!) : v;
}

export function effectiveConfigs(topic: ConfigMap, cluster: ConfigMap): Record<string, EffectiveConfig> {
  const out: Record<string, EffectiveConfig> = {};
  for (const [key, def] of Object.entries(TOPIC_CONFIGS)) {
    if (key in topic) out[key] = { value: bounded(def, topic[key]), source: 'topic' };
    else if (key in cluster) out[key] = { value: bounded(def, cluster[key]), source: 'cluster' };
    else out[key] = { value: def.default, source: 'default' };
  }
  return out;
}

export function configValue(topic: ConfigMap, cluster: ConfigMap, key: string): ConfigValue {
  const def = TOPIC_CONFIGS[key];
  return bounded(def, topic[key] ?? cluster[key] ?? def.default);
}

export function applyConfigChanges(current: ConfigMap, changes: Record<string, ConfigValue | null>): ConfigMap {
  const next: ConfigMap = { ...current };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  return next;
}
