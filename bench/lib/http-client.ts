/**
 * A minimal HTTP/1.1 keep-alive client for load generation: one request at a time per
 * connection, request bytes built once, responses framed by Content-Length or chunked encoding.
 * It does far less per request than fetch or node:http, so that on a 2-core machine the load
 * generator is not what limits the figure; the broker and its baselines get the same client.
 */
import net from 'node:net';

export interface Response {
  status: number;
  body: Buffer;
}

const CRLF2 = Buffer.from('\r\n\r\n');

/** The bytes of one request. */
export function buildRequest(method: string, host: string, path: string, body?: Buffer | string, contentType = 'application/json', headers: Record<string, string> = {}): Buffer {
  const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
  let head = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  if (payload !== undefined) head += `Content-Type: ${contentType}\r\nContent-Length: ${payload.length}\r\n`;
  head += '\r\n';
  return payload === undefined ? Buffer.from(head) : Buffer.concat([Buffer.from(head), payload]);
}

export class Connection {
  #socket: net.Socket;
  #buf: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (r: Response) => void; reject: (e: Error) => void } | null = null;
  #error: Error | null = null;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
      this.#tryParse();
    });
    const fail = (err: Error): void => {
      this.#error ??= err;
      const w = this.#waiting;
      this.#waiting = null;
      w?.reject(this.#error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static open(port: number, host = '127.0.0.1'): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host);
      s.once('connect', () => resolve(new Connection(s)));
      s.once('error', reject);
    });
  }

  /** Sends one request and resolves with its response. */
  send(request: Buffer): Promise<Response> {
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.write(request);
    });
  }

  #tryParse(): void {
    const buf = this.#buf;
    const headEnd = buf.indexOf(CRLF2);
    if (headEnd < 0) return;
    const head = buf.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let body: Buffer;
    let consumed: number;
    if (cl !== null) {
      const len = Number(cl[1]);
      if (buf.length < headEnd + 4 + len) return;
      body = buf.subarray(headEnd + 4, headEnd + 4 + len);
      consumed = headEnd + 4 + len;
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const parts: Buffer[] = [];
      let p = headEnd + 4;
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', p);
        if (lineEnd < 0) return;
        const size = parseInt(buf.toString('latin1', p, lineEnd), 16);
        if (buf.length < lineEnd + 2 + size + 2) return;
        if (size === 0) {
          consumed = lineEnd + 4;
          break;
        }
        parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        p = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      body = Buffer.alloc(0);
      consumed = headEnd + 4;
    }
    this.#buf = consumed === buf.length ? Buffer.alloc(0) : buf.subarray(consumed);
    const w = this.#waiting;
    this.#waiting = null;
    w?.resolve({ status, body });
  }

  close(): void {
    this.#socket.destroy();
  }
}

export interface ClosedLoopResult {
  /** Answers with the expected status in the timed window. */
  requests: number;
  /** Every answer, warm-up included (to divide a server's CPU time by). */
  total: number;
  /** Responses whose status was not the expected one. */
  failures: number;
  firstFailure?: string;
  seconds: number;
}

/**
 * `connections` connections each send `next()`'s request as soon as the previous answer arrives,
 * for `seconds` after a warm-up; counts the answers that arrived in the timed window.
 */
export async function closedLoop(opts: {
  port: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  next: (conn: number) => Buffer;
  expectStatus: number;
  onResponse?: (conn: number, r: Response) => void;
}): Promise<ClosedLoopResult> {
  const conns = await Promise.all(Array.from({ length: opts.connections }, () => Connection.open(opts.port)));
  const warmEnd = performance.now() + opts.warmupSeconds * 1000;
  const end = warmEnd + opts.seconds * 1000;
  let requests = 0;
  let total = 0;
  let failures = 0;
  let firstFailure: string | undefined;
  try {
    await Promise.all(
      conns.map(async (c, i) => {
        for (;;) {
          const r = await c.send(opts.next(i));
          const now = performance.now();
          total++;
          if (now > end) return;
          opts.onResponse?.(i, r);
          if (now < warmEnd) continue;
          if (r.status === opts.expectStatus) requests++;
          else {
            failures++;
            firstFailure ??= `${r.status} ${r.body.toString('utf8', 0, 300)}`;
          }
        }
      }),
    );
  } finally {
    for (const c of conns) c.close();
  }
  return { requests, total, failures, firstFailure, seconds: opts.seconds };
}
