/**
 * Follows one or more partitions from given positions and hands what it reads to a sink: the
 * engine under every SSE stream and WebSocket subscription.
 *
 * Wake, don't poll (DESIGN decision 3): the follower subscribes to each partition's appends and
 * reads only when a partition holds data past its position. Backpressure: the sink answers each
 * delivery with whether it can take more; on false the follower stops reading until resume(), so
 * a slow client costs at most one read (maxBytes) plus its socket buffer, never the whole backlog.
 *
 * Lifecycle: created by a stream, start() subscribes and schedules the first read, close()
 * unsubscribes (idempotent). Reads run in setImmediate callbacks, one read per turn, so that one
 * busy stream does not starve the others or the producers that wake it. Single-threaded: every
 * method runs on the event loop.
 *
 *   start -> [reading] --deliver()=false--> [paused] --resume()--> [reading]
 *               |  ^                                      |
 *   caught up   v  | append (Partition.subscribe)         |
 *            [waiting]                       close() from any state -> [closed]
 */
import type { Isolation, Partition, PartitionRead } from '../../partitions/partition.js';
import { WebkaError } from '../../errors.js';
import { toWebkaError } from '../error-handler.js';
import { readShared } from './shared-reads.js';
import { runSoon } from '../../partitions/run-soon.js';

export interface FollowSink {
  /**
   * One partition's read (records non-empty); `positions` already holds the position after it.
   * Returns false when the client's buffer is full: the follower pauses until resume().
   */
  deliver(partition: Partition, read: PartitionRead, positions: readonly number[]): boolean;
  /** The follower stopped for good (offset out of range, partition offline, topic deleted). */
  fail(err: WebkaError): void;
}

export interface FollowOptions {
  maxBytes: number;
  maxRecords: number;
  /** read_committed follows the last stable offset, skipping aborted transactions. */
  isolation?: Isolation;
  /**
   * Whether the follower's principal may still read the topic, asked before every read: a read
   * right revoked while the stream is open ends it (FORBIDDEN) before anything more is delivered.
   * Absent: no check (authentication off, or a superuser).
   */
  mayRead?: () => boolean;
}

export class Follower {
  #partitions: readonly Partition[];
  #positions: number[];
  #sink: FollowSink;
  #opts: FollowOptions;
  #unsubscribes: Array<() => void> = [];
  #next = 0;
  #paused = false;
  #scheduled = false;
  #closed = false;
  #wake = (): void => this.#schedule();
  #pump = (): void => this.#read();

  /**
   * `partitions` may be a topic's live list (it only grows; see addPartitions); positions[i] is
   * the next offset to read from partitions[i].
   */
  constructor(partitions: readonly Partition[], positions: number[], sink: FollowSink, opts: FollowOptions) {
    this.#partitions = partitions;
    this.#positions = positions;
    this.#sink = sink;
    this.#opts = opts;
  }

  start(): void {
    for (let i = 0; i < this.#partitions.length; i++) this.#unsubscribes.push(this.#partitions[i].subscribe(this.#wake));
    this.#schedule();
  }

  /** Next offsets by partition (as delivered so far). */
  get positions(): readonly number[] {
    return this.#positions;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Follows partitions appended to the list since start, from their log start. */
  addPartitions(): void {
    if (this.#closed) return;
    for (let i = this.#unsubscribes.length; i < this.#partitions.length; i++) {
      const p = this.#partitions[i];
      if (this.#positions.length <= i) this.#positions.push(p.log.logStartOffset);
      this.#unsubscribes.push(p.subscribe(this.#wake));
    }
    this.#schedule();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#schedule();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unsubscribes) u();
    this.#unsubscribes.length = 0;
  }

  #schedule(): void {
    if (this.#scheduled || this.#paused || this.#closed) return;
    this.#scheduled = true;
    runSoon(this.#pump);
  }

  #fail(err: WebkaError): void {
    this.close();
    this.#sink.fail(err);
  }

  /** One read from the next partition (round robin) that has data; reschedules while any has. */
  #read(): void {
    this.#scheduled = false;
    if (this.#paused || this.#closed) return;
    const n = this.#unsubscribes.length;
    for (let tried = 0; tried < n; tried++) {
      const i = this.#next;
      this.#next = (i + 1) % n;
      const p = this.#partitions[i];
      if (p.closed) {
        this.#fail(new WebkaError('TOPIC_NOT_FOUND', `partition ${p.index} is gone: its topic was deleted (or the broker is stopping)`));
        return;
      }
      const position = this.#positions[i];
      if (position >= p.readableEnd(this.#opts.isolation)) continue;
      if (this.#opts.mayRead !== undefined && !this.#opts.mayRead()) {
        this.#fail(new WebkaError('FORBIDDEN', 'the read right on this topic was revoked while it was followed: the stream ends'));
        return;
      }
      let read: PartitionRead;
      try {
        read = readShared(p, position, this.#opts);
      } catch (e) {
        this.#fail(toWebkaError(e));
        return;
      }
      if (read.nextOffset <= position) continue;
      this.#positions[i] = read.nextOffset;
      // A batch can hold only records below `position` (a resume inside it): skip, never resend.
      if (read.records.length === 0) {
        this.#schedule();
        return;
      }
      const more = this.#sink.deliver(p, read, this.#positions);
      if (this.#closed) return;
      if (!more) this.#paused = true;
      else this.#schedule();
      return;
    }
  }
}
