/**
 * The one place the SDK speaks HTTP: it joins paths to the base URL, adds the bearer token, sends
 * JSON (or bytes: the producer's RecordBatch bodies) and turns every non-2xx answer into a WebkaError. It retries nothing; callers decide (the
 * producer must retry with the same sequence, admin calls must not repeat a create blindly).
 *
 * Given several brokers of a cluster (any broker serves any request), it uses one at a time and
 * moves on to the next once a request could not reach it, timed out, or met a broker that cannot
 * serve (cut off from the cluster's coordination, or shutting down), so the caller's retry goes
 * to another broker.
 */
import { errorFromAnswer, networkError, WebkaError } from './errors.js';

export type FetchFn = typeof globalThis.fetch;

export interface HttpOptions {
  /** The broker's URL; in a cluster, several brokers' (an array, or one string with commas). */
  url: string | readonly string[];
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
  /**
   * Send to this broker (a partition's leader, from the cluster's metadata) instead of the
   * configured ones: no other broker is tried on a failure, which the caller handles.
   */
  baseUrl?: string;
}

/** Answers that say this broker cannot serve now while another may: the next request goes elsewhere. */
const MOVE_ON = new Set(['COORDINATION_UNAVAILABLE', 'SHUTTING_DOWN']);

export class HttpClient {
  readonly #urls: string[];
  #current = 0;
  #token: string | undefined;
  #fetch: FetchFn;
  #headers: Record<string, string>;

  constructor(opts: HttpOptions) {
    this.#urls = (typeof opts.url === 'string' ? opts.url.split(',') : [...opts.url]).map((u) => u.trim().replace(/\/+$/, '')).filter((u) => u !== '');
    if (this.#urls.length === 0) throw new TypeError('the SDK needs a broker URL');
    this.#token = opts.token;
    // Bound, so that a browser's window.fetch is not called with the wrong `this`.
    const f = opts.fetch ?? globalThis.fetch;
    this.#fetch = (input, init) => f(input, init);
    this.#headers = opts.headers ?? {};
  }

  /** The broker requests go to now. */
  get baseUrl(): string {
    return this.#urls[this.#current];
  }

  /** Every broker URL given, in order. */
  get urls(): readonly string[] {
    return this.#urls;
  }

  /** After `base` failed a request: the next request goes to the next broker (unless another request moved on already). */
  #moveOn(base: string): void {
    if (this.#urls.length > 1 && this.#urls[this.#current] === base) this.#current = (this.#current + 1) % this.#urls.length;
  }

  url(path: string, query?: RequestOptions['query'], base = this.baseUrl): string {
    let u = base + path;
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
    const pinned = opts.baseUrl !== undefined;
    let base = opts.baseUrl ?? this.baseUrl;
    let url = this.url(path, opts.query, base);
    for (let tried = 1; ; tried++) {
      try {
        res = await this.#fetch(url, { method, headers, body, signal: opts.signal, keepalive: opts.keepalive });
        break;
      } catch (err) {
        const e = abortOrNetworkError(err, opts.signal, url);
        if (pinned) throw e;
        if (e instanceof WebkaError) this.#moveOn(base);
        // a request that never left (nothing listens there) goes to the next broker at once: safe
        // for any request, the admin calls that are never retried included
        if (!(e instanceof WebkaError) || !neverSent(err) || tried >= this.#urls.length) throw e;
        base = this.baseUrl;
        url = this.url(path, opts.query);
      }
    }
    if (res.ok) return res;
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      if (!pinned) this.#moveOn(base);
      throw networkError(err, url);
    }
    const e = errorFromAnswer(res.status, text, res.headers.get('retry-after'));
    if (MOVE_ON.has(e.code) && !pinned) this.#moveOn(base);
    throw e;
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

/** Whether fetch failed before the request left: nothing listens at the address, or it does not resolve or route. */
function neverSent(err: unknown): boolean {
  const code = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH';
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
