/**
 * SSE readers in their own process (startSseReaders in children.ts): the fan-out benchmarks'
 * subscribers, so that scanning a million events a second is not done on the event loop that
 * also times them and sends the appends, and so that their CPU time can be told apart from the
 * broker's (cpuSeconds of this child). Commands over IPC, each answered with { id, ... }:
 *   open   { port, path, n, marks }  opens n raw-socket readers (sse-reader.ts); answers when all are streaming
 *   reset                           forgets the latencies counted so far
 *   stats                           { count, p50, p99 } of the latencies since the last reset
 *   close                           destroys every reader
 */
import type net from 'node:net';
import { percentile } from './measure.js';
import { openSseReader, type Marks } from './sse-reader.js';

type Command =
  | { id: number; cmd: 'open'; port: number; path: string; n: number; marks: Marks }
  | { id: number; cmd: 'reset' | 'stats' | 'close' };

let sockets: net.Socket[] = [];
let latencies = new Float64Array(1 << 20);
let count = 0;

const record = (ms: number): void => {
  if (count === latencies.length) {
    const bigger = new Float64Array(latencies.length * 2);
    bigger.set(latencies);
    latencies = bigger;
  }
  latencies[count++] = ms;
};

async function handle(c: Command): Promise<Record<string, unknown>> {
  switch (c.cmd) {
    case 'open': {
      const opened = await Promise.all(Array.from({ length: c.n }, () => openSseReader(c.port, c.path, c.marks, record)));
      sockets.push(...opened);
      return { open: sockets.length };
    }
    case 'reset':
      count = 0;
      return {};
    case 'stats': {
      const sorted = latencies.slice(0, count).sort();
      return { count, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
    }
    case 'close':
      for (const s of sockets) s.destroy();
      sockets = [];
      return {};
  }
}

process.on('message', (c: Command) => {
  handle(c).then(
    (r) => process.send!({ id: c.id, ...r }),
    (err: Error) => process.send!({ id: c.id, error: err.stack ?? err.message }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
