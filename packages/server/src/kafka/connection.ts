/**
 * One client connection to the Kafka listener. Frames are a 4-byte size and that many bytes; a
 * size outside 8 .. maxRequestBytes closes the connection before anything is allocated for it.
 * Requests are handled one at a time in arrival order, as Kafka's broker does (it mutes a
 * channel until its response is sent), so responses leave in request order.
 *
 * Request header (v1, or v2 in an API's flexible versions): apiKey int16, apiVersion int16,
 * correlationId int32, clientId nullable string (always int16-prefixed), then, in v2, tagged
 * fields. Response header: correlationId int32, then tagged fields in flexible versions, except
 * for ApiVersions, whose response header is always v0 so that any client can read it.
 *
 * A frame that cannot be parsed, an unknown API key or an unsupported version (other than of
 * ApiVersions, which is answered UNSUPPORTED_VERSION in version 0 as Kafka does) closes the
 * connection: the client cannot be answered in a format it would understand.
 */
import type { Socket } from 'node:net';
import { ProtocolError, WireReader, WireWriter } from './wire.js';
import { decodeStruct, encodeStruct, readTaggedFields, type ApiDef, type Message } from './schema.js';
import { KafkaErrors } from './error-codes.js';
import type { ApiHandler, KafkaContext, KafkaListenerSettings, KafkaSecurity } from './context.js';
import { KafkaError } from './error-codes.js';
import type { Resource, RequestPrincipal } from '../auth/types.js';
import type { Broker } from '../broker.js';
import type { ClassicGroupCoordinator } from '../groups/classic-groups.js';
import type { TransactionCoordinator } from '../transactions/transaction-coordinator.js';
import type { FetchSessionCache } from './fetch-sessions.js';

const API_VERSIONS_KEY = 18;
/** What a connection may send before it has authenticated (when auth is on). */
const BEFORE_AUTH = new Set([API_VERSIONS_KEY, 17, 36]);
const ANONYMOUS: RequestPrincipal = Object.freeze({ name: 'anonymous', via: 'anonymous', superuser: true });
const DENIED = { topic: 'TOPIC_AUTHORIZATION_FAILED', group: 'GROUP_AUTHORIZATION_FAILED', cluster: 'CLUSTER_AUTHORIZATION_FAILED' } as const;

export interface ConnectionOptions {
  security: KafkaSecurity | null;
  broker: Broker;
  groups: ClassicGroupCoordinator;
  transactions: TransactionCoordinator | null;
  settings: KafkaListenerSettings;
  fetchSessions: FetchSessionCache;
  handlers: ReadonlyMap<number, ApiHandler>;
  maxRequestBytes: number;
  onError: (message: string, details: Record<string, unknown>) => void;
}

export class KafkaConnection {
  readonly socket: Socket;
  #opts: ConnectionOptions;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #busy = false;
  #closed = new AbortController();
  #ctx: KafkaContext;

  constructor(socket: Socket, opts: ConnectionOptions) {
    this.socket = socket;
    this.#opts = opts;
    this.#ctx = {
      broker: opts.broker,
      groups: opts.groups,
      transactions: opts.transactions,
      settings: opts.settings,
      fetchSessions: opts.fetchSessions,
      conn: {
        localAddress: socket.localAddress ?? '127.0.0.1',
        localPort: socket.localPort ?? 0,
        remoteAddress: socket.remoteAddress ?? '',
        clientId: null,
        signal: this.#closed.signal,
        principal: opts.security === null ? ANONYMOUS : null,
        saslMechanism: null,
        scram: null,
      },
      security: opts.security,
      may: (op, type, name) => {
        const principal = this.#ctx.conn.principal;
        if (principal === null) return false;
        if (opts.security === null) return true;
        const cluster = opts.settings.cluster;
        const resource: Resource = type === 'cluster' ? { type, name: cluster } : { type, cluster, name: name ?? '' };
        return opts.security.authorize(principal, op, resource);
      },
      require: (op, type, name) => {
        if (!this.#ctx.may(op, type, name)) throw new KafkaError(DENIED[type], `principal "${this.#ctx.conn.principal?.name}" may not ${op} ${type} ${name ?? opts.settings.cluster}`);
      },
    };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      this.#drain();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.#closed.abort());
  }

  /** Ends the connection now (listener shutdown); a request in progress stops waiting. */
  close(): void {
    this.#closed.abort();
    this.socket.destroy();
  }

  #fail(why: string, details: Record<string, unknown> = {}): void {
    this.#opts.onError(why, { remote: this.#ctx.conn.remoteAddress, ...details });
    this.close();
  }

  /** Takes the next whole frame out of the buffered chunks, or null when none is complete. */
  #nextFrame(): Buffer | null {
    if (this.#buffered < 4) return null;
    if (this.#chunks[0].length < 4) this.#chunks = [Buffer.concat(this.#chunks)];
    const size = this.#chunks[0].readInt32BE(0);
    if (size < 8 || size > this.#opts.maxRequestBytes) {
      this.#fail('kafka: frame size out of bounds; closing the connection', { size, max: this.#opts.maxRequestBytes });
      return null;
    }
    if (this.#buffered < 4 + size) return null;
    const all = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#buffered);
    const frame = all.subarray(4, 4 + size);
    const rest = all.subarray(4 + size);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return frame;
  }

  #drain(): void {
    if (this.#busy || this.#closed.signal.aborted) return;
    const frame = this.#nextFrame();
    if (frame === null) return;
    this.#busy = true;
    // While a request is handled, further bytes only queue: requests run one at a time.
    this.socket.pause();
    this.#handle(frame)
      .catch((err: unknown) => this.#fail('kafka: request failed; closing the connection', { error: (err as Error).message }))
      .finally(() => {
        this.#busy = false;
        if (!this.#closed.signal.aborted) {
          this.socket.resume();
          this.#drain();
        }
      });
  }

  async #handle(frame: Buffer): Promise<void> {
    const r = new WireReader(frame);
    let apiKey: number;
    let version: number;
    let correlationId: number;
    let handler: ApiHandler | undefined;
    let request: Message;
    try {
      apiKey = r.int16();
      version = r.int16();
      correlationId = r.int32();
      this.#ctx.conn.clientId = r.string(false);
      handler = this.#opts.handlers.get(apiKey);
      if (handler === undefined) return this.#fail('kafka: unknown API key; closing the connection', { apiKey, version });
      if (this.#ctx.conn.principal === null && !BEFORE_AUTH.has(apiKey)) {
        return this.#fail('kafka: request before SASL authentication; closing the connection', { apiKey });
      }
      const def = handler.def;
      if (version < def.minVersion || version > def.maxVersion) {
        if (apiKey === API_VERSIONS_KEY) return this.#unsupportedApiVersions(correlationId, def);
        return this.#fail(`kafka: ${def.name} version ${version} is not supported (${def.minVersion}-${def.maxVersion}); closing the connection`, { apiKey, version });
      }
      const flexible = version >= def.flexibleFrom;
      if (flexible) readTaggedFields(r, (_tag, size) => r.skip(size));
      request = decodeStruct(r, def.request, version, flexible);
    } catch (err) {
      if (err instanceof ProtocolError) return this.#fail(`kafka: malformed request: ${err.message}; closing the connection`);
      throw err;
    }
    const response = await handler.handle(this.#ctx, request, version);
    if (response === null || this.#closed.signal.aborted) return;
    this.#send(handler.def, version, correlationId, response);
    // A client that does not read its responses gets no further requests handled.
    if (this.socket.writableNeedDrain) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.socket.off('drain', done);
          this.#closed.signal.removeEventListener('abort', done);
          resolve();
        };
        this.socket.on('drain', done);
        this.#closed.signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  #send(def: ApiDef, version: number, correlationId: number, body: Message): void {
    const flexible = version >= def.flexibleFrom;
    const w = new WireWriter();
    w.int32(0); // size, filled in below
    w.int32(correlationId);
    if (flexible && def.key !== API_VERSIONS_KEY) w.uvarint(0);
    encodeStruct(w, def.response, body, version, flexible);
    const size = w.byteLength - 4;
    const chunks = w.finish();
    chunks[0].writeInt32BE(size, 0);
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
  }

  #unsupportedApiVersions(correlationId: number, def: ApiDef): void {
    this.#send(def, 0, correlationId, {
      errorCode: KafkaErrors.UNSUPPORTED_VERSION,
      apiKeys: [{ apiKey: def.key, minVersion: def.minVersion, maxVersion: def.maxVersion }],
    });
  }
}
