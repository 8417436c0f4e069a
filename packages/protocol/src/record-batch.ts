/**
 * Builds Kafka RecordBatch v2 (magic 2) in any runtime, for the binary produce body
 * (`Content-Type: application/vnd.webka.recordbatch`, docs/http-api.md "Binary produce"): the
 * SDK encodes its records once, the broker checks the batch and appends its bytes as they are.
 * The byte layout of a batch and of a record is written out field by field in the broker's
 * packages/server/src/storage/record-batch.ts; this encoder writes the same bytes for the same
 * records (test/record-batch.test.ts compares them).
 *
 * The binary produce body is one or more partition frames, back to back:
 *
 *   offset size field
 *        0    4 partition   int32 BE  the partition the batch goes to (each at most once a request)
 *        4    -  batch      one RecordBatch v2; its size is 12 + its batchLength field
 *
 * No header of its own: a batch carries its length, magic, CRC-32C and record count, so a frame
 * needs nothing more. Uncompressed; baseOffset 0 (the broker assigns it), partitionLeaderEpoch -1,
 * CreateTime timestamps, offsetDelta i for the i-th record.
 */
import { crc32c } from './crc32c.js';
import { sizeOfVarint, writeVarint, writeVarlong } from './varint.js';

export const RECORD_BATCH_CONTENT_TYPE = 'application/vnd.webka.recordbatch';
/** baseOffset .. recordsCount: every batch starts with this many bytes. */
export const RECORD_BATCH_HEADER_SIZE = 61;
/** The partition number in front of each batch of a binary produce body. */
export const PARTITION_FRAME_SIZE = 4;

/** Producer fields of an idempotent batch; all -1 (the default) for a plain one. */
export interface BatchProducerFields {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  isTransactional?: boolean;
}

export type BatchBytes = Uint8Array | string | null;
/** A record header: a key (never null) and a value (null allowed). */
export type BatchHeader = readonly [string, BatchBytes];

/**
 * How a record's value was produced, kept in bits 0-1 of the record's attributes byte (which Kafka
 * leaves unused and its clients ignore), so that readers show it as it was sent (docs/values.md).
 * 0: unknown (a Kafka client's record): readers go by the bytes.
 */
export const VALUE_FORMAT_TAGS = { json: 1, text: 2, binary: 3 } as const;
export const VALUE_FORMAT_MASK = 0x03;

const START = PARTITION_FRAME_SIZE + RECORD_BATCH_HEADER_SIZE;
const TWO_32 = 4294967296;
const encoder = new TextEncoder();
/**
 * In Node, Buffer's native UTF-8 write (no view per string, unlike TextEncoder.encodeInto); the
 * builder's buffers are then Buffers. Browsers have neither and use TextEncoder.
 */
type NodeBuffer = { allocUnsafeSlow(n: number): Uint8Array; prototype: { utf8Write(s: string, offset: number): number } };
const NodeBuf = (globalThis as { Buffer?: NodeBuffer }).Buffer;
const nodeWrite: ((this: Uint8Array, s: string, offset: number) => number) | undefined = NodeBuf?.prototype.utf8Write as never;
const alloc = (n: number): Uint8Array => (NodeBuf !== undefined ? NodeBuf.allocUnsafeSlow(n) : new Uint8Array(n));

/**
 * Collects records into one partition frame of a binary produce body. Strings are written as
 * UTF-8 straight into the frame, byte arrays copied once; `finish` fills in the header and the
 * CRC and hands the frame over (the builder then starts a new one). Not safe to share between
 * two batches being built at once: one builder per batch under construction.
 *
 *   const b = new RecordBatchBuilder();
 *   b.append('user-1', '{"page":"/"}', Date.now());
 *   const frame = b.finish(0);            // partition 0; frame.subarray(4) is the bare batch
 */
export class RecordBatchBuilder {
  #buf: Uint8Array;
  #pos = START;
  #count = 0;
  #baseTimestamp = 0;
  #maxTimestamp = 0;

  constructor(initialBytes = 16 * 1024) {
    this.#buf = alloc(Math.max(initialBytes, 256));
  }

  /** Records appended since the last finish. */
  get count(): number {
    return this.#count;
  }

  /** Bytes of the frame so far (partition number and batch header included). */
  get size(): number {
    return this.#pos;
  }

  /**
   * Appends a record. key and value: bytes, a string (written as UTF-8) or null; timestamp in
   * integer milliseconds since the epoch (0 to 8.64e15, the broker's range); attributes: the
   * record's attributes byte, a VALUE_FORMAT_TAGS value saying how the value was produced (0: untagged).
   */
  append(key: BatchBytes, value: BatchBytes, timestamp: number, headers?: readonly BatchHeader[], attributes = 0): void {
    if (!Number.isSafeInteger(timestamp)) throw new RangeError(`a record timestamp is an integer of milliseconds, not ${timestamp}`);
    if (this.#count === 0) this.#baseTimestamp = this.#maxTimestamp = timestamp;
    else if (timestamp > this.#maxTimestamp) this.#maxTimestamp = timestamp;
    this.#reserve(5 + 1 + 10 + 5 + bytesBound(key) + bytesBound(value) + 5 + headersBound(headers));
    const buf = this.#buf;
    const start = this.#pos;
    // The body is written after a one-byte length; a longer length moves it along (rare).
    let p = start + 1;
    buf[p++] = attributes;
    p = writeVarlong(buf, timestamp - this.#baseTimestamp, p);
    p = writeVarint(buf, this.#count, p);
    p = this.#bytes(key, p);
    p = this.#bytes(value, p);
    if (headers === undefined) {
      buf[p++] = 0;
    } else {
      p = writeVarint(buf, headers.length, p);
      for (const [k, v] of headers) {
        p = this.#bytes(k, p);
        p = this.#bytes(v, p);
      }
    }
    const body = p - start - 1;
    const lengthBytes = sizeOfVarint(body);
    if (lengthBytes > 1) {
      buf.copyWithin(start + lengthBytes, start + 1, p);
      p += lengthBytes - 1;
    }
    writeVarint(buf, body, start);
    this.#pos = p;
    this.#count++;
  }

  /**
   * The finished frame: partition number, then the batch (`frame.subarray(4)`). Throws when no
   * record was appended. The builder starts afresh; the frame is the caller's.
   */
  finish(partition: number, producer?: BatchProducerFields): Uint8Array {
    const n = this.#count;
    if (n === 0) throw new RangeError('a RecordBatch holds at least one record');
    const buf = this.#buf;
    const end = this.#pos;
    const v = new DataView(buf.buffer, buf.byteOffset, end);
    const b = PARTITION_FRAME_SIZE;
    v.setInt32(0, partition);
    v.setInt32(b + 0, 0); // baseOffset: the broker assigns it
    v.setInt32(b + 4, 0);
    v.setInt32(b + 8, end - b - 12); // batchLength
    v.setInt32(b + 12, -1); // partitionLeaderEpoch
    v.setInt8(b + 16, 2); // magic
    v.setInt16(b + 21, producer?.isTransactional === true ? 0x10 : 0); // attributes
    v.setInt32(b + 23, n - 1); // lastOffsetDelta
    setInt64(v, b + 27, this.#baseTimestamp);
    setInt64(v, b + 35, this.#maxTimestamp);
    setInt64(v, b + 43, producer?.producerId ?? -1);
    v.setInt16(b + 51, producer?.producerEpoch ?? -1);
    v.setInt32(b + 53, producer?.baseSequence ?? -1);
    v.setInt32(b + 57, n);
    v.setUint32(b + 17, crc32c(buf, b + 21, end));
    const frame = buf.subarray(0, end);
    this.#buf = alloc(Math.max(256, Math.min(end * 2, 1 << 22)));
    this.#pos = START;
    this.#count = 0;
    return frame;
  }

  #bytes(x: BatchBytes, p: number): number {
    const buf = this.#buf;
    if (x === null) {
      buf[p] = 1; // zigzag(-1): null
      return p + 1;
    }
    if (typeof x !== 'string') {
      p = writeVarint(buf, x.length, p);
      buf.set(x, p);
      return p + x.length;
    }
    // Short ASCII (most keys): a byte per char, so the length is known up front.
    const len = x.length;
    if (len < 64) {
      let i = 0;
      while (i < len && x.charCodeAt(i) < 0x80) i++;
      if (i === len) {
        buf[p++] = len << 1;
        for (let j = 0; j < len; j++) buf[p + j] = x.charCodeAt(j);
        return p + len;
      }
    }
    // Otherwise UTF-8 after a guessed length width, moved if the guess was wrong.
    const guess = sizeOfVarint(len * 3);
    const at = p + guess;
    const written = nodeWrite !== undefined ? nodeWrite.call(buf, x, at) : encoder.encodeInto(x, buf.subarray(at)).written;
    const width = sizeOfVarint(written);
    if (width !== guess) buf.copyWithin(p + width, at, at + written);
    writeVarint(buf, written, p);
    return p + width + written;
  }

  #reserve(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return;
    const grown = alloc(Math.max(this.#buf.length * 2, this.#pos + bytes));
    grown.set(this.#buf.subarray(0, this.#pos));
    this.#buf = grown;
  }
}

/** Concatenates partition frames into one binary produce body. */
export function produceBody(frames: readonly Uint8Array[]): Uint8Array {
  if (frames.length === 1) return frames[0];
  let size = 0;
  for (const f of frames) size += f.length;
  const out = new Uint8Array(size);
  let p = 0;
  for (const f of frames) {
    out.set(f, p);
    p += f.length;
  }
  return out;
}

/** Most bytes `x` can take with its length varint (UTF-8 is at most 3 bytes per UTF-16 unit). */
function bytesBound(x: BatchBytes): number {
  return x === null ? 1 : 5 + (typeof x === 'string' ? x.length * 3 : x.length);
}

function headersBound(headers: readonly BatchHeader[] | undefined): number {
  if (headers === undefined) return 1;
  let n = 5;
  for (const [k, v] of headers) n += bytesBound(k) + bytesBound(v);
  return n;
}

function setInt64(v: DataView, pos: number, value: number): void {
  v.setInt32(pos, Math.floor(value / TWO_32));
  v.setUint32(pos + 4, value >>> 0);
}
