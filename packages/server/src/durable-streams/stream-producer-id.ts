/**
 * The numeric producer id of a Durable Streams Producer-Id, derived from the name alone, so that
 * nothing is stored for it: not when a request is refused (a gap, a fenced epoch, a closed stream)
 * and not when it is accepted either (the batches it writes carry the id, and the partition's
 * producer table is rebuilt from them). Earlier versions allocated ids in the catalog, one
 * whole-catalog write with an fsync per new name; those ids are still honoured.
 *
 * Ids are 2^52 plus 52 bits of the name's SHA-256, a range that the catalog's counter (from 1000,
 * one per producer) never reaches, within the integers a double holds exactly (batch headers are
 * read as doubles). Two names of one stream share an id with probability about n^2 / 2^53.
 */
import { createHash } from 'node:crypto';
import type { Catalog } from '../catalog/catalog.js';
import type { RequestPrincipal } from '../auth/types.js';
import type { Broker } from '../broker.js';
import type { Partition } from '../partitions/partition.js';
import { DERIVED_PRODUCER_IDS as DERIVED_BASE, lastWrite, type ProducerEntry } from '../partitions/producer-state.js';
import type { ProducerHeaders } from './producer-headers.js';
import { StreamError } from './stream-error.js';

export function streamProducerId(catalog: Catalog, name: string): number {
  const allocated = catalog.allocatedClientProducerId(name);
  if (allocated !== undefined) return allocated;
  const digest = createHash('sha256').update(name, 'utf8').digest();
  // 52 bits: 4 bytes, then the low 20 bits of the next 3
  return DERIVED_BASE + digest.readUInt32BE(0) * 2 ** 20 + (digest.readUIntBE(4, 3) & 0xfffff);
}

/**
 * A Producer-Id belongs to the principal that sends it (docs/security.md, "Ownership"): with
 * authentication on, the name is taken within the principal's own namespace, so another
 * principal sending the same Producer-Id is another producer (it can neither fence the first
 * nor have its appends taken for the first's duplicates). With authentication off every caller
 * is the same, and names are used as they are (as by earlier versions).
 */
export function ownProducer(p: ProducerHeaders | undefined, principal: Pick<RequestPrincipal, 'name' | 'via'> | null): ProducerHeaders | undefined {
  if (p === undefined || principal === null || principal.via === 'anonymous') return p;
  return { ...p, id: `${principal.name}\u0000${p.id}` };
}

/** How much producer state one stream keeps (config streamMaxProducers, streamProducerExpiryMs). */
export interface ProducerBounds {
  max: number;
  expiryMs: number;
}

/**
 * Forgets a producer idle for expiryMs (its last append is older), as Kafka expires producer ids:
 * its next append starts again at Producer-Seq 0. Only ids derived from names expire (ids that
 * earlier versions allocated are few and kept). False when it is kept.
 */
function expire(broker: Broker, p: Partition, producerId: number, entry: ProducerEntry, before: number): boolean {
  if (producerId < DERIVED_BASE || lastWrite(entry) >= before) return false;
  if (!broker.forgetProducer(p.topicId, producerId)) return false;
  p.producers.delete(producerId);
  return true;
}

/**
 * The state of a stream's producer for checkProducer (undefined: never seen, or forgotten after
 * being idle). A producer new to the stream is admitted only while the stream keeps fewer than
 * `max` producers (idle ones are forgotten first); past it the request is refused with 429
 * before anything is stored.
 */
export function producerState(broker: Broker, p: Partition, producerId: number, bounds: ProducerBounds, now = Date.now()): ProducerEntry | undefined {
  const before = now - bounds.expiryMs;
  const entry = p.producers.get(producerId);
  if (entry !== undefined && !expire(broker, p, producerId, entry, before)) return entry;
  if (p.producers.size >= bounds.max) {
    for (const [id, e] of [...p.producers.entries()]) expire(broker, p, id, e, before);
  }
  if (p.producers.size >= bounds.max) {
    throw new StreamError(
      429,
      `this stream keeps the state of at most ${bounds.max} producers (streamMaxProducers) and holds that many; a new Producer-Id is admitted once one has appended nothing for streamProducerExpiryMs (${bounds.expiryMs} ms)`,
    );
  }
  return undefined;
}
