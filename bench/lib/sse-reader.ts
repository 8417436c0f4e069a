/**
 * A raw-socket SSE reader for the fan-out benchmarks: as cheap a client as possible, so that the
 * benchmark process takes little of the CPU it shares with the server. It scans what arrives for
 * send-time marks (`<open><ms since the epoch><close>` inside each event's data) and reports each
 * one's latency; it parses nothing else.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export const now = (): number => performance.timeOrigin + performance.now();

export interface Marks {
  open: string;
  close: string;
}

/** Resolves with the socket once the server answered 200; rejects on any other answer. */
export function openSseReader(port: number, path: string, marks: Marks, onLatency: (ms: number) => void): Promise<net.Socket> {
  const { open, close } = marks;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setEncoding('latin1');
    let head = true;
    let tail = '';
    socket.once('error', reject);
    socket.on('data', (chunk: string) => {
      let text = tail.length > 0 ? tail + chunk : chunk;
      if (head) {
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return void (tail = text);
        if (!text.startsWith('HTTP/1.1 200')) return reject(new Error(`stream refused: ${text.slice(0, 200)}`));
        head = false;
        resolve(socket);
        text = text.slice(end + 4);
      }
      const at = now();
      let i = 0;
      let cut = false;
      for (;;) {
        const j = text.indexOf(open, i);
        if (j < 0) break;
        const k = text.indexOf(close, j + open.length);
        if (k < 0) {
          // a mark cut by the end of the chunk: keep it for the next one
          i = j;
          cut = true;
          break;
        }
        onLatency(at - Number(text.slice(j + open.length, k)));
        i = k + close.length;
      }
      // keep what could be the start of a mark cut inside `open` itself
      tail = cut ? text.slice(i) : text.slice(Math.max(i, text.length - (open.length - 1)));
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n`);
  });
}
