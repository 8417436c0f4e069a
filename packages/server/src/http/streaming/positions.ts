/**
 * Where a stream starts. A resume position (Last-Event-ID, or a position passed back by a
 * WebSocket client) wins over the request's offset or timestamp, because it says exactly what the
 * client has already received. Every position is checked against the log before the stream
 * starts, so a client that fell behind retention hears 416 OFFSET_OUT_OF_RANGE, not a gap.
 */
import { decodePartitionPosition, decodeTopicPosition, TOPIC_POSITION_PREFIX } from '@webka/protocol';
import type { Broker } from '../../broker.js';
import type { Partition } from '../../partitions/partition.js';
import { WebkaError } from '../../errors.js';

export interface StartRequest {
  /** An offset, 'earliest' (the default), 'latest', or for a topic a "t:..." position. */
  offset?: number | string;
  timestamp?: number;
  /** A resume position from Last-Event-ID or a previous frame; beats offset and timestamp. */
  resume?: string;
}

/** Valid from the log start to the log end: an offset a producer was given is a valid start even before it is durable (the stream waits for it). */
export function checkRange(p: Partition, offset: number): number {
  const { logStartOffset, nextOffset: highWatermark } = p.log;
  if (offset < logStartOffset || offset > highWatermark) {
    throw new WebkaError('OFFSET_OUT_OF_RANGE', `offset ${offset} of partition ${p.index} is outside the log: valid offsets are ${logStartOffset} to ${highWatermark}`, {
      partition: p.index,
      logStartOffset,
      highWatermark,
    });
  }
  return offset;
}

function parseOffset(raw: number | string | undefined): number | 'earliest' | 'latest' | undefined {
  if (raw === undefined || typeof raw === 'number' || raw === 'earliest' || raw === 'latest') return raw;
  const n = decodePartitionPosition(raw);
  if (n === null) throw new WebkaError('INVALID_OFFSET', `offset ${JSON.stringify(raw)} is not an offset, earliest or latest`);
  return n;
}

/** The first offset of a one-partition stream. */
export function partitionStart(broker: Broker, p: Partition, req: StartRequest): number {
  if (req.resume !== undefined) {
    const n = decodePartitionPosition(req.resume);
    if (n === null) throw new WebkaError('INVALID_OFFSET', `Last-Event-ID ${JSON.stringify(req.resume.slice(0, 40))} is not a position of a partition stream (its next offset, in decimal)`);
    return checkRange(p, n);
  }
  if (req.offset !== undefined && req.timestamp !== undefined) throw new WebkaError('INVALID_REQUEST', 'give offset or timestamp, not both');
  return checkRange(p, broker.resolveOffset(p, { offset: parseOffset(req.offset), timestamp: req.timestamp }));
}

/** The first offset of every partition of a topic stream. */
export function topicStart(broker: Broker, partitions: readonly Partition[], req: StartRequest): number[] {
  const position = req.resume ?? (typeof req.offset === 'string' && req.offset.startsWith(TOPIC_POSITION_PREFIX) ? req.offset : undefined);
  if (position !== undefined) {
    const offsets = decodeTopicPosition(position);
    if (offsets === null) throw new WebkaError('INVALID_OFFSET', `${JSON.stringify(position.slice(0, 40))} is not a topic stream position ("t:" and each partition's next offset in base 36, joined by ".")`);
    if (offsets.length > partitions.length) throw new WebkaError('INVALID_OFFSET', `the position names ${offsets.length} partitions but the topic has ${partitions.length}`);
    // Partitions added after the position was taken are read from their start.
    return partitions.map((p, i) => checkRange(p, i < offsets.length ? offsets[i] : p.log.logStartOffset));
  }
  if (req.offset !== undefined && req.timestamp !== undefined) throw new WebkaError('INVALID_REQUEST', 'give offset or timestamp, not both');
  if (typeof req.offset === 'number' || (req.offset !== undefined && req.offset !== 'earliest' && req.offset !== 'latest')) {
    throw new WebkaError('INVALID_OFFSET', 'a topic stream starts at earliest, latest, a timestamp, or a topic position "t:..." (an offset belongs to one partition)');
  }
  const offset = req.offset as 'earliest' | 'latest' | undefined;
  return partitions.map((p) => checkRange(p, broker.resolveOffset(p, { offset, timestamp: req.timestamp })));
}
