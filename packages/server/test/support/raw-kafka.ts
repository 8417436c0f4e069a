/**
 * A Kafka connection for tests that speaks raw, non-flexible request versions with the broker's
 * own schema (src/kafka/schema.ts), authenticated with SASL/PLAIN: for requests a real client
 * would never send (another principal's ids, hand-built batches).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { WireReader, WireWriter } from '../../src/kafka/wire.js';
import { decodeStruct, encodeStruct, type ApiDef, type Message } from '../../src/kafka/schema.js';
import { SaslAuthenticate, SaslHandshake } from '../../src/kafka/messages-admin.js';

/** A Kafka connection that speaks raw, non-flexible request versions, authenticated with SASL/PLAIN. */
export class RawKafka {
  #socket: net.Socket;
  #buf = Buffer.alloc(0);
  #waiting: Array<{ resolve: (b: Buffer) => void; reject: (e: Error) => void }> = [];
  #correlation = 0;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (d) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      while (this.#buf.length >= 4 && this.#buf.length >= 4 + this.#buf.readInt32BE(0)) {
        const size = this.#buf.readInt32BE(0);
        const frame = this.#buf.subarray(4, 4 + size);
        this.#buf = this.#buf.subarray(4 + size);
        this.#waiting.shift()?.resolve(frame);
      }
    });
    // the broker closes the connection on a request it does not serve: fail what is waiting
    socket.on('close', () => {
      for (const w of this.#waiting.splice(0)) w.reject(new Error('the broker closed the connection'));
    });
  }

  /** Without a user, the connection is not authenticated (for a broker with auth off). */
  static async connect(port: number, user?: string, key?: string): Promise<RawKafka> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    });
    const k = new RawKafka(socket);
    if (user === undefined) return k;
    assert.equal((await k.call(SaslHandshake, 1, { mechanism: 'PLAIN' })).errorCode, 0);
    const auth = await k.call(SaslAuthenticate, 0, { authBytes: Buffer.from(`\u0000${user}\u0000${key}`) });
    assert.equal(auth.errorCode, 0, auth.errorMessage);
    return k;
  }

  call(def: ApiDef, version: number, body: Message): Promise<Message> {
    const w = new WireWriter();
    w.int16(def.key);
    w.int16(version);
    w.int32(++this.#correlation);
    w.string('raw-test', false);
    // flexible versions: header v2 (tagged fields after the client id), compact body; the
    // response header then has tagged fields after the correlation id (none are sent)
    const flexible = version >= def.flexibleFrom;
    if (flexible) w.uvarint(0);
    encodeStruct(w, def.request, body, version, flexible);
    const payload = Buffer.concat(w.finish());
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ reject, resolve: (frame) => resolve(decodeStruct(new WireReader(frame, flexible ? 5 : 4), def.response, version, flexible)) });
      this.#socket.write(Buffer.concat([size, payload]));
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}
