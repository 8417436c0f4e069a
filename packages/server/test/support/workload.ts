/**
 * The producers of a fault test: idempotent producers (3) that write unique values, each request
 * one record to every partition of the topic (so every request is split over the leaders), with
 * acks=all, each through the next live broker in turn, retrying a request with its sequence until
 * it is acknowledged. What they were told is the history that support/history.ts checks.
 */
import type { TestCluster } from './cluster.js';

/** Answers a producer may retry: the cluster is moving (503, 408), or the request raced its own retry (409 CONCURRENT_REQUEST). */
const RETRIABLE = new Set(['NOT_LEADER', 'NOT_CONTROLLER', 'NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'SHUTTING_DOWN', 'REQUEST_TIMEOUT', 'COORDINATION_UNAVAILABLE', 'CONCURRENT_REQUEST', 'TOPIC_NOT_FOUND']);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Request {
  /** The broker it was sent to. */
  url: string;
  /** When it was sent (Date.now()). */
  sentAt: number;
  /** When its answer came (or it failed); undefined while it is in flight. */
  answeredAt?: number;
  /** The answer's status; null when there was none (no connection, or none in time); undefined while in flight. */
  status: number | null | undefined;
  /** The error's code, when the answer was an error. */
  code?: string;
  values: string[];
}

export interface Workload {
  acked: Set<string>;
  /** Every produce request, recorded as it is sent, with its answer once it has one. */
  requests: Request[];
  /** Answers no retry can mend (a producer that only retries must never see one), by code. */
  refused: Map<string, string>;
  stop(): Promise<void>;
}

/** Starts the producers on `topic` (of `partitions` partitions); a request that gets no answer in `timeoutMs` counts as not acknowledged. */
export function produceWorkload(c: TestCluster, topic: string, { partitions = 3, timeoutMs = 10_000 }: { partitions?: number; timeoutMs?: number } = {}): Workload {
  const acked = new Set<string>();
  const requests: Request[] = [];
  const refused = new Map<string, string>();
  let running = true;
  let turn = 0;
  const live = (): string => {
    const urls = [...c.brokers.values()].map((b) => b.url);
    return urls[turn++ % urls.length];
  };
  const post = async (path: string, body: unknown, url = live()): Promise<{ url: string; status: number | null; body: any }> => {
    try {
      const r = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
      const text = await r.text();
      return { url, status: r.status, body: text === '' ? undefined : JSON.parse(text) };
    } catch {
      return { url, status: null, body: undefined }; // the broker died, or did not answer in time: not acknowledged
    }
  };
  const loops = [0, 1, 2].map(async (w) => {
    let producer: { producerId: number; producerEpoch: number } | undefined;
    while (running && producer === undefined) {
      const r = await post('/v1/clusters/default/producers', {});
      if (r.status === 201) producer = r.body;
      else await sleep(100);
    }
    for (let sequence = 0; running; sequence++) {
      const values = Array.from({ length: partitions }, (_, p) => `w${w}-${sequence}-p${p}`);
      const body = { ...producer, sequence, records: values.map((value, partition) => ({ value, partition })) };
      while (running) {
        const request: Request = { url: live(), sentAt: Date.now(), status: undefined, values };
        requests.push(request);
        const r = await post(`/v1/clusters/default/topics/${topic}/records?acks=all`, body, request.url);
        Object.assign(request, { answeredAt: Date.now(), status: r.status, code: r.body?.error?.code });
        if (r.status === 200) {
          for (const v of values) acked.add(v);
          break;
        }
        const code = r.body?.error?.code as string | undefined;
        if (r.status !== null && r.status < 500 && !RETRIABLE.has(code ?? '')) {
          refused.set(code ?? String(r.status), `w${w} sequence ${sequence}: ${JSON.stringify(r.body)}`);
          break;
        }
        await sleep(50);
      }
    }
  });
  return {
    acked,
    requests,
    refused,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
