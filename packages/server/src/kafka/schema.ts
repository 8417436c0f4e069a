/**
 * The engine behind the message table (messages-*.ts): a message is declared once as a list of
 * fields, each with the versions it exists in, whether it is nullable and (for flexible
 * versions) its tag; decode() and encode() walk that list for the version at hand, so every
 * version's codec comes from the same declaration. The notation follows Kafka's published
 * message definitions ("3+", "0-4", nullable and tagged versions) so that a field can be
 * checked against the specification by eye.
 *
 * Values are plain objects keyed by the camelCase field names; int64 is a number (±2^53),
 * uuid a 16-byte Buffer, bytes and records Buffers viewing the request frame.
 */
import { ProtocolError, WireWriter, type WireReader } from './wire.js';

export type Scalar = 'int8' | 'int16' | 'int32' | 'int64' | 'uint32' | 'float64' | 'bool' | 'string' | 'bytes' | 'records' | 'uuid';
export type FieldType = Scalar | `[]${Scalar}` | 'struct' | '[]struct';

export interface Field {
  name: string;
  type: FieldType;
  min: number;
  max: number;
  nullableMin: number;
  tag?: number;
  default?: unknown;
  fields?: Field[];
}

/** A field's options: nullable versions ("1+"), tag (taggedVersions = its versions), default. */
export interface FieldOptions {
  nullable?: string;
  tag?: number;
  default?: unknown;
}

function parseVersions(spec: string): [number, number] {
  const m = /^(\d+)(\+|-(\d+))?$/.exec(spec);
  if (m === null) throw new Error(`bad version range "${spec}"`);
  const min = Number(m[1]);
  return [min, m[2] === '+' ? Infinity : m[3] !== undefined ? Number(m[3]) : min];
}

/** A scalar field or an array of scalars. */
export function f(name: string, type: Exclude<FieldType, 'struct' | '[]struct'>, versions = '0+', opts: FieldOptions = {}): Field {
  const [min, max] = parseVersions(versions);
  return { name, type, min, max, nullableMin: opts.nullable === undefined ? Infinity : parseVersions(opts.nullable)[0], tag: opts.tag, default: opts.default };
}

/** An array of structs. */
export function arr(name: string, versions: string, fields: Field[], opts: FieldOptions = {}): Field {
  return { ...f(name, 'int8', versions, opts), type: '[]struct', fields };
}

/** A single struct (Kafka uses these mostly as tagged fields). */
export function struct(name: string, versions: string, fields: Field[], opts: FieldOptions = {}): Field {
  return { ...f(name, 'int8', versions, opts), type: 'struct', fields };
}

export type Message = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Plan {
  plain: Field[];
  tagged: Map<number, Field>;
  absent: Field[];
}

const plans = new WeakMap<Field[], Map<number, Plan>>();

function plan(fields: Field[], version: number, flexible: boolean): Plan {
  let byVersion = plans.get(fields);
  if (byVersion === undefined) plans.set(fields, (byVersion = new Map()));
  const key = flexible ? -1 - version : version;
  let p = byVersion.get(key);
  if (p === undefined) {
    p = { plain: [], tagged: new Map(), absent: [] };
    for (const fd of fields) {
      const present = version >= fd.min && version <= fd.max;
      if (!present) p.absent.push(fd);
      else if (fd.tag !== undefined) {
        if (flexible) p.tagged.set(fd.tag, fd);
        else p.absent.push(fd);
      } else p.plain.push(fd);
    }
    byVersion.set(key, p);
  }
  return p;
}

function defaultOf(fd: Field, version: number, flexible: boolean): unknown {
  if (fd.default !== undefined) return fd.default;
  switch (fd.type) {
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
    case 'records':
      return null;
    case 'uuid':
      return Buffer.alloc(16);
    case 'struct':
      return defaults(fd.fields!, version, flexible);
    default:
      return fd.type.startsWith('[]') ? [] : 0;
  }
}

function defaults(fields: Field[], version: number, flexible: boolean): Message {
  const out: Message = {};
  for (const fd of fields) out[fd.name] = defaultOf(fd, version, flexible);
  return out;
}

/** How each scalar type is read and written (compact: the flexible versions' forms). */
const SCALARS: Record<Scalar, { read(r: WireReader, compact: boolean): unknown; write(w: WireWriter, v: any, compact: boolean): void }> = { // eslint-disable-line @typescript-eslint/no-explicit-any
  int8: { read: (r) => r.int8(), write: (w, v) => w.int8(v) },
  int16: { read: (r) => r.int16(), write: (w, v) => w.int16(v) },
  int32: { read: (r) => r.int32(), write: (w, v) => w.int32(v) },
  int64: { read: (r) => r.int64(), write: (w, v) => w.int64(v) },
  uint32: { read: (r) => r.uint32(), write: (w, v) => w.uint32(v) },
  float64: { read: (r) => r.float64(), write: (w, v) => w.float64(v) },
  bool: { read: (r) => r.bool(), write: (w, v) => w.bool(v) },
  string: { read: (r, c) => r.string(c), write: (w, v, c) => w.string(v, c) },
  uuid: { read: (r) => r.uuid(), write: (w, v) => w.uuid(v) },
  bytes: { read: (r, c) => r.bytes(c), write: (w, v, c) => w.bytes(v, c) },
  records: { read: (r, c) => r.bytes(c), write: (w, v, c) => w.bytes(v, c) },
};

function readScalar(r: WireReader, type: Scalar, compact: boolean): unknown {
  return SCALARS[type].read(r, compact);
}

function readField(r: WireReader, fd: Field, version: number, flexible: boolean): unknown {
  const nullable = version >= fd.nullableMin;
  if (fd.type === 'struct') return decodeStruct(r, fd.fields!, version, flexible);
  if (fd.type.startsWith('[]')) {
    const n = r.arrayLength(flexible);
    if (n < 0) {
      if (!nullable) throw new ProtocolError(`${fd.name} is null but not nullable in version ${version}`);
      return null;
    }
    const out = new Array(n);
    const elem = fd.type.slice(2) as Scalar | 'struct';
    for (let i = 0; i < n; i++) out[i] = elem === 'struct' ? decodeStruct(r, fd.fields!, version, flexible) : readScalar(r, elem, flexible);
    return out;
  }
  const v = readScalar(r, fd.type as Scalar, flexible);
  if (v === null && !nullable) throw new ProtocolError(`${fd.name} is null but not nullable in version ${version}`);
  return v;
}

/** Decodes one struct of `fields` at `version` (flexible: compact forms and tagged fields). */
export function decodeStruct(r: WireReader, fields: Field[], version: number, flexible: boolean): Message {
  const p = plan(fields, version, flexible);
  const out: Message = {};
  for (const fd of p.plain) out[fd.name] = readField(r, fd, version, flexible);
  for (const fd of p.absent) out[fd.name] = defaultOf(fd, version, flexible);
  if (flexible) {
    for (const fd of p.tagged.values()) out[fd.name] = defaultOf(fd, version, flexible);
    readTaggedFields(r, (tag, size) => {
      const fd = p.tagged.get(tag);
      if (fd === undefined) return r.skip(size);
      const end = r.pos + size;
      out[fd.name] = readField(r, fd, version, flexible);
      if (r.pos !== end) throw new ProtocolError(`tagged field ${fd.name} is ${size} bytes but its value took ${r.pos - end + size}`);
    });
  }
  return out;
}

/** Reads a tagged-field section, calling visit(tag, size) with the reader at the field's bytes. */
export function readTaggedFields(r: WireReader, visit: (tag: number, size: number) => void): void {
  const count = r.uvarint();
  if (count > r.remaining) throw new ProtocolError(`${count} tagged fields in ${r.remaining} bytes`);
  for (let i = 0; i < count; i++) {
    const tag = r.uvarint();
    const size = r.uvarint();
    if (size > r.remaining) throw new ProtocolError(`tagged field of ${size} bytes in ${r.remaining}`);
    visit(tag, size);
  }
}

function writeScalar(w: WireWriter, type: Scalar, v: unknown, compact: boolean): void {
  SCALARS[type].write(w, v, compact);
}

function writeField(w: WireWriter, fd: Field, v: unknown, version: number, flexible: boolean): void {
  if (v === undefined) v = defaultOf(fd, version, flexible);
  if (fd.type === 'struct') return encodeStruct(w, fd.fields!, v as Message, version, flexible);
  if (fd.type.startsWith('[]')) {
    if (v === null) return w.length(-1, flexible, true);
    const list = v as unknown[];
    w.length(list.length, flexible, true);
    const elem = fd.type.slice(2) as Scalar | 'struct';
    for (const item of list) {
      if (elem === 'struct') encodeStruct(w, fd.fields!, item as Message, version, flexible);
      else writeScalar(w, elem, item, flexible);
    }
    return;
  }
  writeScalar(w, fd.type as Scalar, v, flexible);
}

/** Encodes one struct; fields missing from `value` take their defaults. */
export function encodeStruct(w: WireWriter, fields: Field[], value: Message, version: number, flexible: boolean): void {
  const p = plan(fields, version, flexible);
  for (const fd of p.plain) writeField(w, fd, value[fd.name], version, flexible);
  if (!flexible) return;
  const tagged = [...p.tagged.values()].filter((fd) => value[fd.name] !== undefined && value[fd.name] !== fd.default);
  w.uvarint(tagged.length);
  for (const fd of tagged.sort((a, b) => a.tag! - b.tag!)) {
    const inner = new WireWriter();
    writeField(inner, fd, value[fd.name], version, flexible);
    w.uvarint(fd.tag!);
    w.uvarint(inner.byteLength);
    for (const chunk of inner.finish()) w.raw(chunk);
  }
}

/** One API of the table: its key, the versions served, where flexible versions start, its fields. */
export interface ApiDef {
  key: number;
  name: string;
  minVersion: number;
  maxVersion: number;
  /** First flexible version (KIP-482); Infinity when none of the served versions is flexible. */
  flexibleFrom: number;
  request: Field[];
  response: Field[];
}

export function api(key: number, name: string, versions: string, flexible: string | null, request: Field[], response: Field[]): ApiDef {
  const [minVersion, maxVersion] = parseVersions(versions);
  return { key, name, minVersion, maxVersion, flexibleFrom: flexible === null ? Infinity : parseVersions(flexible)[0], request, response };
}
