/**
 * A small Server-Sent Events client for tests: fetch with Accept: text/event-stream, the body
 * parsed as the WHATWG HTML spec says (lines end in CRLF, LF or CR; a blank line dispatches;
 * "field: value" with one optional space; ":" starts a comment; `id` persists across events).
 * It keeps every raw field line so a test can see exactly what was on the wire.
 */
export interface SseMessage {
  event: string;
  data: string;
  /** The last event id at dispatch (as EventSource's lastEventId). */
  id: string;
}

export class SseClient {
  readonly status: number;
  readonly headers: Headers;
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  /** Every field name seen (to prove no record could add one). */
  readonly fields = new Set<string>();
  lastEventId = '';
  #abort: AbortController;
  #ended = false;
  #waiters: Array<() => void> = [];
  #buffer = '';
  #event = '';
  #data: string[] = [];

  private constructor(res: Response, abort: AbortController) {
    this.status = res.status;
    this.headers = res.headers;
    this.#abort = abort;
  }

  /** Opens a stream; for a non-2xx answer, `errorBody` holds the parsed body and nothing is read. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient & { errorBody?: any }> {
    const abort = new AbortController();
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
    const client = new SseClient(res, abort) as SseClient & { errorBody?: any };
    if (!res.ok || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      const text = await res.text();
      try {
        client.errorBody = JSON.parse(text);
      } catch {
        client.errorBody = text;
      }
      client.#ended = true;
      return client;
    }
    void client.#pump(res.body!);
    return client;
  }

  get ended(): boolean {
    return this.#ended;
  }

  async #pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    const reader = body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.#feed(decoder.decode(value, { stream: true }));
      }
    } catch {
      // aborted by close(), or the connection dropped
    } finally {
      this.#ended = true;
      this.#wake();
    }
  }

  #feed(text: string): void {
    this.#buffer += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.#buffer);
      if (m === null) break;
      // a lone CR at the end may be the first half of CRLF: wait for more
      if (m[0] === '\r' && m.index === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(0, m.index);
      this.#buffer = this.#buffer.slice(m.index + m[0].length);
      this.#line(line);
    }
    this.#wake();
  }

  #line(line: string): void {
    if (line === '') {
      if (this.#data.length > 0) {
        this.messages.push({ event: this.#event || 'message', data: this.#data.join('\n'), id: this.lastEventId });
      }
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trim());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.fields.add(field);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }

  /** Resolves when pred holds (checked after every chunk) or rejects after timeoutMs. */
  async until(pred: (c: SseClient) => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this)) {
      if (this.#ended) throw new Error(`stream ended before ${what} (${this.messages.length} events)`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (${this.messages.length} events)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Records received so far (event: record), parsed. */
  records(): any[] {
    return this.messages.filter((m) => m.event === 'record').map((m) => JSON.parse(m.data));
  }

  /** Waits until the stream has ended (the broker closed it). */
  waitEnd(timeoutMs = 5000): Promise<void> {
    return this.until((c) => c.ended, timeoutMs, 'the end of the stream');
  }

  close(): void {
    this.#abort.abort();
  }
}

/**
 * Test teardown for brokers that served aborted fetches: undici opens a spare connection when a
 * fetch is aborted, and a connection that never sends a request holds the server's close until
 * its keep-alive timeout. Teardown does not need a graceful end, so drop every connection first.
 */
export async function closeBroker(broker: { server: { app: { server: { closeAllConnections(): void } } }; close(): Promise<void> }): Promise<void> {
  broker.server.app.server.closeAllConnections();
  await broker.close();
}
