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
 * Webka never compresses with snappy, lz4 or zstd itself (compression.type offers gzip).
 */
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { decompress as zstdDecompress } from 'fzstd';

const require = createRequire(import.meta.url);

export const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = 16;

let snappy: { uncompress(data: Buffer, maxLength?: number): Buffer } | undefined;
let lz4: { decompressFrameSync(data: Buffer): Buffer } | undefined;

function snappyBlock(data: Buffer): Buffer {
  snappy ??= require('snappyjs') as typeof snappy;
  return snappy!.uncompress(data);
}

function unsnappy(data: Buffer): Buffer {
  if (data.length < XERIAL_HEADER || !data.subarray(0, 8).equals(XERIAL_MAGIC)) return snappyBlock(data);
  const parts: Buffer[] = [];
  let pos = XERIAL_HEADER;
  while (pos < data.length) {
    if (data.length - pos < 4) throw new Error(`snappy: ${data.length - pos} trailing bytes are not a block length`);
    const size = data.readInt32BE(pos);
    pos += 4;
    if (size < 0 || size > data.length - pos) throw new Error(`snappy: a block of ${size} bytes runs past the data`);
    parts.push(snappyBlock(data.subarray(pos, pos + size)));
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

function unlz4(data: Buffer): Buffer {
  loadLz4();
  if (lz4Missing !== null) throw new Error(lz4Missing);
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
        return gunzipSync(data);
      case 2:
        return unsnappy(data);
      case 3:
        return unlz4(data);
      default: {
        const out = zstdDecompress(data);
        return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
      }
    }
  } catch (err) {
    throw new Error(`the records of a ${name} (codec ${codec}) batch cannot be decompressed: ${(err as Error).message}`);
  }
}
