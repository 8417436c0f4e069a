/**
 * The Kafka message table's codec: golden bytes for a classic and a flexible version, round
 * trips of every API's request and response at every version served, and hostile bytes
 * (lengths that lie, huge counts) rejected with ProtocolError before any allocation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireReader, WireWriter, ProtocolError } from '../../src/kafka/wire.js';
import { decodeStruct, encodeStruct, type Field, type Message } from '../../src/kafka/schema.js';
import { Metadata, ApiVersions, Produce } from '../../src/kafka/messages-core.js';
import { API_HANDLERS } from '../../src/kafka/apis/index.js';

function encode(fields: Field[], value: Message, version: number, flexible: boolean): Buffer {
  const w = new WireWriter();
  encodeStruct(w, fields, value, version, flexible);
  return Buffer.concat(w.finish());
}

test('a Metadata v1 request encodes as Kafka specifies: int32 count, int16-length strings', () => {
  const bytes = encode(Metadata.request, { topics: [{ name: 'ab' }] }, 1, false);
  assert.deepEqual(bytes, Buffer.from([0, 0, 0, 1, 0, 2, 0x61, 0x62]));
});

test('a Metadata v9 request encodes compactly with tagged-field sections', () => {
  const bytes = encode(Metadata.request, { topics: [{ name: 'ab' }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }, 9, true);
  // topics: uvarint 1+1; name: uvarint 2+1, "ab"; topic tags: 0; allowAuto 1; cluster ops 0; topic ops 0; tags 0
  assert.deepEqual(bytes, Buffer.from([2, 3, 0x61, 0x62, 0, 1, 0, 0, 0]));
  assert.deepEqual(decodeStruct(new WireReader(bytes), Metadata.request, 9, true).topics[0].name, 'ab');
});

test('a null array (all topics) is -1 in classic versions and 0 in compact ones', () => {
  assert.deepEqual(encode(Metadata.request, { topics: null }, 1, false), Buffer.from([0xff, 0xff, 0xff, 0xff]));
  assert.equal(decodeStruct(new WireReader(Buffer.from([0, 0, 0, 0, 0])), Metadata.request, 9, true).topics, null);
});

function sample(fields: Field[], version: number): Message {
  const out: Message = {};
  for (const fd of fields) {
    if (version < fd.min || version > fd.max) continue;
    switch (fd.type) {
      case 'struct':
        out[fd.name] = sample(fd.fields!, version);
        break;
      case '[]struct':
        out[fd.name] = [sample(fd.fields!, version), sample(fd.fields!, version)];
        break;
      case 'string':
        out[fd.name] = `${fd.name}-ü`;
        break;
      case 'bytes':
      case 'records':
        out[fd.name] = Buffer.from(fd.name);
        break;
      case 'bool':
        out[fd.name] = true;
        break;
      case 'uuid':
        out[fd.name] = Buffer.alloc(16, 7);
        break;
      case '[]int32':
      case '[]int64':
        out[fd.name] = [1, 2, 3];
        break;
      case '[]string':
        out[fd.name] = ['a', 'b'];
        break;
      default:
        out[fd.name] = fd.type === 'int64' ? 2 ** 40 + 5 : fd.type === 'int8' ? 1 : 7;
    }
  }
  return out;
}

test('every API of the table round-trips its request and response at every version served', () => {
  for (const { def } of API_HANDLERS.values()) {
    for (let v = def.minVersion; v <= def.maxVersion; v++) {
      const flexible = v >= def.flexibleFrom;
      for (const fields of [def.request, def.response]) {
        const value = sample(fields, v);
        const bytes = encode(fields, value, v, flexible);
        const r = new WireReader(bytes);
        const back = decodeStruct(r, fields, v, flexible);
        assert.equal(r.remaining, 0, `${def.name} v${v}: bytes left`);
        assert.deepEqual(encode(fields, back, v, flexible), bytes, `${def.name} v${v}: re-encoded bytes differ`);
        for (const [k, x] of Object.entries(value)) if (!Array.isArray(x) && typeof x !== 'object') assert.deepEqual(back[k], x, `${def.name} v${v} field ${k}`);
      }
    }
  }
});

test('ApiVersions is served from version 0 and lists itself', () => {
  assert.equal(ApiVersions.minVersion, 0);
  assert.ok(API_HANDLERS.has(18));
  assert.equal(Produce.minVersion <= 3, true);
});

test('lengths that lie and huge counts are refused before anything is allocated', () => {
  const cases: Array<[string, Buffer]> = [
    ['array count past the frame', Buffer.from([0x7f, 0xff, 0xff, 0xff])],
    ['string length past the frame', Buffer.from([0, 0, 0, 1, 0x7f, 0xff])],
    ['negative string length', Buffer.from([0, 0, 0, 1, 0xff, 0xf0])],
    ['truncated', Buffer.from([0, 0])],
  ];
  for (const [what, bytes] of cases) {
    assert.throws(() => decodeStruct(new WireReader(bytes), Metadata.request, 1, false), ProtocolError, what);
  }
  // a compact array claiming 2^28 elements in 5 bytes
  assert.throws(() => decodeStruct(new WireReader(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x01])), Metadata.request, 9, true), ProtocolError);
});
