/**
 * Request bodies sent with Content-Encoding gzip, deflate or br are decompressed as they arrive.
 * The decompressed stream reports `receivedEncodedLength` (the compressed bytes read) as Fastify
 * expects, and Fastify stops reading once the decompressed bytes pass bodyLimit: a small
 * compressed body that inflates to gigabytes (a "zip bomb") is refused with 413 after at most
 * bodyLimit bytes of output.
 */
import { createBrotliDecompress, createGunzip, createInflate, type Gunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { WebkaError } from '../errors.js';

type Decoder = () => Gunzip | ReturnType<typeof createBrotliDecompress>;

const DECODERS: Record<string, Decoder> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** The stream Fastify should parse: the raw body, or its decompression. */
export function decodeBody(payload: Readable, encoding: string | undefined): Readable {
  if (encoding === undefined) return payload;
  const e = encoding.trim().toLowerCase();
  if (e === '' || e === 'identity') return payload;
  const make = DECODERS[e];
  if (make === undefined) throw new WebkaError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding "${encoding.slice(0, 40)}" is not supported; send gzip, deflate, br or none`);
  const decoder = make() as Readable & { receivedEncodedLength?: number };
  decoder.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => {
    decoder.receivedEncodedLength! += chunk.length;
  });
  payload.on('error', (err) => decoder.destroy(err));
  // Registered before Fastify's listener: a corrupt stream is the client's fault (400, not 500).
  decoder.on('error', (err: Error & { statusCode?: number }) => {
    err.statusCode ??= 400;
    payload.unpipe(decoder as unknown as NodeJS.WritableStream);
  });
  payload.pipe(decoder as unknown as NodeJS.WritableStream);
  return decoder;
}
