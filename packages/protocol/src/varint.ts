/**
 * Zigzag varints, as Kafka's `ByteUtils.writeVarint` / `writeVarlong` encode them inside a
 * RecordBatch v2 record (lengths, timestamp and offset deltas, key/value/header sizes).
 *
 * Encoding, byte by byte:
 *   1. zigzag: map signed to unsigned so small magnitudes stay small,
 *        0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, ..., i.e. (n << 1) ^ (n >> 31) (>> 63 for varlong);
 *   2. emit the unsigned value 7 bits at a time, least significant group first; every byte but
 *      the last has its high bit (0x80) set.
 * A varint (int32) takes 1-5 bytes, a varlong (int64) 1-10. Examples: 0 -> 00, -1 -> 01,
 * 1 -> 02, 63 -> 7e, -64 -> 7f, 64 -> 80 01, 2147483647 -> fe ff ff ff 0f.
 *
 * Webka's varlongs carry JS numbers, so they are exact for |n| < 2^53 (timestamps, offsets,
 * producer ids always are). Larger varlongs still decode to the nearest double.
 *
 * Readers take a `Cursor` and advance `cursor.pos` rather than returning a tuple: the decoder
 * reads several varints per record, a million records a second, and an object per read would
 * be that many allocations.
 */

/** A read position that the readers advance. Create one per decode and reuse it. */
export interface Cursor {
  pos: number;
}

const TWO_32 = 4294967296;

/** Write `value` (an int32) as a zigzag varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, value: number, pos: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Write `value` (an integer with |value| < 2^53) as a zigzag varlong at `pos`; returns the new position. */
export function writeVarlong(buf: Uint8Array, value: number, pos: number): number {
  // Within int32 the 64-bit zigzag equals the 32-bit one, and that path needs no doubles.
  if ((value | 0) === value) return writeVarint(buf, value, pos);
  // Split into two's-complement halves and zigzag across them: (x << 1) ^ (x >> 63).
  const high = Math.floor(value / TWO_32);
  const hi = high | 0;
  const lo = (value - high * TWO_32) >>> 0;
  const sign = hi >> 31;
  let zlo = ((lo << 1) ^ sign) >>> 0;
  let zhi = (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0;
  while (zhi !== 0 || zlo >= 0x80) {
    buf[pos++] = (zlo & 0x7f) | 0x80;
    zlo = ((zlo >>> 7) | (zhi << 25)) >>> 0;
    zhi >>>= 7;
  }
  buf[pos++] = zlo;
  return pos;
}

/** Bytes that `writeVarint(value)` takes: 1-5. */
export function sizeOfVarint(value: number): number {
  const v = ((value << 1) ^ (value >> 31)) >>> 0;
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

/** Bytes that `writeVarlong(value)` takes: 1-10 (at most 8 for |value| < 2^53). */
export function sizeOfVarlong(value: number): number {
  if ((value | 0) === value) return sizeOfVarint(value);
  // Outside int32 the zigzag value is >= 2^32, so at least 5 bytes; the thresholds are powers
  // of two, which the double below (exact up to 2^53) cannot round across.
  const z = value >= 0 ? value * 2 : -value * 2 - 1;
  if (z < 34359738368) return 5; // 2^35
  if (z < 4398046511104) return 6; // 2^42
  if (z < 562949953421312) return 7; // 2^49
  if (z < 72057594037927936) return 8; // 2^56
  if (z < 9223372036854775808) return 9; // 2^63
  return 10;
}

/** Read a zigzag varint at `cursor.pos`, advancing it. Throws on more than 5 bytes or past the end. */
export function readVarint(buf: Uint8Array, cursor: Cursor): number {
  let p = cursor.pos;
  let b = buf[p++];
  let v = b & 0x7f;
  let shift = 7;
  while (b & 0x80) {
    if (shift > 28) throw new RangeError(`varint at ${cursor.pos} is longer than 5 bytes`);
    b = buf[p++];
    v |= (b & 0x7f) << shift;
    shift += 7;
  }
  // A read past the end yields undefined, which ends the loop above; catch it once here.
  if (p > buf.length) throw new RangeError(`varint at ${cursor.pos} runs past the end of the buffer`);
  cursor.pos = p;
  return (v >>> 1) ^ -(v & 1);
}

/** Read a zigzag varlong at `cursor.pos`, advancing it. Exact while |value| < 2^53. */
export function readVarlong(buf: Uint8Array, cursor: Cursor): number {
  let p = cursor.pos;
  let b = buf[p++];
  if (b < 0x80) {
    cursor.pos = p;
    return (b >>> 1) ^ -(b & 1);
  }
  // Gather the 64-bit zigzag value as two 32-bit halves: doubles would round odd values > 2^53.
  let lo = b & 0x7f;
  let hi = 0;
  let shift = 7;
  do {
    if (shift > 63) throw new RangeError(`varlong at ${cursor.pos} is longer than 10 bytes`);
    b = buf[p++];
    const g = b & 0x7f;
    if (shift < 28) {
      lo |= g << shift;
    } else if (shift === 28) {
      lo |= g << 28; // low 4 bits of g; the other 3 start the high half
      hi = g >>> 4;
    } else {
      hi |= g << (shift - 32);
    }
    shift += 7;
  } while (b & 0x80);
  if (p > buf.length) throw new RangeError(`varlong at ${cursor.pos} runs past the end of the buffer`);
  cursor.pos = p;
  // Undo zigzag across the halves: (z >>> 1) ^ -(z & 1).
  const sign = -(lo & 1);
  const xlo = (((lo >>> 1) | (hi << 31)) ^ sign) >>> 0;
  const xhi = ((hi >>> 1) ^ sign) | 0;
  return xhi * TWO_32 + xlo;
}
