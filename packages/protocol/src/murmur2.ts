/**
 * Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`) and the default partitioner's
 * key-to-partition rule. Webka must place a keyed record on the same partition a Kafka producer
 * would, so that keys keep their partition when clients move between Webka and Kafka.
 *
 * It is MurmurHash2 (32-bit) with seed 0x9747b28c, reading 4-byte little-endian words and
 * folding the 1-3 trailing bytes in at the end. Java returns a signed int; so does this.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** Kafka's 32-bit murmur2 of `data`, as a signed int (what Java's `Utils.murmur2` returns). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const end4 = length & ~3;
  for (let i = 0; i < end4; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // Trailing bytes, highest first, as Java's fall-through switch does.
  switch (length & 3) {
    case 3:
      h ^= data[end4 + 2] << 16;
    // falls through
    case 2:
      h ^= data[end4 + 1] << 8;
    // falls through
    case 1:
      h ^= data[end4];
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Partition of a keyed record among `numPartitions`: Kafka's `toPositive(murmur2(key)) % n`. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return (murmur2(key) & 0x7fffffff) % numPartitions;
}
