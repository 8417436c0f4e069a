/**
 * Idempotency-Key for plain HTTP clients: a retried request with the same key, within the
 * window, gets the first request's answer and writes nothing. The first request's fingerprint
 * (method, URL, body) is kept so that reusing a key for a different request is refused.
 *
 * Keys belong to the principal that sent them: the same key from two principals names two
 * requests, so one principal can neither read another's answer by replaying its key nor block
 * another's request by using its key first (docs/security.md, "Ownership").
 *
 * Held in memory, bounded by count (oldest dropped first) and by time. A restart forgets the
 * keys: clients that need retries across broker restarts use the idempotent producer
 * (producerId, producerEpoch, sequence), whose state lives in the log.
 */
import { createHash } from 'node:crypto';
import { WebkaError } from '../errors.js';

export interface StoredAnswer {
  status: number;
  body: string;
  /** In a cluster: the answer was NOT_LEADER, and this node leads (the request may be forwarded there). */
  leader?: number;
  /** In a cluster: the request is a transaction's, and this node coordinates it (the request goes there). */
  coordinator?: number;
}

interface Entry {
  fingerprint: string;
  expires: number;
  answer: Promise<StoredAnswer>;
  settled: boolean;
}

export class IdempotencyCache {
  #entries = new Map<string, Entry>();
  #windowMs: number;
  #maxKeys: number;

  constructor(windowMs: number, maxKeys: number) {
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
  }

  static fingerprint(method: string, url: string, body: unknown): string {
    return createHash('sha256').update(method).update('\0').update(url).update('\0').update(Buffer.isBuffer(body) ? body : JSON.stringify(body) ?? '').digest('hex');
  }

  /**
   * Runs `work` once per key of an owner (the principal's name). A second call with the same key and fingerprint shares the first
   * answer (waiting for it if it is still running). Answers of 5xx, 409 and 429 are not kept, so
   * a retry of a request that failed for a passing reason runs again.
   */
  async run(owner: string, key: string, fingerprint: string, work: () => Promise<StoredAnswer>): Promise<StoredAnswer> {
    if (key.length === 0 || key.length > 255) throw new WebkaError('INVALID_REQUEST', 'Idempotency-Key must be 1 to 255 characters');
    if (this.#windowMs === 0 || this.#maxKeys === 0) return work();
    const now = Date.now();
    const scoped = `${owner}\0${key}`;
    const existing = this.#entries.get(scoped);
    if (existing !== undefined && existing.expires > now) {
      if (existing.fingerprint !== fingerprint) {
        throw new WebkaError('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key "${key}" was used for a different request in the last ${this.#windowMs} ms`);
      }
      return existing.answer;
    }
    this.#evict(now);
    const entry: Entry = { fingerprint, expires: now + this.#windowMs, answer: work(), settled: false };
    this.#entries.set(scoped, entry);
    try {
      const answer = await entry.answer;
      entry.settled = true;
      if (answer.status >= 500 || answer.status === 409 || answer.status === 429) this.#entries.delete(scoped);
      return answer;
    } catch (err) {
      this.#entries.delete(scoped);
      throw err;
    }
  }

  #evict(now: number): void {
    for (const [k, e] of this.#entries) {
      if (e.expires > now && this.#entries.size < this.#maxKeys) break;
      if (e.settled || e.expires <= now) this.#entries.delete(k);
      else break;
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
