/**
 * Counts open streams (or sockets) in total and per client address, and refuses one past either
 * limit with 429 TOO_MANY_REQUESTS before anything is streamed. acquire() returns the release
 * function; calling it more than once is harmless.
 */
import { WebkaError } from '../../errors.js';

export class StreamLimits {
  #what: string;
  #max: number;
  #maxPerAddress: number;
  #keys: { max: string; perAddress?: string };
  #total = 0;
  #byAddress = new Map<string, number>();

  /** `what` names the thing counted in messages ("SSE streams", "WebSockets"); `keys` names the config keys. */
  constructor(what: string, max: number, maxPerAddress: number, keys: { max: string; perAddress?: string }) {
    this.#what = what;
    this.#max = max;
    this.#maxPerAddress = maxPerAddress;
    this.#keys = keys;
  }

  get total(): number {
    return this.#total;
  }

  acquire(address: string): () => void {
    if (this.#total >= this.#max) {
      throw new WebkaError('TOO_MANY_REQUESTS', `the broker already serves ${this.#total} ${this.#what}, its limit (${this.#keys.max}); retry later`, { retryAfterSeconds: 1, limit: this.#max });
    }
    const mine = this.#byAddress.get(address) ?? 0;
    if (mine >= this.#maxPerAddress) {
      throw new WebkaError('TOO_MANY_REQUESTS', `${address} already has ${mine} ${this.#what} open, the limit per client address (${this.#keys.perAddress}); close one first`, {
        retryAfterSeconds: 1,
        limit: this.#maxPerAddress,
      });
    }
    this.#total++;
    this.#byAddress.set(address, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#byAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.#byAddress.delete(address);
      else this.#byAddress.set(address, left);
    };
  }
}
