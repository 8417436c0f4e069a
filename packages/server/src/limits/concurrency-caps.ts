/**
 * Caps on things that hold a connection open for long: long-poll fetches and streams (SSE,
 * WebSocket, Durable Streams live reads), per principal and in total. acquire() answers false
 * when a cap is reached; a true answer must be paired with exactly one release().
 */
export class ConcurrencyCap {
  #total = 0;
  #byOwner = new Map<string, number>();
  readonly maxTotal: number;
  readonly maxPerOwner: number;

  constructor(maxTotal: number, maxPerOwner: number) {
    this.maxTotal = maxTotal;
    this.maxPerOwner = maxPerOwner;
  }

  get size(): number {
    return this.#total;
  }

  acquire(owner: string): boolean {
    const mine = this.#byOwner.get(owner) ?? 0;
    if (this.#total >= this.maxTotal || mine >= this.maxPerOwner) return false;
    this.#total++;
    this.#byOwner.set(owner, mine + 1);
    return true;
  }

  release(owner: string): void {
    const mine = this.#byOwner.get(owner) ?? 0;
    if (mine <= 1) this.#byOwner.delete(owner);
    else this.#byOwner.set(owner, mine - 1);
    if (this.#total > 0) this.#total--;
  }
}
