/** Produce bodies of 100 B records, the same bytes for the broker and for the baselines. */
import { RecordBatchBuilder, produceBody as binaryBody } from '@webka/protocol';

/** A JSON string value whose JSON text (as stored by the broker) is `bytes` long. */
export function valueOf(bytes: number): string {
  return 'v'.repeat(bytes - 2);
}

/** {"records":[{"value":"vvv…"}, …]} with n records whose stored values are `bytes` long. */
export function produceBody(n: number, bytes = 100): string {
  const one = JSON.stringify({ value: valueOf(bytes) });
  return `{"records":[${new Array(n).fill(one).join(',')}]}`;
}

/**
 * A web event as a JSON object whose JSON text (as the broker stores it) is `bytes` long (at
 * least 80): page, timing, referrer, a flag and tags, with `i` varying the numbers and the page.
 */
export function eventOf(i: number, bytes = 100): Record<string, unknown> {
  const event = { page: `/products/${i % 10_000}`, ms: 20 + (i % 480), ref: '', ok: i % 7 !== 0, tags: ['web', 'eu'] };
  event.ref = 'r'.repeat(Math.max(0, bytes - JSON.stringify(event).length));
  return event;
}

/**
 * {"records":[{"key":"user-…","value":{…}}, …]}: n keyed records whose values are JSON objects
 * `bytes` long as stored (eventOf), keys from 1,000 users, so the records spread over partitions by key.
 */
export function keyedObjectBody(n: number, bytes = 100): string {
  const records = new Array<string>(n);
  for (let i = 0; i < n; i++) records[i] = JSON.stringify({ key: `user-${(i * 7919) % 1000}`, value: eventOf(i, bytes) });
  return `{"records":[${records.join(',')}]}`;
}

/**
 * A binary produce body (application/vnd.webka.recordbatch): n keyless records whose stored
 * values are `bytes` long (the JSON text of valueOf, as a JSON body stores them), split evenly
 * over `partitions` frames of one RecordBatch v2 each.
 */
export function recordBatchBody(n: number, partitions: number, bytes = 100): Buffer {
  const value = JSON.stringify(valueOf(bytes));
  const now = Date.now();
  const frames: Uint8Array[] = [];
  for (let p = 0; p < partitions; p++) {
    const b = new RecordBatchBuilder();
    for (let i = p; i < n; i += partitions) b.append(null, value, now);
    frames.push(b.finish(p));
  }
  const body = binaryBody(frames);
  return Buffer.from(body.buffer, body.byteOffset, body.length);
}
