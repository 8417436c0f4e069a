/**
 * Fan-out without repeated work: when an append wakes a thousand streams at the same offset of a
 * partition, the first one reads, checks and decodes the batch and renders its records; the
 * others reuse both. A read is reused only while it would come out the same: same partition,
 * offset, limits and high watermark. Rendered records are kept per read and format, as one line
 * of JSON each (sse-stream.ts dataLine), which is also what WebSocket frames carry.
 *
 * Entries hang off the Partition and the read in WeakMaps, one read per partition, so memory is
 * bounded by the partitions and freed with them. Readers must not modify what they get.
 */
import type { Isolation, Partition, PartitionRead } from '../../partitions/partition.js';
import { renderRecord, type KeyFormat, type ReadValueFormat } from '../record-json.js';
import { dataLine } from './sse-stream.js';

interface LastRead {
  offset: number;
  highWatermark: number;
  maxBytes: number;
  maxRecords: number;
  isolation: Isolation | undefined;
  lastStableOffset: number;
  read: PartitionRead;
}

const lastReads = new WeakMap<Partition, LastRead>();
const rendered = new WeakMap<PartitionRead, Map<string, string[]>>();
const encoded = new WeakMap<PartitionRead, Map<string, Buffer>>();

export function readShared(p: Partition, offset: number, opts: { maxBytes: number; maxRecords: number; isolation?: Isolation }): PartitionRead {
  const highWatermark = p.log.highWatermark;
  const lastStableOffset = p.lastStableOffset;
  const last = lastReads.get(p);
  if (
    last !== undefined && last.offset === offset && last.highWatermark === highWatermark && last.lastStableOffset === lastStableOffset &&
    last.maxBytes === opts.maxBytes && last.maxRecords === opts.maxRecords && last.isolation === opts.isolation
  ) {
    return last.read;
  }
  const read = p.read(offset, opts);
  lastReads.set(p, { offset, highWatermark, lastStableOffset, maxBytes: opts.maxBytes, maxRecords: opts.maxRecords, isolation: opts.isolation, read });
  return read;
}

/** The records of a read as JSON (the fetch API's shape, `prefix` fields first), one line each. */
export function renderedRecords(read: PartitionRead, keyFormat: KeyFormat, valueFormat: ReadValueFormat, prefix = ''): string[] {
  let byFormat = rendered.get(read);
  if (byFormat === undefined) rendered.set(read, (byFormat = new Map()));
  const key = `${keyFormat} ${valueFormat} ${prefix}`;
  let out = byFormat.get(key);
  if (out === undefined) {
    out = read.records.map((r) => dataLine(renderRecord(r, keyFormat, valueFormat, prefix)));
    byFormat.set(key, out);
  }
  return out;
}

/**
 * Bytes built from a read, shared by every stream that would build the same text (same `key`):
 * streams at the same position send one Buffer instead of each encoding its own string.
 */
export function sharedBytes(read: PartitionRead, key: string, build: () => string): Buffer {
  let byKey = encoded.get(read);
  if (byKey === undefined) encoded.set(read, (byKey = new Map()));
  let out = byKey.get(key);
  if (out === undefined) {
    // a handful of variants per read at most (formats, id layouts); more means streams disagree
    if (byKey.size >= 8) byKey.clear();
    out = Buffer.from(build(), 'utf8');
    byKey.set(key, out);
  }
  return out;
}
