/**
 * The embedded consumer protocol of Kafka's classic groups (protocol type "consumer"): the
 * subscription a member sends in JoinGroup and the assignment its leader hands out in SyncGroup,
 * opaque to the broker except when an operator asks what a member reads. Every version starts
 * with the fields read here (integers big-endian, a string as an int16 length and UTF-8 bytes,
 * an array as an int32 count):
 *
 *   ConsumerProtocolSubscription: version int16 | topics [string] | ...
 *   ConsumerProtocolAssignment:   version int16 | assigned_partitions [topic string, partitions [int32]] | ...
 *
 * Bytes that do not parse (another protocol type, or a client's own format) read as nothing.
 */
import type { TopicPartition } from '@webka/protocol';

class Reader {
  #buf: Buffer;
  #pos = 0;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  int16(): number {
    if (this.#pos + 2 > this.#buf.length) throw new RangeError('short');
    const v = this.#buf.readInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }

  int32(): number {
    if (this.#pos + 4 > this.#buf.length) throw new RangeError('short');
    const v = this.#buf.readInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }

  /** An array count, refused when the bytes left cannot hold that many items of minSize bytes. */
  count(minSize: number): number {
    const n = this.int32();
    if (n < 0 || n * minSize > this.#buf.length - this.#pos) throw new RangeError('count');
    return n;
  }

  string(): string {
    const n = this.int16();
    if (n < 0 || this.#pos + n > this.#buf.length) throw new RangeError('string');
    const s = this.#buf.toString('utf8', this.#pos, this.#pos + n);
    this.#pos += n;
    return s;
  }
}

/** The topics a member subscribes to, from its JoinGroup metadata; [] when it does not parse. */
export function subscribedTopics(metadata: Buffer): string[] {
  try {
    const r = new Reader(metadata);
    r.int16();
    return Array.from({ length: r.count(2) }, () => r.string());
  } catch {
    return [];
  }
}

/** The partitions a member was assigned, from its SyncGroup assignment; [] when it does not parse. */
export function assignedPartitions(assignment: Buffer): TopicPartition[] {
  try {
    const r = new Reader(assignment);
    r.int16();
    const out: TopicPartition[] = [];
    const topics = r.count(6);
    for (let i = 0; i < topics; i++) {
      const topic = r.string();
      const partitions = r.count(4);
      for (let j = 0; j < partitions; j++) out.push({ topic, partition: r.int32() });
    }
    return out;
  } catch {
    return [];
  }
}
