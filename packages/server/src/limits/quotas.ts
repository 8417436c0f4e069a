/**
 * Per-principal quotas: request rate, produce bytes and fetch bytes, each a TokenBucket keyed by
 * principal name (by client address when authentication is off, so that clients do not share
 * one anonymous bucket). A rate of 0 turns that quota off. Full buckets are swept once a minute,
 * so idle principals cost no memory.
 */
import { TokenBucket } from './token-bucket.js';

export type QuotaKind = 'requests' | 'produce' | 'fetch';

export interface QuotaRates {
  requests: number;
  produce: number;
  fetch: number;
  burstSeconds: number;
}

export class Quotas {
  #rates: QuotaRates;
  #buckets: Record<QuotaKind, Map<string, TokenBucket>> = { requests: new Map(), produce: new Map(), fetch: new Map() };
  #sweep: NodeJS.Timeout;

  constructor(rates: QuotaRates) {
    this.#rates = rates;
    this.#sweep = setInterval(() => this.#dropFull(Date.now()), 60_000);
    this.#sweep.unref();
  }

  enabled(kind: QuotaKind): boolean {
    return this.#rates[kind] > 0;
  }

  #bucket(kind: QuotaKind, who: string, now: number): TokenBucket {
    const map = this.#buckets[kind];
    let b = map.get(who);
    if (b === undefined) map.set(who, (b = new TokenBucket(this.#rates[kind], this.#rates.burstSeconds, now)));
    return b;
  }

  /** Milliseconds the caller must wait before this kind of request is admitted (0: now). */
  waitMs(kind: QuotaKind, who: string, now: number): number {
    if (this.#rates[kind] <= 0) return 0;
    const b = this.#buckets[kind].get(who);
    return b === undefined ? 0 : b.waitMs(now);
  }

  charge(kind: QuotaKind, who: string, amount: number, now: number): void {
    if (this.#rates[kind] <= 0 || amount <= 0) return;
    this.#bucket(kind, who, now).charge(amount, now);
  }

  #dropFull(now: number): void {
    for (const map of Object.values(this.#buckets)) for (const [k, b] of map) if (b.isFull(now)) map.delete(k);
  }

  close(): void {
    clearInterval(this.#sweep);
  }
}
