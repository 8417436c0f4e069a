/**
 * The replica-fetch channel: one WebSocket from a follower broker to a leader broker, carrying the
 * follower's fetches for every partition it follows there and the leader's answers, instead of
 * one HTTP request per fetch. Under load a follower sends a fetch per partition every few
 * milliseconds, and the leader answers each; over HTTP each exchange cost both brokers a request's
 * parsing, routing, authentication and headers, which on a small machine took the cores the
 * leader needs for its clients (decision 0012). What a fetch asks and answers is the same as it
 * was over HTTP, by the same rules on the leader (ReplicaManager.leaderFetch).
 *
 *   follower -> leader   text frame   {"id","topicId","partition","offset","durableEnd","leaderEpoch","maxWaitMs","maxBytes"}
 *   leader -> follower   binary frame u32 BE n | n bytes of JSON header | the batches as stored
 *                        header {"id","highWatermark","logEndOffset","leaderEpoch"}
 *                            or {"id","error":{"code","message"}}
 *
 * Several fetches are in flight on one channel at once (one per partition); the answers come back
 * in any order, matched by id. The channel is opened with the inter-broker credential at the
 * upgrade (GET /v1/internal/replicas/channel?replica=N, broker permission), and a closed channel
 * fails its fetches in flight: the fetcher retries, which opens a new one.
 *
 * A leader that has no channel (a broker of an earlier version, during a rolling upgrade) answers
 * the upgrade with 404: the follower then sends its fetches to that broker as HTTP requests (GET
 * /v1/internal/replicas/:topicId/:partition/fetch, which every version serves) and tries the
 * channel again a minute later.
 */
import { WebSocket, type RawData } from 'ws';
import { WebkaError } from '../errors.js';
import { brokerGet, jsonOf } from './broker-http.js';

export interface ChannelFetch {
  topicId: string;
  partition: number;
  offset: number;
  durableEnd: number;
  leaderEpoch: number;
  maxWaitMs: number;
  maxBytes: number;
}

export interface ChannelAnswer {
  highWatermark: number;
  logEndOffset: number;
  leaderEpoch: number;
  data: Buffer;
}

/** The leader has no replica channel (404 to the upgrade): a broker of an earlier version. */
class ChannelUnavailable extends Error {}

/** How long a follower fetches over HTTP from a leader that had no channel before it tries the channel again. */
const HTTP_ONLY_MS = 60_000;

/** A fetch the leader refused, with its error code (NOT_LEADER, OFFSET_OUT_OF_RANGE, ...). */
export class ChannelFetchError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** The largest answer a follower takes (a fetch's maxBytes is at most 64 MiB, plus the header). */
const MAX_ANSWER_BYTES = (64 << 20) + (1 << 16);
const COUNT_MAX = 999_999_999_999_999;
/** How often each side pings an open channel; a side not heard from for one period is taken for dead. */
export const HEARTBEAT_MS = 5_000;

/** The leader's reading of a fetch frame: the fetch, or a WebkaError that says what is wrong with it. */
export function parseChannelFetch(text: string): { id: number; fetch: ChannelFetch } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new WebkaError('INVALID_REQUEST', 'a replica channel frame is one JSON object');
  }
  const o = v as Record<string, unknown>;
  const count = (name: string): number => {
    const n = o?.[name];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > COUNT_MAX) throw new WebkaError('INVALID_REQUEST', `a replica fetch's "${name}" is a whole number from 0`);
    return n;
  };
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new WebkaError('INVALID_REQUEST', 'a replica channel frame is one JSON object');
  const id = count('id');
  if (typeof o.topicId !== 'string' || o.topicId.length === 0 || o.topicId.length > 64) throw new WebkaError('INVALID_REQUEST', 'a replica fetch\'s "topicId" is a topic id');
  return {
    id,
    fetch: {
      topicId: o.topicId,
      partition: count('partition'),
      offset: count('offset'),
      durableEnd: count('durableEnd'),
      leaderEpoch: count('leaderEpoch'),
      maxWaitMs: Math.min(count('maxWaitMs'), 30_000),
      maxBytes: Math.min(Math.max(count('maxBytes'), 1024), 64 << 20),
    },
  };
}

/** The leader's answer frame: a header and the batches (see the file's comment). */
export function encodeChannelAnswer(header: Record<string, unknown>, data?: Buffer): Buffer {
  const h = JSON.stringify(header);
  const n = Buffer.byteLength(h);
  const out = Buffer.allocUnsafe(4 + n + (data?.length ?? 0));
  out.writeUInt32BE(n, 0);
  out.write(h, 4, 'utf8');
  data?.copy(out, 4 + n);
  return out;
}

function decodeAnswer(frame: Buffer): { id: number; answer?: ChannelAnswer; error?: { code: string; message: string } } {
  const n = frame.length >= 4 ? frame.readUInt32BE(0) : -1;
  if (n < 0 || 4 + n > frame.length) throw new Error('a replica channel answer is shorter than its header');
  const h = JSON.parse(frame.toString('utf8', 4, 4 + n)) as { id: number; highWatermark?: number; logEndOffset?: number; leaderEpoch?: number; error?: { code: string; message: string } };
  if (h.error !== undefined) return { id: h.id, error: h.error };
  return { id: h.id, answer: { highWatermark: h.highWatermark ?? Number.NaN, logEndOffset: h.logEndOffset ?? Number.NaN, leaderEpoch: h.leaderEpoch ?? Number.NaN, data: frame.subarray(4 + n) } };
}

/** What a leader's refusal (of the channel's upgrade, or of an HTTP fetch) says, for the follower's warning. */
function refusal(status: number, body: Buffer): { code: string | undefined; message: string } {
  const error = jsonOf<{ error?: { code?: string; message?: string } }>({ body })?.error;
  const hint = status === 401 || status === 403 ? ' (is interBrokerSecret the same on every broker?)' : '';
  return { code: error?.code, message: `${status} ${error?.code ?? ''}: ${error?.message ?? ''}${hint}` };
}

interface Pending {
  resolve(a: ChannelAnswer): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** A follower's channel to one leader broker (by URL). */
class Channel {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #open: Promise<void>;
  #openFailed: (err: Error) => void = () => undefined;
  #nextId = 1;
  #closedWith: Error | null = null;
  /** Whether the leader was heard from (an answer or a pong) since the last ping. */
  #heard = true;
  #beat: NodeJS.Timeout | null = null;

  constructor(url: string, replica: number, headers: Record<string, string>, onClose: () => void) {
    const target = new URL(`/v1/internal/replicas/channel?replica=${replica}`, url);
    target.protocol = target.protocol === 'https:' ? 'wss:' : 'ws:';
    this.#ws = new WebSocket(target, { headers, perMessageDeflate: false, maxPayload: MAX_ANSWER_BYTES, handshakeTimeout: 10_000 });
    this.#open = new Promise((resolve, reject) => {
      this.#openFailed = reject;
      this.#ws.once('open', () => {
        // a channel with no fetch in flight (its partitions moved to other leaders) still learns
        // that its link died, so that a fetch made on it later is not the first to wait out a timeout
        this.#beat = setInterval(() => {
          if (!this.#heard) {
            this.#fail(new Error(`no answer to a ping on the replica channel in ${HEARTBEAT_MS} ms`));
            return;
          }
          this.#heard = false;
          this.#ws.ping();
        }, HEARTBEAT_MS).unref();
        resolve();
      });
      this.#ws.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const message = `the leader refused the replica channel: ${refusal(res.statusCode ?? 0, Buffer.concat(chunks)).message}`;
          this.#fail(res.statusCode === 404 ? new ChannelUnavailable(message) : new Error(message));
        });
      });
    });
    this.#open.catch(() => undefined);
    this.#ws.on('message', (data: RawData, binary: boolean) => this.#onAnswer(data as Buffer, binary));
    this.#ws.on('pong', () => (this.#heard = true));
    this.#ws.on('error', (err) => this.#fail(err));
    this.#ws.on('close', (code, reason) => {
      this.#fail(new Error(`the replica channel closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`));
      onClose();
    });
  }

  get closed(): boolean {
    return this.#closedWith !== null;
  }

  #onAnswer(frame: Buffer, binary: boolean): void {
    this.#heard = true;
    let got: ReturnType<typeof decodeAnswer>;
    try {
      if (!binary) throw new Error('a replica channel answer is a binary frame');
      got = decodeAnswer(frame);
    } catch (err) {
      this.#fail(err as Error);
      this.#ws.terminate();
      return;
    }
    const p = this.#pending.get(got.id);
    if (p === undefined) return; // timed out or aborted meanwhile
    this.#pending.delete(got.id);
    clearTimeout(p.timer);
    if (got.error !== undefined) p.reject(new ChannelFetchError(got.error.code, got.error.message));
    else p.resolve(got.answer!);
  }

  #fail(err: Error): void {
    this.#closedWith ??= err;
    this.#openFailed(this.#closedWith);
    if (this.#beat !== null) clearInterval(this.#beat);
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.#closedWith);
    }
    this.#pending.clear();
    if (this.#ws.readyState === WebSocket.CONNECTING || this.#ws.readyState === WebSocket.OPEN) this.#ws.terminate();
  }

  async fetch(req: ChannelFetch, signal: AbortSignal, timeoutMs: number): Promise<ChannelAnswer> {
    // a fetcher stopped while the channel opens (its leader unreachable: the handshake takes up to
    // 10 s to fail) stops at once, as its HTTP request would
    await new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = (): void => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      const off = (): void => signal.removeEventListener('abort', onAbort);
      this.#open.then(() => (off(), resolve()), (err: unknown) => (off(), reject(err as Error)));
    });
    if (this.#closedWith !== null) throw this.#closedWith;
    signal.throwIfAborted();
    const id = this.#nextId++;
    return new Promise<ChannelAnswer>((resolve, reject) => {
      const onAbort = (): void => {
        if (this.#pending.delete(id)) {
          clearTimeout(timer);
          reject(signal.reason as Error);
        }
      };
      // no answer in time: the channel is taken for dead (a partitioned link gives no error) and
      // closed, and every fetch on it is tried again on a new one
      const timer = setTimeout(() => this.#fail(new Error(`no answer on the replica channel in ${timeoutMs} ms`)), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      const done = <T>(f: (v: T) => void) => (v: T): void => {
        signal.removeEventListener('abort', onAbort);
        f(v);
      };
      this.#pending.set(id, { resolve: done(resolve), reject: done(reject), timer });
      this.#ws.send(JSON.stringify({ id, ...req }));
    });
  }

  close(): void {
    this.#fail(new Error('the replica channel was closed by its broker'));
  }
}

/** A follower broker's channels, one per leader URL, opened on first use and again after a close. */
export class ReplicaChannels {
  readonly #channels = new Map<string, Channel>();
  /** Leaders without a channel, by URL: until when their fetches go over HTTP. */
  readonly #noChannelUntil = new Map<string, number>();

  constructor(
    readonly nodeId: number,
    readonly headers: Record<string, string>,
    /** DEBUG ONLY: fetch over HTTP alone, as a broker of an earlier version (the rolling-upgrade test). */
    readonly httpOnly = false,
  ) {}

  async fetch(leaderUrl: string, req: ChannelFetch, signal: AbortSignal, timeoutMs: number): Promise<ChannelAnswer> {
    if (this.httpOnly) return this.#httpFetch(leaderUrl, req, signal, timeoutMs);
    const until = this.#noChannelUntil.get(leaderUrl);
    if (until !== undefined) {
      if (Date.now() < until) return this.#httpFetch(leaderUrl, req, signal, timeoutMs);
      this.#noChannelUntil.delete(leaderUrl);
    }
    let c = this.#channels.get(leaderUrl);
    if (c === undefined || c.closed) {
      const fresh: Channel = new Channel(leaderUrl, this.nodeId, this.headers, () => {
        if (this.#channels.get(leaderUrl) === fresh) this.#channels.delete(leaderUrl);
      });
      c = fresh;
      this.#channels.set(leaderUrl, c);
    }
    try {
      return await c.fetch(req, signal, timeoutMs);
    } catch (err) {
      if (!(err instanceof ChannelUnavailable)) throw err;
      this.#noChannelUntil.set(leaderUrl, Date.now() + HTTP_ONLY_MS);
      return this.#httpFetch(leaderUrl, req, signal, timeoutMs);
    }
  }

  /** The same fetch as an HTTP request, for a leader without the channel. */
  async #httpFetch(leaderUrl: string, req: ChannelFetch, signal: AbortSignal, timeoutMs: number): Promise<ChannelAnswer> {
    const q = new URLSearchParams({ offset: String(req.offset), replica: String(this.nodeId), durableEnd: String(req.durableEnd), leaderEpoch: String(req.leaderEpoch), maxWaitMs: String(req.maxWaitMs), maxBytes: String(req.maxBytes) });
    const res = await brokerGet(`${leaderUrl}/v1/internal/replicas/${req.topicId}/${req.partition}/fetch?${q}`, this.headers, signal, timeoutMs);
    if (res.status !== 200) {
      const r = refusal(res.status, res.body);
      throw new ChannelFetchError(r.code ?? String(res.status), r.message);
    }
    const header = (name: string): number => Number(res.headers[name] ?? Number.NaN);
    return { highWatermark: header('x-webka-high-watermark'), logEndOffset: header('x-webka-log-end-offset'), leaderEpoch: header('x-webka-leader-epoch'), data: res.body };
  }

  close(): void {
    for (const c of this.#channels.values()) c.close();
    this.#channels.clear();
  }
}
