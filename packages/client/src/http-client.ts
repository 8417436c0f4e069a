/**
 * The one place the SDK speaks HTTP: it joins paths to the base URL, adds the bearer token, sends
 * JSON (or bytes: the producer's RecordBatch bodies) and turns every non-2xx answer into a WebkaError. It retries nothing; callers decide (the
 * producer must retry with the same sequence, admin calls must not repeat a create blindly).
 */
import { errorFromAnswer, networkError, WebkaError } from './errors.js';

export type FetchFn = typeof globalThis.fetch;

export interface HttpOptions {
  url: string;
  token?: string;
  fetch?: FetchFn;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
  keepalive?: boolean;
  headers?: Record<string, string>;
}

export class HttpClient {
  readonly baseUrl: string;
  #token: string | undefined;
  #fetch: FetchFn;
  #headers: Record<string, string>;

  constructor(opts: HttpOptions) {
    this.baseUrl = opts.url.replace(/\/+$/, '');
    this.#token = opts.token;
    // Bound, so that a browser's window.fetch is not called with the wrong `this`.
    const f = opts.fetch ?? globalThis.fetch;
    this.#fetch = (input, init) => f(input, init);
    this.#headers = opts.headers ?? {};
  }

  url(path: string, query?: RequestOptions['query']): string {
    let u = this.baseUrl + path;
    if (query !== undefined) {
      const parts: string[] = [];
      for (const [k, v] of Object.entries(query)) if (v !== undefined) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
      if (parts.length > 0) u += (u.includes('?') ? '&' : '?') + parts.join('&');
    }
    return u;
  }

  headers(extra?: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { ...this.#headers, ...extra };
    if (this.#token !== undefined && this.#token !== '') h.authorization = `Bearer ${this.#token}`;
    return h;
  }

  /** Sends a request and returns the raw Response when it is 2xx; throws WebkaError otherwise. */
  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers = this.headers(opts.headers);
    let body: BodyInit | undefined;
    if (opts.body instanceof Uint8Array) {
      // bytes go as they are, with the content type the caller names
      body = opts.body as Uint8Array<ArrayBuffer>;
      headers['content-type'] ??= 'application/octet-stream';
    } else if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    const url = this.url(path, opts.query);
    try {
      res = await this.#fetch(url, { method, headers, body, signal: opts.signal, keepalive: opts.keepalive });
    } catch (err) {
      throw abortOrNetworkError(err, opts.signal, url);
    }
    if (res.ok) return res;
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw networkError(err, url);
    }
    throw errorFromAnswer(res.status, text, res.headers.get('retry-after'));
  }

  /** Sends a request and parses the JSON answer (undefined for 204). */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const text = await this.text(method, path, opts);
    return (text.length === 0 ? undefined : JSON.parse(text)) as T;
  }

  /** Sends a request and reads the whole 2xx answer as text. */
  async text(method: string, path: string, opts: RequestOptions = {}): Promise<string> {
    const res = await this.raw(method, path, opts);
    try {
      return await res.text();
    } catch (err) {
      throw abortOrNetworkError(err, opts.signal);
    }
  }
}

/** Encodes one path segment (names are [a-zA-Z0-9._-], but a member id may not be). */
export const seg = (s: string | number): string => encodeURIComponent(String(s));

/**
 * What fetch threw, as the caller should see it: a timeout signal (AbortSignal.timeout) becomes a
 * retriable TIMEOUT; the caller's own abort passes through unchanged; anything else is a network
 * error.
 */
export function abortOrNetworkError(err: unknown, signal: AbortSignal | undefined, url?: string): unknown {
  if (signal?.aborted === true) {
    const reason = signal.reason as { name?: string } | undefined;
    if (reason?.name === 'TimeoutError') return new WebkaError('TIMEOUT', 'the broker did not answer in time', { cause: err });
    return err;
  }
  return networkError(err, url, url !== undefined);
}
