/**
 * Decompression of the record region of a RecordBatch v2, for each codec Kafka defines
 * (attributes bits 0-2). Webka stores a client's compressed batch as it is and decompresses only
 * to read its records: to validate a Kafka produce and to serve records over HTTP, SSE and
 * WebSocket (Kafka fetches get the stored bytes). Synchronous, as decodeRecords is.
 *
 *   1 gzip    node:zlib
 *   2 snappy  snappyjs (pure JS). Kafka's Java clients write xerial's framing (a 16-byte header
 *             "\x82SNAPPY\0", version, compatible version, then blocks of int32 length + raw
 *             snappy); librdkafka writes one raw snappy block. Both are read.
 *   3 lz4     lz4-napi (Rust's lz4_flex, prebuilt per platform inside npm packages): the LZ4 frame
 *             format (Kafka 0.10+, KIP-57), checksums verified
 *   4 zstd    fzstd (pure JS): zstd frames
 * Webka compresses with gzip where a topic asks for it (compression.type); the log cleaner keeps
 * a rewritten batch's codec (compress()), gzip for zstd, which has no compressor here (fzstd
 * only decompresses; Node's zlib has zstd from 22.15 on, not on Node 20).
 *
 * Memory stays bounded: no batch decompresses to more than MAX_DECOMPRESSED_BYTES. gzip stops
 * there; for the others an upper bound of the output is read from the data's own framing before
 * anything is allocated (snappy's length preamble; the LZ4 frame's blocks times its block size;
 * zstd's frame content size, window and blocks, of which an RLE block yields up to 128 KiB from
 * one byte), and a batch over the bound throws DecompressedTooLarge.
 */
/// <reference path="./snappyjs.d.ts" />
import { gunzipSync, gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { decompress as zstdDecompress } from 'fzstd';
// imported, not required on first use: the single executable bundles what is imported (build-sea.ts)
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappyjs';

const require = createRequire(import.meta.url);

export const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/** The most one batch's records may take once decompressed. */
export const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

export class DecompressedTooLarge extends Error {}

function tooLarge(name: string, bound: number): never {
  throw new DecompressedTooLarge(`the records of a ${name} batch would decompress to ${bound > MAX_DECOMPRESSED_BYTES * 16 ? 'far ' : ''}more than ${MAX_DECOMPRESSED_BYTES / 1024 / 1024} MiB; send smaller batches`);
}

/** snappy's preamble: the uncompressed length, a little-endian base-128 varint. */
function snappyLength(block: Buffer): number {
  let n = 0;
  for (let i = 0, shift = 0; i < 5 && i < block.length; i++, shift += 7) {
    n += (block[i] & 0x7f) * 2 ** shift;
    if ((block[i] & 0x80) === 0) return n;
  }
  throw new Error('snappy: no length preamble');
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK_MAX = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];

/** An upper bound of what LZ4 frames decompress to, from their headers and block sizes. */
function lz4Bound(data: Buffer): number {
  let pos = 0;
  let bound = 0;
  while (pos < data.length) {
    if (data.length - pos < 7) throw new Error('lz4: truncated frame header');
    const magic = data.readUInt32LE(pos);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // skippable frame
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== LZ4_MAGIC) throw new Error('lz4: not an LZ4 frame');
    const flg = data[pos + 4];
    const blockMax = LZ4_BLOCK_MAX[(data[pos + 5] >> 4) & 7];
    if (blockMax === 0) throw new Error('lz4: invalid block size');
    const blockChecksum = (flg & 0x10) !== 0;
    pos += 6 + ((flg & 0x08) !== 0 ? 8 : 0) + ((flg & 0x01) !== 0 ? 4 : 0) + 1;
    for (;;) {
      if (data.length - pos < 4) throw new Error('lz4: truncated block');
      const size = data.readUInt32LE(pos) & 0x7fffffff;
      pos += 4;
      if (size === 0) break;
      bound += blockMax;
      if (bound > MAX_DECOMPRESSED_BYTES) tooLarge('lz4', bound);
      pos += size + (blockChecksum ? 4 : 0);
    }
    if ((flg & 0x04) !== 0) pos += 4;
  }
  return bound;
}

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_BLOCK_MAX = 128 * 1024;

/** An upper bound of what zstd frames decompress to (and of the window fzstd allocates), from their headers and blocks. */
function zstdBound(data: Buffer): number {
  let pos = 0;
  let bound = 0;
  while (pos < data.length) {
    if (data.length - pos < 6) throw new Error('zstd: truncated frame header');
    const magic = data.readUInt32LE(pos);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new Error('zstd: not a zstd frame');
    const fhd = data[pos + 4];
    const singleSegment = (fhd & 0x20) !== 0;
    const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fhd >> 6];
    const dictBytes = [0, 1, 2, 4][fhd & 3];
    let p = pos + 5;
    let window = 0;
    if (!singleSegment) {
      const wd = data[p++];
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    p += dictBytes;
    if (data.length - p < fcsBytes) throw new Error('zstd: truncated frame header');
    let fcs = -1;
    if (fcsBytes === 1) fcs = data[p];
    else if (fcsBytes === 2) fcs = data.readUInt16LE(p) + 256;
    else if (fcsBytes === 4) fcs = data.readUInt32LE(p);
    else if (fcsBytes === 8) fcs = data.readUInt32LE(p) + data.readUInt32LE(p + 4) * 2 ** 32;
    p += fcsBytes;
    if (singleSegment) window = fcs;
    if (fcs > MAX_DECOMPRESSED_BYTES || window > MAX_DECOMPRESSED_BYTES) tooLarge('zstd', Math.max(fcs, window));
    const blockMax = Math.min(window, ZSTD_BLOCK_MAX);
    let frame = 0;
    for (let last = false; !last; ) {
      if (data.length - p < 3) throw new Error('zstd: truncated block');
      const header = data[p] | (data[p + 1] << 8) | (data[p + 2] << 16);
      p += 3;
      last = (header & 1) === 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw new Error('zstd: reserved block type');
      frame += type === 2 ? blockMax : size; // raw: size bytes; RLE: size copies of one byte
      if (bound + frame > MAX_DECOMPRESSED_BYTES) tooLarge('zstd', bound + frame);
      p += type === 1 ? 1 : size;
    }
    if ((fhd & 0x04) !== 0) p += 4; // content checksum
    bound += fcs >= 0 ? Math.min(fcs, frame) : frame;
    pos = p;
  }
  return bound;
}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = 16;

let lz4: { decompressFrameSync(data: Buffer): Buffer; compressFrameSync(data: Buffer): Buffer } | undefined;

function snappyBlock(data: Buffer, room: number): Buffer {
  const length = snappyLength(data);
  if (length > room) tooLarge('snappy', MAX_DECOMPRESSED_BYTES - room + length);
  return snappyUncompress(data);
}

function unsnappy(data: Buffer): Buffer {
  if (data.length < XERIAL_HEADER || !data.subarray(0, 8).equals(XERIAL_MAGIC)) return snappyBlock(data, MAX_DECOMPRESSED_BYTES);
  const parts: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER;
  while (pos < data.length) {
    if (data.length - pos < 4) throw new Error(`snappy: ${data.length - pos} trailing bytes are not a block length`);
    const size = data.readInt32BE(pos);
    pos += 4;
    if (size < 0 || size > data.length - pos) throw new Error(`snappy: a block of ${size} bytes runs past the data`);
    const part = snappyBlock(data.subarray(pos, pos + size), MAX_DECOMPRESSED_BYTES - total);
    parts.push(part);
    total += part.length;
    pos += size;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

let lz4Missing: string | null = null;

function loadLz4(): void {
  if (lz4 !== undefined || lz4Missing !== null) return;
  try {
    lz4 = require('lz4-napi') as typeof lz4;
  } catch (err) {
    lz4Missing = `lz4 is not available on this platform (${process.platform}-${process.arch}): ${(err as Error).message.split('\n')[0]}`;
  }
}

function gunzip(data: Buffer): Buffer {
  try {
    return gunzipSync(data, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') tooLarge('gzip', MAX_DECOMPRESSED_BYTES + 1);
    throw err;
  }
}

function unlz4(data: Buffer): Buffer {
  loadLz4();
  if (lz4Missing !== null) throw new Error(lz4Missing);
  lz4Bound(data);
  return lz4!.decompressFrameSync(data);
}

/** Why batches of this codec cannot be read here, or null when they can. */
export function unsupportedCodec(codec: number): string | null {
  if (codec < 0 || codec > 4) return `compression codec ${codec} does not exist (Kafka's are 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)`;
  if (codec === 3) loadLz4();
  return codec === 3 ? lz4Missing : null;
}

/** The decompressed bytes of a batch's record region; throws, naming the codec, on unknown codecs and corrupt data. */
export function decompress(codec: number, data: Buffer): Buffer {
  const name = CODEC_NAMES[codec];
  if (name === undefined || codec === 0) throw new Error(`unknown compression codec ${codec}`);
  try {
    switch (codec) {
      case 1:
        return gunzip(data);
      case 2:
        return unsnappy(data);
      case 3:
        return unlz4(data);
      default: {
        zstdBound(data);
        const out = zstdDecompress(data);
        return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
      }
    }
  } catch (err) {
    if (err instanceof DecompressedTooLarge) throw err;
    throw new Error(`the records of a ${name} (codec ${codec}) batch cannot be decompressed: ${(err as Error).message}`);
  }
}

/**
 * The codec a batch rewritten here (by the log cleaner) is compressed with, when it was written
 * with `codec`: the same one, except zstd (no compressor here) and lz4 where it is not available,
 * which become gzip.
 */
export function rewriteCodec(codec: number): number {
  if (codec === 4) return 1;
  if (codec === 3) {
    loadLz4();
    if (lz4Missing !== null) return 1;
  }
  return codec;
}

/** A batch's record region compressed with codec 1 (gzip), 2 (snappy, one raw block, as librdkafka writes) or 3 (an LZ4 frame). */
export function compress(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case 1:
      return gzipSync(data);
    case 2:
      return Buffer.from(snappyCompress(data));
    case 3:
      loadLz4();
      if (lz4Missing !== null) throw new Error(lz4Missing);
      return lz4!.compressFrameSync(data);
    default:
      throw new RangeError(`cannot compress with codec ${codec}`);
  }
}
