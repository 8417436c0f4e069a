/**
 * Reads one client frame: JSON, an object with a known `type`, valid against that type's schema
 * (protocol/src/frames.ts). Never throws: a bad frame becomes an error the session sends back
 * with the frame's id when it has one, so the client can match it.
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ClientFrameSchemas, type ClientFrame, type RequestId, type TSchema } from '@webka/protocol';
import { WebkaError } from '../../errors.js';
import { jsonDeeperThan, tooDeep } from '../../limits/json-depth.js';

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
