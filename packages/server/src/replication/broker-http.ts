/**
 * The HTTP client of the brokers' frequent reads from each other (a group coordinator's reads of
 * partitions it does not lead, a follower's question where an epoch ends, and the client requests
 * a broker forwards to a leader or a coordinator): a GET over
 * node:http(s) with one keep-alive agent per process, answered with the status, the headers and
 * the whole body as bytes. Through fetch() each read cost about twice the CPU, spent building
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
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const req = (secure ? https : http).request(target, { method: 'GET', headers, agent: agents[secure ? 'https:' : 'http:'], signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${target.host} in ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end();
  });
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

/** Sends a request with a body to another broker and resolves with the whole answer; rejects on a network error, or after `timeoutMs` without the whole answer. */
export async function brokerPost(url: string, headers: Record<string, string>, body: string | Buffer, timeoutMs: number): Promise<BrokerAnswer> {
  const signal = AbortSignal.timeout(timeoutMs);
  const res = await brokerRequest('POST', url, headers, body, signal);
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
