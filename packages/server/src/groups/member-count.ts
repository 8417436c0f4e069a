/**
 * The members of every group a broker coordinates, HTTP and Kafka-protocol alike, counted as
 * they join and leave, so that a join past `maxGroupMembers` is refused without walking the
 * groups (config: maxGroupMembers; docs/operations.md, "Limits").
 */
import { WebkaError } from '../errors.js';

export class MemberCount {
  n = 0;
  constructor(public max = Number.MAX_SAFE_INTEGER) {}

  /** Throws TOO_MANY_MEMBERS when one more member would pass the limit. */
  checkRoom(): void {
    if (this.n >= this.max) {
      throw new WebkaError('TOO_MANY_MEMBERS', `this broker coordinates ${this.n} group members, its limit (maxGroupMembers); retry later (members that stop polling or heartbeating leave after their session timeout)`);
    }
  }
}

/** A group's members: a Map that keeps its MemberCount in step with its size. */
export class CountedMembers<V> extends Map<string, V> {
  readonly #count: MemberCount;

  constructor(count: MemberCount) {
    super();
    this.#count = count;
  }

  override set(key: string, value: V): this {
    // Map's constructor adds no entry here, so #count is set before any call
    if (!this.has(key)) this.#count.n++;
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    const had = super.delete(key);
    if (had) this.#count.n--;
    return had;
  }

  override clear(): void {
    this.#count.n -= this.size;
    super.clear();
  }
}
