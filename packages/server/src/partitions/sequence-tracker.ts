/**
 * Orders an idempotent producer's requests to one topic. Each request carries a sequence (0, 1,
 * 2, ... per producer id, epoch and topic); its share of each partition is stored as one batch
 * with that baseSequence. The tracker keeps, per (topic, producer), the epoch and the highest
 * sequence written, derived lazily from the partitions' producer tables, so it needs no storage
 * of its own and is right again after a restart.
 *
 *   sequence == last + 1          a new request: write every share
 *   last - 4 <= sequence <= last  a retry: shares already written answer with their offsets; the
 *                                 latest request may be completed where a crash cut it short
 *   anything else                 OUT_OF_ORDER_SEQUENCE (a gap, or a retry too old to answer)
 */
import { WebkaError } from '../errors.js';
import { CACHED_BATCHES } from './producer-state.js';
import type { Partition } from './partition.js';

interface TopicProducer {
  epoch: number;
  lastSequence: number;
  inFlight: Set<number>;
  /** New requests that ended having written nothing, while a later one was still in flight. */
  givenBack: Set<number>;
}

export type SequenceVerdict = 'new' | 'retry';

export class SequenceTracker {
  #state = new Map<string, TopicProducer>();

  #get(topicId: string, producerId: number, epoch: number, partitions: readonly Partition[]): TopicProducer {
    const key = `${topicId}:${producerId}`;
    let s = this.#state.get(key);
    if (s === undefined) {
      s = { epoch: -1, lastSequence: -1, inFlight: new Set(), givenBack: new Set() };
      for (const p of partitions) {
        const e = p.producers.get(producerId);
        if (e === undefined) continue;
        if (e.epoch > s.epoch) {
          s.epoch = e.epoch;
          s.lastSequence = e.lastSequence;
        } else if (e.epoch === s.epoch && e.lastSequence > s.lastSequence) s.lastSequence = e.lastSequence;
      }
      this.#state.set(key, s);
    }
    if (epoch > s.epoch) {
      if (s.inFlight.size > 0) throw new WebkaError('CONCURRENT_REQUEST', `requests of an older epoch of producer ${producerId} are still in flight`);
      s.epoch = epoch;
      s.lastSequence = -1;
      s.givenBack.clear();
    }
    return s;
  }

  /**
   * Checks a request and reserves its sequence; call release() when it is answered. A new
   * request moves lastSequence at once, so that a pipelined next request is accepted in order.
   * With gapsAllowed (a cluster leader of some of the topic's partitions only), any sequence
   * above the last is new: the ones between went to partitions other brokers lead.
   */
  begin(topicId: string, producerId: number, epoch: number, sequence: number, partitions: readonly Partition[], gapsAllowed = false): SequenceVerdict {
    const s = this.#get(topicId, producerId, epoch, partitions);
    if (epoch < s.epoch) {
      throw new WebkaError('PRODUCER_FENCED', `producer ${producerId} epoch ${epoch} is fenced by epoch ${s.epoch}`, { producerEpoch: s.epoch });
    }
    if (s.inFlight.has(sequence)) {
      throw new WebkaError('CONCURRENT_REQUEST', `sequence ${sequence} of producer ${producerId} is still being written; retry when it answers`);
    }
    if (!Number.isInteger(sequence) || sequence < 0 || sequence > 0x7fffffff) {
      throw new WebkaError('INVALID_REQUEST', `sequence must be an integer from 0 to 2147483647, got ${sequence}`);
    }
    let verdict: SequenceVerdict;
    if (sequence === s.lastSequence + 1 || (gapsAllowed && sequence > s.lastSequence)) {
      verdict = 'new';
      s.lastSequence = sequence;
    } else if (sequence <= s.lastSequence && sequence > s.lastSequence - CACHED_BATCHES) {
      verdict = 'retry';
    } else {
      throw new WebkaError(
        'OUT_OF_ORDER_SEQUENCE',
        sequence > s.lastSequence
          ? `sequence ${sequence} of producer ${producerId} skips ahead: the next expected is ${s.lastSequence + 1}`
          : `sequence ${sequence} of producer ${producerId} is older than the last ${CACHED_BATCHES} requests (last ${s.lastSequence}) and cannot be answered`,
        { expectedSequence: s.lastSequence + 1 },
      );
    }
    s.inFlight.add(sequence);
    return verdict;
  }

  /**
   * Ends a request. A new request that wrote nothing (refused whole) gives its sequence back, and
   * lastSequence falls back past every given-back sequence at its top, in whatever order the
   * requests end: pipelined 5 and 6 failing in one write leave it at 4, not at 5 with 5 missing.
   */
  release(topicId: string, producerId: number, sequence: number, wroteNothing: boolean): void {
    const s = this.#state.get(`${topicId}:${producerId}`);
    if (s === undefined) return;
    s.inFlight.delete(sequence);
    if (wroteNothing) s.givenBack.add(sequence);
    while (s.givenBack.has(s.lastSequence) && !s.inFlight.has(s.lastSequence)) {
      s.givenBack.delete(s.lastSequence);
      s.lastSequence--;
    }
    // one given back below a sequence that was written stays a gap (its retry is refused as out of
    // order); forget it once it is too old to matter, so the set stays small
    for (const q of s.givenBack) if (q <= s.lastSequence - CACHED_BATCHES) s.givenBack.delete(q);
  }

  /** Forgets one producer of a topic (its state expired), unless a request of it is in flight. */
  forgetProducer(topicId: string, producerId: number): boolean {
    const key = `${topicId}:${producerId}`;
    const s = this.#state.get(key);
    if (s !== undefined && s.inFlight.size > 0) return false;
    this.#state.delete(key);
    return true;
  }

  /** Forgets a topic's producers (with idleOnly, those with no request in flight). */
  forgetTopic(topicId: string, idleOnly = false): void {
    for (const [key, s] of this.#state) if (key.startsWith(`${topicId}:`) && !(idleOnly && s.inFlight.size > 0)) this.#state.delete(key);
  }
}
