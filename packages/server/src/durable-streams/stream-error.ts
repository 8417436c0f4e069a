/**
 * A refusal on a Durable Streams route. The protocol fixes statuses and headers (Stream-Closed,
 * Producer-Epoch, Producer-Expected-Seq, ...), not Webka's JSON error shape, so these routes
 * answer with the status, the headers and a one-line text/plain message.
 */
import type { FastifyError } from 'fastify';
import { WebkaError } from '../errors.js';

export class StreamError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'StreamError';
    this.status = status;
    this.headers = headers;
  }
}

/** Maps the core's refusals to the protocol's statuses. */
export function toStreamError(err: unknown): StreamError {
  if (err instanceof StreamError) return err;
  if (err instanceof WebkaError) {
    switch (err.code) {
      case 'PRODUCER_FENCED': {
        const epoch = err.details?.producerEpoch;
        return new StreamError(403, err.message, typeof epoch === 'number' ? { 'producer-epoch': String(epoch) } : {});
      }
      case 'OUT_OF_ORDER_SEQUENCE': {
        const expected = err.details?.expectedSequence;
        return new StreamError(409, err.message, typeof expected === 'number' ? { 'producer-expected-seq': String(expected) } : {});
      }
      case 'TOPIC_NOT_FOUND':
        return new StreamError(404, 'stream not found');
      default:
        return new StreamError(err.status, err.message);
    }
  }
  const e = err as FastifyError;
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new StreamError(e.statusCode, e.message);
  return new StreamError(500, 'internal error; the broker logged the details under this request id');
}
