/**
 * A signal for a request's long wait (a long poll, a follower's fetch, a group read): aborted
 * when the client's connection closes, when the broker shuts down, or at once when the
 * connection had closed before the handler ran (its close event is gone by then). release()
 * removes the listeners; call it when the wait is over.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export function clientGone(request: FastifyRequest, reply: FastifyReply, shutdown: AbortSignal): { signal: AbortSignal; release(): void } {
  const abort = new AbortController();
  const onAbort = (): void => abort.abort();
  reply.raw.once('close', onAbort);
  shutdown.addEventListener('abort', onAbort, { once: true });
  if (request.raw.socket.destroyed || shutdown.aborted) abort.abort();
  return {
    signal: abort.signal,
    release: () => {
      reply.raw.off('close', onAbort);
      shutdown.removeEventListener('abort', onAbort);
    },
  };
}
