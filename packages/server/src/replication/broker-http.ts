/**
 * The HTTP client of the brokers' frequent reads from each other (a follower's replica fetches, a
 * group coordinator's reads of partitions it does not lead): a GET over node:http(s) with one
 * keep-alive agent per process, answered with the status, the headers and the whole body as
 * bytes. A follower sends a
 * fetch for each partition it follows every few milliseconds under load (and every 500 ms idle);
 * through fetch() each cost a follower about twice the CPU, spent building WHATWG streams,
 * Request and Response objects and abort signals that this loop does not need.
 */
import http from 'node:http';
import https from 'node:https';

const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

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

/** An answer's body as JSON, or null when it is not JSON. */
export function jsonOf<T>(a: BrokerAnswer): T | null {
  try {
    return JSON.parse(a.body.toString('utf8')) as T;
  } catch {
    return null;
  }
}
