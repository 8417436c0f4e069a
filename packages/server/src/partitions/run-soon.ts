/**
 * One setImmediate for every reader woken in a turn, rather than one each: an append to a
 * partition that a thousand streams follow wakes them all at once (Partition.subscribe). The
 * functions run in the order they were queued; one queued while the batch runs (a reader that
 * has more to read) runs in the next batch, a turn later, as it would with its own setImmediate.
 * Used by the SSE and WebSocket followers and by Durable Streams' SSE subscribers.
 */
let soon: Array<() => void> = [];

function runBatch(): void {
  const batch = soon;
  soon = [];
  for (const fn of batch) fn();
}

export function runSoon(fn: () => void): void {
  soon.push(fn);
  if (soon.length === 1) setImmediate(runBatch);
}
