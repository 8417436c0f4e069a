/**
 * Reads Server-Sent Events from a fetch Response body, as the WHATWG HTML standard's
 * "event stream interpretation" describes: lines end in CRLF, LF or CR; "field: value" with one
 * optional space after the colon; lines starting with ":" are comments (the broker's heartbeats);
 * a blank line dispatches the event; `data` lines join with "\n"; an `id` containing NUL is
 * ignored. fetch is used instead of EventSource because it can send Authorization and runs
 * wherever fetch does (Node has no EventSource before 22).
 */
export interface SseMessage {
  event: string;
  data: string;
  /** The last `id:` seen on the stream so far (ids persist across events, as in EventSource). */
  id: string | undefined;
}

export async function* readSse(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let event = '';
  let data: string[] = [];
  let lastId: string | undefined;
  const onAbort = (): void => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let start = 0;
      for (;;) {
        // Find the next line end: \n, \r\n or \r (a \r at the very end may be half of \r\n).
        let i = start;
        while (i < buf.length && buf.charCodeAt(i) !== 10 && buf.charCodeAt(i) !== 13) i++;
        if (i >= buf.length) break;
        if (buf.charCodeAt(i) === 13 && i + 1 >= buf.length) break;
        const line = buf.slice(start, i);
        start = buf.charCodeAt(i) === 13 && buf.charCodeAt(i + 1) === 10 ? i + 2 : i + 1;
        if (line.length === 0) {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id: lastId };
          event = '';
          data = [];
          continue;
        }
        if (line.charCodeAt(0) === 58) continue; // ":" comment
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let v = colon < 0 ? '' : line.slice(colon + 1);
        if (v.charCodeAt(0) === 32) v = v.slice(1);
        if (field === 'event') event = v;
        else if (field === 'data') data.push(v);
        else if (field === 'id' && !v.includes('\0')) lastId = v;
      }
      buf = buf.slice(start);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.releaseLock?.();
    await body.cancel().catch(() => undefined);
  }
}
