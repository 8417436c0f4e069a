/**
 * Reads one client frame: JSON, an object with a known `type`, valid against that type's schema
 * (protocol/src/frames.ts). Never throws: a bad frame becomes an error the session sends back
 * with the frame's id when it has one, so the client can match it.
 *
 * A produce frame is first read as a produce body is (readProduceFrame: one pass over its bytes,
 * each JSON value stored as the bytes sent); only a frame that this declines is parsed by
 * JSON.parse and checked against the schema (parseFrame, then produceRecords), which gives every
 * error. The property tests of test/unit/produce-body.test.ts hold the two to the same records.
 */
import { Type } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ClientFrameSchemas, HeadersSchema, ProduceFrame, type ClientFrame, type RequestId, type TSchema } from '@webka/protocol';
import type { ProduceInput } from '../../broker.js';
import { WebkaError } from '../../errors.js';
import { jsonDeeperThan, tooDeep } from '../../limits/json-depth.js';
import { scanProduceFrame } from '../produce-body.js';
import { parseRecords, type KeyFormat, type ValueFormat } from '../record-json.js';

const checks = new Map<string, TypeCheck<TSchema>>();
for (const [type, schema] of Object.entries(ClientFrameSchemas)) checks.set(type, TypeCompiler.Compile(schema as TSchema));
const TYPES = Object.keys(ClientFrameSchemas).join(', ');

export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; id: RequestId | null; error: WebkaError };

function requestId(v: unknown): RequestId | null {
  if (typeof v === 'string' && v.length > 0 && v.length <= 128) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  return null;
}

export function parseFrame(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, id: null, error: new WebkaError('INVALID_JSON', `the frame is not valid JSON: ${(e as Error).message}`) };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, id: null, error: new WebkaError('INVALID_REQUEST', 'a frame is a JSON object with "type" and "id"') };
  }
  const v = value as Record<string, unknown>;
  const id = requestId(v.id);
  if (jsonDeeperThan(value)) return { ok: false, id, error: tooDeep('the frame') };
  const check = typeof v.type === 'string' ? checks.get(v.type) : undefined;
  if (check === undefined) {
    return { ok: false, id, error: new WebkaError('INVALID_REQUEST', `unknown frame type ${JSON.stringify(v.type)}; the types are ${TYPES}`) };
  }
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    const where = first === undefined || first.path === '' ? 'the frame' : first.path;
    const message = first === undefined ? 'does not match its schema' : first.message;
    return { ok: false, id, error: new WebkaError('INVALID_REQUEST', `${v.type} frame: ${where}: ${message} (see docs/websocket-protocol.md)`) };
  }
  return { ok: true, frame: value as ClientFrame };
}

/** What a produce frame asks for: its frame (records as sent, or [] when read by the scan) and the records to append. */
export interface ProduceRequest {
  frame: ProduceFrame;
  records: ProduceInput[];
  producer?: { producerId: number; producerEpoch: number; sequence: number };
}

/** A produce frame's records and producer, or the error to answer (the frame passed parseFrame). */
export function produceRecords(frame: ProduceFrame, maxRecords: number): ProduceRequest {
  if (frame.records.length > maxRecords) {
    throw new WebkaError('TOO_MANY_RECORDS', `${frame.records.length} records in one frame; the limit is ${maxRecords} (maxRecordsPerRequest)`);
  }
  const records = parseRecords(frame.records, (frame.keyFormat ?? 'text') as KeyFormat, (frame.valueFormat ?? 'json') as ValueFormat);
  return { frame, records, producer: producerOf(frame) };
}

function producerOf(frame: ProduceFrame): ProduceRequest['producer'] {
  const ids = [frame.producerId, frame.producerEpoch, frame.sequence];
  if (ids.some((v) => v !== undefined) && ids.some((v) => v === undefined)) {
    throw new WebkaError('INVALID_REQUEST', 'idempotent produce frames carry producerId, producerEpoch and sequence together');
  }
  return frame.producerId === undefined ? undefined : { producerId: frame.producerId, producerEpoch: frame.producerEpoch!, sequence: frame.sequence! };
}

const headCheck = TypeCompiler.Compile(Type.Omit(ProduceFrame, ['records']));
const headersCheck = TypeCompiler.Compile(HeadersSchema);
const headOk = (head: Record<string, unknown>): boolean => head.type === 'produce' && headCheck.Check(head);
const headersOk = (h: unknown): boolean => headersCheck.Check(h);

/**
 * A produce frame read in one pass over its bytes, as parseFrame and produceRecords would read
 * it; null when the bytes are not such a frame or the scan is unsure (then parseFrame).
 */
export function readProduceFrame(bytes: Buffer, maxRecords: number): ProduceRequest | null {
  const scanned = scanProduceFrame(bytes, maxRecords, headOk, headersOk);
  if (scanned === null) return null;
  const frame = { ...scanned.head, records: [] } as unknown as ProduceFrame;
  try {
    return { frame, records: scanned.records, producer: producerOf(frame) };
  } catch (e) {
    if (e instanceof WebkaError) return null;
    throw e;
  }
}
