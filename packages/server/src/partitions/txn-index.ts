/**
 * A partition's transactions, as Kafka's ProducerStateManager and aborted-transaction index keep
 * them: the open transactions (producer id -> first offset), the ones whose marker is written but
 * not yet below the high watermark, and the aborted ones (producer id, first offset, marker
 * offset) that read_committed readers skip.
 *
 *   offsets:  ... [p7 t] [p9 t] [p7 t] [ABORT p7] [p9 t] [COMMIT p9] ...
 *                  ^ first of p7      ^ lastOffset of p7's aborted entry
 *
 * The last stable offset (LSO) is the smallest first offset of a transaction that is not yet
 * decided for a reader (open, or its marker not yet below the high watermark), capped at the
 * high watermark: read_committed readers stop there. A marker is only "decided" once durable, so
 * a crash that takes the marker back leaves the transaction open, and the coordinator writes it
 * again when it recovers.
 *
 * Memory only: rebuilt at open from batch headers (replay), or restored from the producer-state
 * snapshot of a clean stop (docs/storage-format.md). All calls run on the event loop.
 */
import { PRODUCER_ID, ATTRIBUTES, readInt64, baseOffsetAt, lastOffsetAt } from '../storage/batch-fields.js';
import { markerTypeAt, type MarkerType } from '../storage/control-record.js';

const TRANSACTIONAL_BIT = 0x10;
const CONTROL_BIT = 0x20;

export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  /** The offset of the abort marker. */
  lastOffset: number;
}

export interface TxnSnapshot {
  ongoing: Array<[number, number]>;
  aborted: AbortedTxn[];
}

export class TxnIndex {
  #ongoing = new Map<number, number>();
  /** Ended transactions whose marker is not yet known to be below the high watermark. */
  #completing: Array<{ producerId: number; firstOffset: number; markerOffset: number }> = [];
  /** Ordered by lastOffset (markers are appended in offset order). */
  #aborted: AbortedTxn[] = [];

  /** A transactional data batch at baseOffset: opens the producer's transaction here if none is. */
  onData(producerId: number, baseOffset: number): void {
    if (!this.#ongoing.has(producerId)) this.#ongoing.set(producerId, baseOffset);
  }

  hasOngoing(producerId: number): boolean {
    return this.#ongoing.has(producerId);
  }

  /** The first offset of the producer's open transaction here, or -1 when none is open. */
  firstOffset(producerId: number): number {
    return this.#ongoing.get(producerId) ?? -1;
  }

  /** A marker at markerOffset ends the producer's open transaction (no-op when none is open). */
  onMarker(producerId: number, markerOffset: number, type: MarkerType): void {
    const firstOffset = this.#ongoing.get(producerId);
    if (firstOffset === undefined) return;
    this.#ongoing.delete(producerId);
    this.#completing.push({ producerId, firstOffset, markerOffset });
    if (type === 'abort') this.#aborted.push({ producerId, firstOffset, lastOffset: markerOffset });
  }

  /** Replays the batch at pos (log recovery): data opens, markers end. */
  replay(buf: Buffer, pos: number): void {
    const attributes = buf.readInt16BE(pos + ATTRIBUTES);
    if ((attributes & TRANSACTIONAL_BIT) === 0) return;
    const producerId = readInt64(buf, pos + PRODUCER_ID);
    if ((attributes & CONTROL_BIT) === 0) {
      this.onData(producerId, baseOffsetAt(buf, pos));
      return;
    }
    const type = markerTypeAt(buf, pos);
    if (type !== null) this.onMarker(producerId, lastOffsetAt(buf, pos), type);
  }

  /** The last stable offset for a high watermark (see the file comment). */
  lastStableOffset(highWatermark: number): number {
    if (this.#completing.length > 0) this.#completing = this.#completing.filter((c) => c.markerOffset >= highWatermark);
    let lso = highWatermark;
    for (const first of this.#ongoing.values()) if (first < lso) lso = first;
    for (const c of this.#completing) if (c.firstOffset < lso) lso = c.firstOffset;
    return lso;
  }

  /** The aborted transactions with records in [from, to): those a read of that range must skip. */
  abortedIn(from: number, to: number): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    // ordered by lastOffset: skip those ended before `from` by binary search
    let lo = 0;
    let hi = this.#aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#aborted[mid].lastOffset < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#aborted.length; i++) if (this.#aborted[i].firstOffset < to) out.push(this.#aborted[i]);
    return out;
  }

  /** Open transactions: producer id and first offset. */
  ongoing(): Array<[number, number]> {
    return [...this.#ongoing.entries()];
  }

  /** Forgets aborted transactions that retention removed entirely. */
  dropBefore(logStartOffset: number): void {
    const i = this.#aborted.findIndex((a) => a.lastOffset >= logStartOffset);
    this.#aborted = i < 0 ? [] : this.#aborted.slice(i);
  }

  snapshot(): TxnSnapshot {
    return { ongoing: this.ongoing(), aborted: [...this.#aborted] };
  }

  restore(s: TxnSnapshot): void {
    this.#ongoing = new Map(s.ongoing);
    this.#aborted = [...s.aborted];
    this.#completing = [];
  }
}

/** True when the batch at `aborted`'s producer with baseOffset lies inside one of `aborted`. */
export function isAborted(aborted: readonly AbortedTxn[], producerId: number, baseOffset: number): boolean {
  for (const a of aborted) if (a.producerId === producerId && a.firstOffset <= baseOffset && baseOffset < a.lastOffset) return true;
  return false;
}
