/**
 * Remembers keys that passed scrypt verification, so that a client sending the same key on every
 * request pays for scrypt once. Entries are named by SHA-256 of the key (never the key itself) and
 * hold only the key id: the caller re-checks that the key and its principal still exist, so a
 * revoked key stops working at once even if an entry survived. Bounded; the oldest entry goes
 * first. Failed keys are remembered briefly too, so that repeating a wrong key costs no scrypt.
 */
import { createHash } from 'node:crypto';

export function fastKeyHash(key: string): string {
  return createHash('sha256').update(key).digest('base64');
}

export class VerifiedKeyCache {
  #ok = new Map<string, string>();
  #failed = new Map<string, number>();
  #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** The key id for a verified key hash, or undefined. */
  get(hash: string): string | undefined {
    return this.#ok.get(hash);
  }

  recentlyFailed(hash: string, now: number): boolean {
    const until = this.#failed.get(hash);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#failed.delete(hash);
    return false;
  }

  remember(hash: string, keyId: string): void {
    if (this.#ok.size >= this.#max) this.#ok.delete(this.#ok.keys().next().value!);
    this.#ok.set(hash, keyId);
  }

  rememberFailure(hash: string, until: number): void {
    if (this.#failed.size >= this.#max) this.#failed.delete(this.#failed.keys().next().value!);
    this.#failed.set(hash, until);
  }

  /** Drops every entry of the given key ids (on revocation or principal deletion). */
  forget(keyIds: ReadonlySet<string>): void {
    for (const [h, id] of this.#ok) if (keyIds.has(id)) this.#ok.delete(h);
  }
}
