/**
 * Waiting at a stream's tail for a long-poll read: parks on the stream's own partition
 * (Partition.waitForData, woken as its high watermark moves; DESIGN decision 3) and on the stream itself
 * (closure, deletion). A fork waits on its own partition only, so appends to its source never
 * wake it. SSE subscribers stay subscribed instead of waiting again per append (sse.ts).
 */
import type { StreamState, StreamStore } from './stream-store.js';

/** Resolves when the stream has data at `from`, closes or goes, after timeoutMs, or on abort. */
export async function waitAtTail(store: StreamStore, s: StreamState, from: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || s.gone || store.closedForReaders(s)) return;
  // one signal for the request's end and the stream's closure or removal
  const stop = new AbortController();
  const abort = (): void => stop.abort();
  signal.addEventListener('abort', abort, { once: true });
  const unwatch = s.watch(abort);
  try {
    const base = s.meta.fork?.offset ?? 0;
    await store.partition(s).waitForData(from - base, timeoutMs, stop.signal);
  } finally {
    unwatch();
    signal.removeEventListener('abort', abort);
  }
}

/** An AbortSignal that fires when the client goes away or the server shuts down. */
export function requestSignal(raw: { on(event: 'close', fn: () => void): unknown; writableFinished: boolean }, shutdown: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const ctl = new AbortController();
  const onClose = (): void => {
    if (!raw.writableFinished) ctl.abort();
  };
  const onShutdown = (): void => ctl.abort();
  raw.on('close', onClose);
  shutdown.addEventListener('abort', onShutdown, { once: true });
  if (shutdown.aborted) ctl.abort();
  return {
    signal: ctl.signal,
    dispose: () => shutdown.removeEventListener('abort', onShutdown),
  };
}
