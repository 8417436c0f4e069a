/**
 * Guards the raw server against clients that hold connections without using them. Counts open
 * connections in total and per address (a connection over either cap is closed before its first
 * byte is read), and once a second looks for two kinds of squatters:
 *  - slow readers: a connection with answer bytes waiting whose reader took none of them for
 *    slowReaderTimeoutMs (it would otherwise pin the answer's memory forever);
 *  - slow bodies: a request body arriving slower than minBodyBytesPerSec once slowBodyGraceMs
 *    has passed (slowloris on the body; Node's headersTimeout covers the headers).
 *  - idle connections: no byte either way for idleTimeoutMs (Node's own server.timeout does
 *    not close a connection that never sent a byte, so this is done here).
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  slowReaderTimeoutMs: number;
  minBodyBytesPerSec: number;
  slowBodyGraceMs: number;
  idleTimeoutMs: number;
}

interface Watched {
  flushed: number;
  stalledSince: number;
  traffic: number;
  activeAt: number;
}

interface Upload {
  socket: Socket;
  startBytes: number;
  startedAt: number;
  onTooSlow: () => void;
}

export class ConnectionGuard {
  #limits: ConnectionLimits;
  #sockets = new Map<Socket, Watched>();
  #byAddress = new Map<string, number>();
  #uploads = new Set<Upload>();
  #timer: NodeJS.Timeout;
  /** Counters read by /metrics. */
  readonly closed = { overLimit: 0, slowReader: 0, slowBody: 0, idle: 0 };

  constructor(server: Server, limits: ConnectionLimits) {
    this.#limits = limits;
    server.on('connection', (socket: Socket) => this.#onConnection(socket));
    this.#timer = setInterval(() => this.#sweep(Date.now()), 1_000);
    this.#timer.unref();
  }

  get open(): number {
    return this.#sockets.size;
  }

  #onConnection(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const fromAddress = this.#byAddress.get(address) ?? 0;
    if (this.#sockets.size >= this.#limits.maxConnections || fromAddress >= this.#limits.maxConnectionsPerAddress) {
      this.closed.overLimit++;
      socket.destroy();
      return;
    }
    this.#byAddress.set(address, fromAddress + 1);
    this.#sockets.set(socket, { flushed: 0, stalledSince: 0, traffic: 0, activeAt: Date.now() });
    socket.once('close', () => {
      this.#sockets.delete(socket);
      const n = (this.#byAddress.get(address) ?? 1) - 1;
      if (n <= 0) this.#byAddress.delete(address);
      else this.#byAddress.set(address, n);
    });
  }

  /**
   * Watches a request body upload until `done` is called; onTooSlow runs (once) if it falls below
   * the minimum rate. Uses the socket's byte counter, so the body stream itself is not touched.
   */
  watchUpload(socket: Socket, onTooSlow: () => void): () => void {
    if (this.#limits.minBodyBytesPerSec <= 0) return () => undefined;
    const u: Upload = { socket, startBytes: socket.bytesRead, startedAt: Date.now(), onTooSlow };
    this.#uploads.add(u);
    return () => this.#uploads.delete(u);
  }

  #sweep(now: number): void {
    for (const [socket, w] of this.#sockets) {
      const traffic = socket.bytesRead + socket.bytesWritten;
      const moved = traffic !== w.traffic;
      if (moved) {
        w.traffic = traffic;
        w.activeAt = now;
      }
      // A reader that stopped reading is checked first: when a sweep comes late (a busy event
      // loop) and finds both limits passed, it was the answers waiting unread that held it.
      const pending = socket.writableLength;
      if (pending === 0) {
        w.stalledSince = 0;
      } else {
        const flushed = socket.bytesWritten - pending;
        if (flushed !== w.flushed || w.stalledSince === 0) {
          w.flushed = flushed;
          w.stalledSince = now;
        } else if (now - w.stalledSince >= this.#limits.slowReaderTimeoutMs) {
          this.closed.slowReader++;
          socket.destroy();
          continue;
        }
      }
      if (!moved && now - w.activeAt >= this.#limits.idleTimeoutMs) {
        this.closed.idle++;
        socket.destroy();
      }
    }
    for (const u of this.#uploads) {
      const elapsed = now - u.startedAt;
      if (elapsed < this.#limits.slowBodyGraceMs) continue;
      if (u.socket.destroyed) {
        this.#uploads.delete(u);
        continue;
      }
      if (((u.socket.bytesRead - u.startBytes) * 1000) / elapsed < this.#limits.minBodyBytesPerSec) {
        this.#uploads.delete(u);
        this.closed.slowBody++;
        u.onTooSlow();
      }
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
