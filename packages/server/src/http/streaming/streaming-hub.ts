/**
 * What all streams of one app share: the limits on SSE streams and WebSockets, the one heartbeat
 * timer (a timer per stream would cost memory per idle stream; this one runs only while a stream
 * is open), and the shutdown that ends them all. One hub per app, made on first use by
 * streamingHub(app.webka); it lives as long as the app.
 */
import type { FastifyReply } from 'fastify';
import type { AppContext } from '../app.js';
import { StreamLimits } from './stream-limits.js';
import { SseStream } from './sse-stream.js';
import type { GroupSubscriber } from './ws-session.js';

/** Something open that the broker's shutdown must end (an SSE stream, a WebSocket session). */
export interface Closable {
  shutdown(): void;
}

export class StreamingHub {
  readonly sseLimits: StreamLimits;
  readonly wsLimits: StreamLimits;
  readonly config: AppContext['config'];
  /** Set when the group coordinator is there (index.ts provideGroupCoordinator). */
  groups: GroupSubscriber | null = null;
  #sse = new Set<SseStream>();
  #others = new Set<Closable>();
  #heartbeat: NodeJS.Timeout | null = null;
  #stopping = false;

  constructor(ctx: AppContext) {
    const c = ctx.config;
    this.config = c;
    this.sseLimits = new StreamLimits('SSE streams', c.maxStreams, c.maxStreamsPerAddress, { max: 'maxStreams', perAddress: 'maxStreamsPerAddress' });
    this.wsLimits = new StreamLimits('WebSockets', c.maxWebSockets, c.maxStreamsPerAddress, { max: 'maxWebSockets', perAddress: 'maxStreamsPerAddress' });
    ctx.shutdown.addEventListener('abort', () => this.#shutdown(), { once: true });
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Open SSE streams (for tests and metrics). */
  get sseStreams(): ReadonlySet<SseStream> {
    return this.#sse;
  }

  /**
   * Takes a slot under the SSE limits (429 past them), takes the response over and registers the
   * stream; the slot is given back when the stream closes. Nothing is streamed before it passes.
   */
  openSseStream(clientAddress: string, reply: FastifyReply): SseStream {
    const release = this.sseLimits.acquire(clientAddress);
    let stream: SseStream;
    try {
      stream = SseStream.open(reply);
    } catch (e) {
      release();
      throw e;
    }
    stream.onClose(release);
    this.addStream(stream);
    return stream;
  }

  /** Keeps a stream's heartbeat going and ends it at shutdown, until it closes. */
  addStream(stream: SseStream): void {
    this.#sse.add(stream);
    stream.onClose(() => {
      this.#sse.delete(stream);
      if (this.#sse.size === 0 && this.#heartbeat !== null) {
        clearInterval(this.#heartbeat);
        this.#heartbeat = null;
      }
    });
    if (this.#heartbeat === null && !stream.ended) {
      this.#heartbeat = setInterval(() => {
        for (const s of this.#sse) s.ping();
      }, this.config.heartbeatIntervalMs).unref();
    }
  }

  /** Other open things (WebSocket sessions), for tests and metrics. */
  get closables(): ReadonlySet<Closable> {
    return this.#others;
  }

  /** Ends `c` at shutdown; the returned function forgets it. */
  addClosable(c: Closable): () => void {
    this.#others.add(c);
    return () => this.#others.delete(c);
  }

  #shutdown(): void {
    this.#stopping = true;
    for (const s of [...this.#sse]) s.end();
    for (const c of [...this.#others]) c.shutdown();
  }
}

const hubs = new WeakMap<AppContext, StreamingHub>();

export function streamingHub(ctx: AppContext): StreamingHub {
  let hub = hubs.get(ctx);
  if (hub === undefined) hubs.set(ctx, (hub = new StreamingHub(ctx)));
  return hub;
}
