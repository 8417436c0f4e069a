/**
 * A tiny JSON client over fetch for integration tests: every call returns the status, the
 * headers and the parsed body (or the raw text when it is not JSON), and never throws on 4xx/5xx.
 */
import assert from 'node:assert/strict';

export interface Answer<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface Rest {
  call<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer<T>>;
  get<T = any>(path: string): Promise<Answer<T>>;
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer<T>>;
  patch<T = any>(path: string, body?: unknown): Promise<Answer<T>>;
  del<T = any>(path: string): Promise<Answer<T>>;
}

export function rest(baseUrl: string): Rest {
  const call = async <T>(method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const res = await fetch(baseUrl + p, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  };
  return {
    call,
    get: (p) => call('GET', p),
    post: (p, b, h) => call('POST', p, b, h),
    patch: (p, b) => call('PATCH', p, b),
    del: (p) => call('DELETE', p),
  };
}

/** Asserts the one error shape and the status and code; returns the message. */
export function assertError(a: Answer, status: number, code: string): string {
  assert.equal(a.status, status, `expected ${status} ${code}, got ${a.status} ${a.text}`);
  assert.equal(typeof a.body, 'object', `error body is not JSON: ${a.text}`);
  assert.equal(a.body.error?.code, code, `expected code ${code}, got ${a.text}`);
  assert.equal(typeof a.body.error.message, 'string');
  assert.ok(a.body.error.message.length > 0);
  return a.body.error.message;
}

/** High watermarks of every partition of a topic, in order. */
export async function highWatermarks(api: Rest, cluster: string, topic: string): Promise<number[]> {
  const d = await api.get(`/v1/clusters/${cluster}/topics/${topic}`);
  assert.equal(d.status, 200, d.text);
  return d.body.partitionInfo.map((p: { highWatermark: number }) => p.highWatermark);
}
