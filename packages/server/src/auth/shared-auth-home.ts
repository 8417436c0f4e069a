/**
 * The auth state of a cluster: one document ("auth") in the coordination service that every
 * broker reads, watches and writes by compare-and-swap on its revision, so that principals, keys
 * and ACLs are the same on every broker. The broker that makes a change holds it at once; the
 * others take it from their watch, and `onCommitted` (the security plugin) then asks every live
 * broker to confirm it holds the change before the change is answered (see docs/security.md,
 * "In a cluster").
 *
 * The first broker of a cluster seeds the document with its own catalog's state (usually empty:
 * the first start then makes the superuser "admin" in it); later brokers take the document and
 * their own catalog's auth state is no longer used.
 */
import type { Coordinator } from '../cluster/coordinator.js';
import type { AuthState, AuthStateHome, AuthStore } from './auth-store.js';

export const AUTH_DOCUMENT = 'auth';

export class SharedAuthHome implements AuthStateHome {
  #revision: bigint = -1n;
  #stopWatch: () => void = () => {};
  #waiters: Array<{ revision: bigint; resolve: () => void }> = [];

  private constructor(
    readonly coordinator: Coordinator,
    readonly store: AuthStore,
    readonly onCommitted: (revision: string) => Promise<void>,
  ) {}

  /** Binds `store` to the cluster's document (seeding it from the store when there is none) and follows it. */
  static async attach(coordinator: Coordinator, store: AuthStore, onCommitted: (revision: string) => Promise<void>): Promise<SharedAuthHome> {
    const home = new SharedAuthHome(coordinator, store, onCommitted);
    let doc = await coordinator.readDocument(AUTH_DOCUMENT);
    if (doc === null) {
      const r = await coordinator.writeDocument(AUTH_DOCUMENT, store.state, null);
      doc = r.ok ? { value: store.state, revision: r.revision } : r.current;
    }
    if (doc !== null) home.#take(doc.value as AuthState, doc.revision);
    store.useHome(home);
    home.#stopWatch = coordinator.watchDocument(AUTH_DOCUMENT, (d) => {
      if (d !== null) home.#take(d.value as AuthState, d.revision);
    });
    return home;
  }

  /** The revision of the state this broker holds (-1 before it holds any). */
  get revision(): bigint {
    return this.#revision;
  }

  #take(state: AuthState, revision: string): void {
    const r = BigInt(revision);
    if (r <= this.#revision) return;
    this.#revision = r;
    this.store.adopt(state);
    this.#waiters = this.#waiters.filter((w) => {
      if (w.revision > r) return true;
      w.resolve();
      return false;
    });
  }

  async write(next: AuthState, _base: AuthState): Promise<boolean> {
    const r = await this.coordinator.writeDocument(AUTH_DOCUMENT, next, this.#revision < 0n ? null : String(this.#revision));
    if (!r.ok) {
      if (r.current !== null) this.#take(r.current.value as AuthState, r.current.revision);
      return false;
    }
    // held here from now on (the watch brings the same revision later and is ignored)
    this.#take(next, r.revision);
    await this.onCommitted(r.revision);
    return true;
  }

  /** Resolves once this broker holds `revision` or a later one, or after `timeoutMs` (false). */
  holds(revision: bigint, timeoutMs: number): Promise<boolean> {
    if (this.#revision >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      timer.unref();
      const waiter = { revision, resolve: () => (clearTimeout(timer), resolve(true)) };
      this.#waiters.push(waiter);
    });
  }

  close(): void {
    this.#stopWatch();
    for (const w of this.#waiters) w.resolve();
    this.#waiters = [];
  }
}
