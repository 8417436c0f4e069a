/**
 * A token bucket that may go into debt: a request is admitted while the level is positive and
 * then charged its real cost (a fetch answer's size is known only afterwards), so one large
 * request is served and the next ones wait until the debt is repaid. This is how Kafka throttles
 * byte quotas: after the fact, with the delay computed from the excess.
 */
export class TokenBucket {
  #rate: number;
  #capacity: number;
  #level: number;
  #at: number;

  constructor(ratePerSec: number, burstSeconds: number, now: number) {
    this.#rate = ratePerSec;
    this.#capacity = ratePerSec * burstSeconds;
    this.#level = this.#capacity;
    this.#at = now;
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#level = Math.min(this.#capacity, this.#level + ((now - this.#at) / 1000) * this.#rate);
      this.#at = now;
    }
  }

  /** Milliseconds until the bucket is positive again (0: admitted now). */
  waitMs(now: number): number {
    this.#refill(now);
    return this.#level > 0 ? 0 : Math.ceil(((1 - this.#level) / this.#rate) * 1000);
  }

  charge(amount: number, now: number): void {
    this.#refill(now);
    this.#level -= amount;
  }

  /** A full bucket carries no information and can be dropped. */
  isFull(now: number): boolean {
    this.#refill(now);
    return this.#level >= this.#capacity;
  }
}
