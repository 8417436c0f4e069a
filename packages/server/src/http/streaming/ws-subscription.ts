/**
 * A WebSocket subscription to one partition or a whole topic: a Follower whose deliveries become
 * `records` frames (one per read, one partition each) carrying the subscription id and the
 * position to resume from. Created by the session on a `subscribe` frame; closed on
 * `unsubscribe`, on failure (after an `error` frame naming it) and with the socket.
 */
import { encodePartitionPosition, encodeTopicPosition, type SubscribeTopicFrame } from '@webka/protocol';
import type { Broker } from '../../broker.js';
import type { Partition } from '../../partitions/partition.js';
import type { WebkaError } from '../../errors.js';
import { readFormat, type KeyFormat } from '../record-json.js';
import { renderedRecords } from './shared-reads.js';
import { Follower } from './follower.js';
import { partitionStart, topicStart } from './positions.js';

/** What a subscription needs from its socket. */
export interface SubscriptionOutlet {
  /** Sends a pushed frame; false when the socket's buffer is above its threshold. */
  push(text: string): boolean;
  /** Calls resume once the socket's buffer is back under its threshold. */
  whenWritable(resume: () => void): void;
  /** The subscription failed: tell the client and forget it. */
  failed(subscription: string, err: WebkaError): void;
}

export interface Subscription {
  readonly id: string;
  close(): void;
}

const READ_RECORDS = 1000;

/** canRead: the socket principal's read right, asked before every read (undefined: any topic). */
export function subscribeTopic(broker: Broker, id: string, frame: SubscribeTopicFrame, outlet: SubscriptionOutlet, readBytes: number, canRead?: (topic: string) => boolean): Subscription {
  const { cluster, topic } = frame;
  const keyFormat = (frame.keyFormat ?? 'text') as KeyFormat;
  const valueFormat = readFormat(frame.valueFormat);
  const start = { offset: frame.offset, timestamp: frame.timestamp };
  let partitions: readonly Partition[];
  let positions: number[];
  const single = frame.partition !== undefined;
  if (single) {
    const p = broker.partition(cluster, topic, frame.partition!);
    positions = [partitionStart(broker, p, start)];
    partitions = [p];
  } else {
    partitions = broker.topicPartitions(cluster, topic);
    positions = topicStart(broker, partitions, start);
  }
  const head = `{"type":"records","subscription":${JSON.stringify(id)},"topic":${JSON.stringify(topic)},"partition":`;
  const follower = new Follower(
    partitions,
    positions,
    {
      deliver(p, read, pos) {
        const position = single ? encodePartitionPosition(pos[0]) : encodeTopicPosition(pos);
        const records = renderedRecords(read, keyFormat, valueFormat);
        const ok = outlet.push(`${head}${p.index},"position":"${position}","records":[${records.join(',')}]}`);
        if (!ok) outlet.whenWritable(() => follower.resume());
        return ok;
      },
      fail: (err) => outlet.failed(id, err),
    },
    { maxBytes: readBytes, maxRecords: READ_RECORDS, isolation: frame.isolation, mayRead: canRead === undefined ? undefined : () => canRead(topic) },
  );
  let unwatch = (): void => undefined;
  if (!single) {
    // a topic that gains partitions is announced as a change of its cluster's topics
    unwatch = broker.onTopicsChanged((changed) => {
      if (changed === cluster) follower.addPartitions();
    });
  }
  follower.start();
  return {
    id,
    close() {
      unwatch();
      follower.close();
    },
  };
}
