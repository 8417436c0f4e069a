/**
 * The HTTP client of the brokers' frequent reads from each other (a group coordinator's reads of
 * partitions it does not lead, a follower's question where an epoch ends, and the client requests
 * a broker forwards to a leader or a coordinator): requests over node:http(s) with one keep-alive
 * agent per process, answered with the status, the headers and the whole body as bytes. Through fetch() each read cost about twice the CPU, spent building
 * WHATWG streams, Request and Response objects and abort signals that these callers do not need.
 * (A follower's fetches go over its replica channel: replica-channel.ts.)
 */
import http from 'node:http';
import https from 'node:https';

/**
 * An idle kept-alive connection is closed here after IDLE_MS, before the other broker's server
 * closes it (keepAliveTimeoutMs, 72 s by default, and Node's own default of 5 s is rarely gone
 * under): a request sent on a connection that the other side is closing at that moment fails,
 * and a forwarded client request would be refused for it.
 */
const IDLE_MS = 4_000;
const agents = { 'http:': new http.Agent({ keepAlive: true, timeout: IDLE_MS }), 'https:': new https.Agent({ keepAlive: true, timeout: IDLE_MS }) };

export interface BrokerAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** GETs `url`; rejects on a network error, when `signal` aborts, or after `timeoutMs` without the whole answer. */
export function brokerGet(url: string, headers: Record<string, string>, signal: AbortSignal, timeoutMs: number): Promise<BrokerAnswer> {
  return brokerCall('GET', url, headers, undefined, signal, timeoutMs);
}

/** POSTs `body` to `url`; rejects on a network error, or after `timeoutMs` without the whole answer. */
export function brokerPost(url: string, headers: Record<string, string>, body: string | Buffer, timeoutMs: number): Promise<BrokerAnswer> {
  return brokerCall('POST', url, headers, body, undefined, timeoutMs);
}

async function brokerCall(method: string, url: string, headers: Record<string, string>, body: string | Buffer | undefined, signal: AbortSignal | undefined, timeoutMs: number): Promise<BrokerAnswer> {
  const late = AbortSignal.timeout(timeoutMs);
  try {
    return await readAnswer(await brokerRequest(method, url, headers, body, signal === undefined ? late : AbortSignal.any([signal, late])));
  } catch (err) {
    if (late.aborted) throw new Error(`no answer from ${new URL(url).host} in ${timeoutMs} ms`);
    throw err;
  }
}

/**
 * Sends a request to another broker and resolves with its answer as it begins (its body still to
 * be read): a forwarded client request (http/forward.ts). Rejects on a network error or when
 * `signal` aborts.
 */
export function brokerRequest(method: string, url: string, headers: Record<string, string>, body: string | Buffer | undefined, signal: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const req = (secure ? https : http).request(target, { method, headers, agent: agents[secure ? 'https:' : 'http:'], signal }, resolve);
    req.on('error', reject);
    req.end(body);
  });
}

/** An answer read to its end: its status, headers and body. */
export async function readAnswer(res: http.IncomingMessage): Promise<BrokerAnswer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return { status: res.statusCode ?? 0, headers: res.headers, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) };
}

/** An answer's body as JSON, or null when it is not JSON. */
export function jsonOf<T>(a: Pick<BrokerAnswer, 'body'>): T | null {
  try {
    return JSON.parse(a.body.toString('utf8')) as T;
  } catch {
    return null;
  }
}
