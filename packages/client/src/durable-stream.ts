/**
 * Reads a Durable Stream (`/v1/stream/{path}`, docs/durable-streams.md) as the protocol serves
 * it, so forks read through their source and offsets are the stream's own
 * (`0000000000000000_0000000000000042`):
 *
 *   const s = webka.durableStream('chat/room-1');
 *   const first = await s.read();                    // from the start, one page
 *   const f = s.follow({ offset: first.nextOffset }); // live, over SSE
 *   for await (const chunk of f) show(chunk);         // f.close() ends the loop
 *
 * A chunk's `data` is what the stream holds between `offset` and `nextOffset`: a JSON stream's
 * values as an array, a text/* stream's text, anything else base64. A follower reconnects from
 * the last offset it delivered when the broker ends the connection (it does every minute, as the
 * protocol asks) or after a failure, so nothing is missed or repeated; it ends once the stream is
 * closed and everything was read.
 */
import { backoffDelay, sleep } from './backoff.js';
import { WebkaError } from './errors.js';
import { seg, type HttpClient } from './http-client.js';
import { readSse } from './sse-reader.js';

/** The offset of a stream's start (the protocol's sentinel). */
export const STREAM_START = '-1';

export interface StreamChunk {
  /** JSON streams: the values, an array; text/*: the text; any other type: the bytes in base64. */
  data: unknown[] | string;
  encoding: 'json' | 'text' | 'base64';
  /** Where this chunk starts, and the offset to read next. */
  offset: string;
  nextOffset: string;
  /** Whether the chunk reaches the stream's tail. */
  upToDate: boolean;
  /** Whether the stream is closed and this chunk reaches its end. */
  closed: boolean;
}

export interface StreamFollowerOptions {
  /** Where to start: an offset the stream handed out, STREAM_START (default) or 'now' (only what comes next). */
  offset?: string;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
}

const isJson = (contentType: string): boolean => /^application\/(.+\+)?json\b/i.test(contentType.trim());
const isText = (contentType: string): boolean => /^text\//i.test(contentType.trim()) || isJson(contentType);

function base64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** The protocol answers errors as plain text: give them Webka's codes where one fits. */
function streamFailure(err: unknown): unknown {
  if (!(err instanceof WebkaError) || err.code !== 'UNKNOWN_ERROR') return err;
  const code = ({ 400: 'INVALID_REQUEST', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 410: 'OFFSET_OUT_OF_RANGE' } as Record<number, string>)[err.status];
  return code === undefined ? err : new WebkaError(code, err.message.replace(/^HTTP \d+: /, ''), { status: err.status });
}

export class DurableStream {
  readonly path: string;
  #http: HttpClient;

  constructor(http: HttpClient, path: string) {
    this.#http = http;
    this.path = path.replace(/^\/+/, '');
  }

  get #url(): string {
    return `/v1/stream/${this.path.split('/').map(seg).join('/')}`;
  }

  /** One catch-up read from `offset` (default: the start); large ranges come a page at a time. */
  async read(opts: { offset?: string; signal?: AbortSignal } = {}): Promise<StreamChunk> {
    const offset = opts.offset ?? STREAM_START;
    let res: Response;
    try {
      res = await this.#http.raw('GET', this.#url, { query: { offset }, signal: opts.signal });
    } catch (err) {
      throw streamFailure(err);
    }
    const contentType = res.headers.get('content-type') ?? 'application/octet-stream';
    const nextOffset = res.headers.get('stream-next-offset') ?? offset;
    const common = { offset, nextOffset, upToDate: res.headers.get('stream-up-to-date') === 'true', closed: res.headers.get('stream-closed') === 'true' };
    if (isJson(contentType)) {
      const text = await res.text();
      return { ...common, encoding: 'json', data: text.trim() === '' ? [] : (JSON.parse(text) as unknown[]) };
    }
    if (isText(contentType)) return { ...common, encoding: 'text', data: await res.text() };
    return { ...common, encoding: 'base64', data: base64(new Uint8Array(await res.arrayBuffer())) };
  }

  /** Follows the stream live over SSE from `offset`: `for await (const chunk of follower)`. */
  follow(opts: StreamFollowerOptions = {}): DurableStreamFollower {
    return new DurableStreamFollower(this.#http, this.#url, opts);
  }
}

export class DurableStreamFollower implements AsyncIterable<StreamChunk> {
  #http: HttpClient;
  #url: string;
  #opts: StreamFollowerOptions;
  #closing = new AbortController();
  #contentType: string | undefined;
  /** The offset after the last chunk delivered. */
  offset: string;

  constructor(http: HttpClient, url: string, opts: StreamFollowerOptions) {
    this.#http = http;
    this.#url = url;
    this.#opts = opts;
    this.offset = opts.offset ?? STREAM_START;
  }

  close(): void {
    this.#closing.abort(new WebkaError('CLOSED', 'the follower is closed'));
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<StreamChunk> {
    const signal = this.#closing.signal;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        let res: Response;
        try {
          res = await this.#http.raw('GET', this.#url, { query: { offset: this.offset, live: 'sse' }, signal });
        } catch (err) {
          throw streamFailure(err);
        }
        if (res.body === null) throw new WebkaError('NETWORK_ERROR', 'the event stream has no body');
        // the event stream does not name the stream's content type: HEAD does
        if (this.#contentType === undefined) {
          try {
            this.#contentType = (await this.#http.raw('HEAD', this.#url, { signal })).headers.get('content-type') ?? '';
          } catch (err) {
            await res.body.cancel().catch(() => undefined);
            throw streamFailure(err);
          }
        }
        const contentType = this.#contentType;
        const encoding: StreamChunk['encoding'] = res.headers.get('stream-sse-data-encoding') === 'base64' ? 'base64' : isJson(contentType) ? 'json' : 'text';
        let data: string | undefined;
        for await (const m of readSse(res.body, signal)) {
          if (m.event === 'data') {
            data = m.data;
            continue;
          }
          if (m.event !== 'control') continue;
          attempt = 0;
          const c = JSON.parse(m.data) as { streamNextOffset: string; upToDate?: boolean; streamClosed?: boolean };
          const chunk: StreamChunk = {
            offset: this.offset,
            nextOffset: c.streamNextOffset,
            upToDate: c.upToDate === true || c.streamClosed === true,
            closed: c.streamClosed === true,
            encoding,
            data: data === undefined ? (encoding === 'json' ? [] : '') : encoding === 'json' ? (JSON.parse(data) as unknown[]) : data,
          };
          data = undefined;
          this.offset = c.streamNextOffset;
          yield chunk;
          if (chunk.closed) return;
        }
        // the broker ends each connection after a while (protocol 8.2): carry on from the last offset
      } catch (err) {
        if (signal.aborted) return;
        const e = err instanceof WebkaError ? err : new WebkaError('NETWORK_ERROR', String(err), { cause: err });
        if (!e.retriable) throw e;
        await sleep(backoffDelay(attempt++, this.#opts), signal).catch(() => undefined);
      }
    }
  }
}
