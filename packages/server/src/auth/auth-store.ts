/**
 * Principals, their API keys and the ACLs: the durable authorisation state. On one broker it is
 * kept in the catalog (extension "auth"), written atomically with the catalog's own guarantees;
 * in a cluster, in one document every broker shares (SharedAuthHome, in etcd), so that a key or
 * ACL made on any broker holds on all. Created by the security plugin at start; every change is
 * one write to that home (made again on the newer state if another broker changed it meanwhile)
 * and rebuilds the ACL index, so the next request sees it. Key verification is asynchronous
 * (scrypt) but cached (VerifiedKeyCache).
 */
import { randomBytes } from 'node:crypto';
import type { Catalog } from '../catalog/catalog.js';
import { WebkaError } from '../errors.js';
import { AclIndex } from './acl.js';
import { keyIdOf, newApiKey, verifyApiKey, verificationBacklog, MAX_QUEUED_VERIFICATIONS, type StoredKey } from './api-keys.js';
import { VerifiedKeyCache, fastKeyHash } from './verified-key-cache.js';
import { SCRAM_ITERATIONS, scramCredential, type ScramCredential } from './scram.js';
import { OPERATIONS, RESOURCE_TYPES, type AclEntry, type Operation, type ResourcePattern } from './types.js';

export interface PrincipalRecord {
  name: string;
  kind: 'user' | 'service';
  superuser: boolean;
  description: string;
  createdAt: number;
}

export interface AuthState {
  version: 1;
  principals: Record<string, PrincipalRecord>;
  keys: Record<string, StoredKey>;
  acls: AclEntry[];
  /**
   * Per principal, the salt and iteration count its keys' SCRAM-SHA-256 credentials share (a
   * SCRAM server names the salt before it learns which key the client holds). Absent in data
   * written before SCRAM was served; keys made then have no SCRAM credential.
   */
  scram?: Record<string, { salt: string; iterations: number }>;
}

/** What SCRAM needs of a principal: the shared salt, and the credential of each key that has one. */
export interface ScramCredentials {
  salt: Buffer;
  iterations: number;
  keys: Array<{ keyId: string } & ScramCredential>;
}

export const PRINCIPAL_NAME = /^[A-Za-z0-9._@-]{1,128}$/;
const EXTENSION = 'auth';
/** How long a wrong key is answered from memory without running scrypt again. */
const FAILURE_MEMORY_MS = 10_000;

export type KeyCheck = { ok: true; principal: PrincipalRecord; keyId: string } | { ok: false; busy?: boolean };

/**
 * Where the auth state is kept: the local catalog (one broker), or a document every broker of a
 * cluster shares (SharedAuthHome). `write` stores `next` in place of `base`, the state the store
 * holds now; it answers false when the stored state has moved on, after handing the newer state
 * to the store (AuthStore.adopt), so the change can be made again on it.
 */
export interface AuthStateHome {
  write(next: AuthState, base: AuthState): Promise<boolean>;
}

/** Thrown inside a change to make it again on the newest state (a SCRAM salt fixed meanwhile). */
class Again extends Error {}

export class AuthStore {
  #state: AuthState;
  #index: AclIndex;
  #cache = new VerifiedKeyCache();
  #home: AuthStateHome;

  constructor(catalog: Catalog) {
    const saved = catalog.getExtension<AuthState>(EXTENSION);
    this.#state = saved ?? emptyAuthState();
    this.#index = new AclIndex(this.#state.acls);
    this.#home = {
      write: async (next) => {
        catalog.setExtension(EXTENSION, next);
        return true;
      },
    };
  }

  get acls(): AclIndex {
    return this.#index;
  }

  /** The whole state as it is now (to seed a shared home with). */
  get state(): AuthState {
    return this.#state;
  }

  /** Keeps the state in `home` from now on (a cluster's shared document). */
  useHome(home: AuthStateHome): void {
    this.#home = home;
  }

  /**
   * Takes a state stored elsewhere (another broker's change, seen by the shared home): the next
   * request sees it; keys and principals gone from it stop authenticating at once.
   */
  adopt(next: AuthState): void {
    const gone = new Set(Object.keys(this.#state.keys).filter((id) => !Object.prototype.hasOwnProperty.call(next.keys, id)));
    this.#state = next;
    this.#index = new AclIndex(next.acls);
    if (gone.size > 0) this.#cache.forget(gone);
  }

  /**
   * Makes a change: `change` edits a copy of the current state (and throws to refuse), the home
   * stores it, and where the stored state had moved on the change is made again on the newer one.
   */
  async #update<T>(change: (draft: AuthState) => T): Promise<T> {
    for (;;) {
      const base = this.#state;
      const draft = structuredClone(base);
      const result = change(draft);
      if (await this.#home.write(draft, base)) {
        if (this.#state === base) this.adopt(draft);
        return result;
      }
    }
  }

  // ---- principals

  listPrincipals(): PrincipalRecord[] {
    return Object.values(this.#state.principals).sort((a, b) => a.name.localeCompare(b.name));
  }

  findPrincipal(name: string): PrincipalRecord | undefined {
    return findIn(this.#state, name);
  }

  getPrincipal(name: string): PrincipalRecord {
    return getIn(this.#state, name);
  }

  /** Whether the principal still holds the key (not revoked). */
  hasKey(principal: string, keyId: string): boolean {
    const k = Object.prototype.hasOwnProperty.call(this.#state.keys, keyId) ? this.#state.keys[keyId] : undefined;
    return k !== undefined && k.principal === principal;
  }

  async createPrincipal(input: { name?: unknown; kind?: unknown; superuser?: unknown; description?: unknown }): Promise<PrincipalRecord> {
    const { name, kind = 'user', superuser = false, description = '' } = input;
    if (typeof name !== 'string' || !PRINCIPAL_NAME.test(name)) throw new WebkaError('INVALID_NAME', 'a principal name is 1 to 128 characters of [A-Za-z0-9._@-]');
    if (name === '*' || name === 'anonymous') throw new WebkaError('INVALID_NAME', `"${name}" is reserved`);
    if (kind !== 'user' && kind !== 'service') throw new WebkaError('INVALID_REQUEST', 'kind is "user" or "service"');
    if (typeof superuser !== 'boolean') throw new WebkaError('INVALID_REQUEST', 'superuser must be true or false');
    if (typeof description !== 'string' || description.length > 1024) throw new WebkaError('INVALID_REQUEST', 'description must be a string of at most 1024 characters');
    const record: PrincipalRecord = { name, kind, superuser, description, createdAt: Date.now() };
    return this.#update((next) => {
      if (findIn(next, name) !== undefined) throw new WebkaError('PRINCIPAL_EXISTS', `principal "${name}" already exists`);
      next.principals[name] = record;
      return record;
    });
  }

  /** Deletes a principal with its keys and ACLs; `check` may refuse it on the state it applies to. */
  async deletePrincipal(name: string, check: (state: AuthState) => void = () => {}): Promise<void> {
    await this.#update((next) => {
      getIn(next, name);
      check(next);
      delete next.principals[name];
      for (const [id, k] of Object.entries(next.keys)) if (k.principal === name) delete next.keys[id];
      next.acls = next.acls.filter((a) => a.principal !== name);
      if (next.scram !== undefined) delete next.scram[name];
    });
  }

  // ---- keys

  listKeys(principal: string): Array<Omit<StoredKey, 'salt' | 'hash' | 'N' | 'r' | 'p' | 'scramSha256'>> {
    this.getPrincipal(principal);
    return Object.values(this.#state.keys)
      .filter((k) => k.principal === principal)
      .map(({ id, principal: p, description, createdAt }) => ({ id, principal: p, description, createdAt }))
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Makes a key; the key itself is returned once and never stored. */
  async createKey(principal: string, description: unknown = ''): Promise<{ id: string; key: string; principal: string; createdAt: number }> {
    this.getPrincipal(principal);
    if (typeof description !== 'string' || description.length > 1024) throw new WebkaError('INVALID_REQUEST', 'description must be a string of at most 1024 characters');
    const { key, stored } = await newApiKey(principal, description);
    // The key is also a SCRAM-SHA-256 password under the principal's shared salt, made with the
    // first key that needs it; if another key fixed the salt while PBKDF2 ran, derive again.
    let shared = this.#state.scram?.[principal] ?? { salt: randomBytes(16).toString('base64'), iterations: SCRAM_ITERATIONS };
    for (;;) {
      const scramSha256 = await scramCredential(key, Buffer.from(shared.salt, 'base64'), shared.iterations);
      try {
        await this.#update((next) => {
          getIn(next, principal); // it may have gone while scrypt ran
          const now = next.scram?.[principal];
          if (now !== undefined && now.salt !== shared.salt) {
            shared = now;
            throw new Again();
          }
          next.keys[stored.id] = { ...stored, scramSha256 };
          next.scram = { ...next.scram, [principal]: shared };
        });
        return { id: stored.id, key, principal, createdAt: stored.createdAt };
      } catch (err) {
        if (!(err instanceof Again)) throw err;
      }
    }
  }

  async revokeKey(principal: string, keyId: string): Promise<void> {
    await this.#update((next) => {
      const k = Object.prototype.hasOwnProperty.call(next.keys, keyId) ? next.keys[keyId] : undefined;
      if (k === undefined || k.principal !== principal) throw new WebkaError('NOT_FOUND', `principal "${principal}" has no key "${keyId}"`);
      delete next.keys[keyId];
    });
  }

  /**
   * Checks an API key: from the cache when it was verified before (a map lookup and a SHA-256),
   * otherwise by scrypt. `busy` means too many verifications are queued (answer 429).
   */
  async verifyKey(key: string): Promise<KeyCheck> {
    const id = keyIdOf(key);
    if (id === null) return { ok: false };
    const stored = Object.prototype.hasOwnProperty.call(this.#state.keys, id) ? this.#state.keys[id] : undefined;
    if (stored === undefined) return { ok: false };
    const h = fastKeyHash(key);
    if (this.#cache.get(h) === id) {
      const principal = this.findPrincipal(stored.principal);
      return principal === undefined ? { ok: false } : { ok: true, principal, keyId: id };
    }
    const now = Date.now();
    if (this.#cache.recentlyFailed(h, now)) return { ok: false };
    if (verificationBacklog() >= MAX_QUEUED_VERIFICATIONS) return { ok: false, busy: true };
    const good = await verifyApiKey(key, stored);
    // The key may have been revoked while scrypt ran.
    const still = Object.prototype.hasOwnProperty.call(this.#state.keys, id) ? this.#state.keys[id] : undefined;
    const principal = still === undefined ? undefined : this.findPrincipal(still.principal);
    if (!good || principal === undefined) {
      if (!good) this.#cache.rememberFailure(h, now + FAILURE_MEMORY_MS);
      return { ok: false };
    }
    this.#cache.remember(h, id);
    return { ok: true, principal, keyId: id };
  }

  /**
   * The SCRAM-SHA-256 credentials of a principal's keys (null: no such principal, or none of its
   * keys has one: keys made before SCRAM was served authenticate with PLAIN or over HTTP only).
   */
  scramCredentials(principal: string): ScramCredentials | null {
    const shared = this.findPrincipal(principal) === undefined ? undefined : this.#state.scram?.[principal];
    if (shared === undefined) return null;
    const keys: ScramCredentials['keys'] = [];
    for (const k of Object.values(this.#state.keys)) if (k.principal === principal && k.scramSha256 !== undefined) keys.push({ keyId: k.id, ...k.scramSha256 });
    return keys.length === 0 ? null : { salt: Buffer.from(shared.salt, 'base64'), iterations: shared.iterations, keys };
  }

  // ---- ACLs

  listAcls(filter: { principal?: string } = {}): AclEntry[] {
    return this.#state.acls.filter((a) => filter.principal === undefined || a.principal === filter.principal);
  }

  async addAcl(input: Record<string, unknown>): Promise<AclEntry> {
    const principal = input.principal;
    if (typeof principal !== 'string' || (principal !== '*' && !PRINCIPAL_NAME.test(principal))) throw new WebkaError('INVALID_REQUEST', 'principal is a principal name or "*"');
    const effect = input.effect ?? 'allow';
    if (effect !== 'allow' && effect !== 'deny') throw new WebkaError('INVALID_REQUEST', 'effect is "allow" or "deny"');
    const entry: AclEntry = {
      id: randomBytes(8).toString('hex'),
      principal,
      effect,
      operations: parseOperations(input.operations),
      resource: parseResourcePattern(input.resource),
      createdAt: Date.now(),
    };
    return this.#update((next) => {
      if (principal !== '*' && findIn(next, principal) === undefined) throw new WebkaError('NOT_FOUND', `principal "${principal}" does not exist`);
      next.acls.push(entry);
      return entry;
    });
  }

  async removeAcl(id: string): Promise<AclEntry> {
    return this.#update((next) => {
      const entry = next.acls.find((a) => a.id === id);
      if (entry === undefined) throw new WebkaError('NOT_FOUND', `no ACL "${id}"`);
      next.acls = next.acls.filter((a) => a.id !== id);
      return entry;
    });
  }
}

export function emptyAuthState(): AuthState {
  return { version: 1, principals: {}, keys: {}, acls: [] };
}

function findIn(state: AuthState, name: string): PrincipalRecord | undefined {
  return Object.prototype.hasOwnProperty.call(state.principals, name) ? state.principals[name] : undefined;
}

function getIn(state: AuthState, name: string): PrincipalRecord {
  const p = findIn(state, name);
  if (p === undefined) throw new WebkaError('NOT_FOUND', `principal "${name}" does not exist`);
  return p;
}

export function parseOperations(raw: unknown): Operation[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > OPERATIONS.length) throw new WebkaError('INVALID_REQUEST', `operations is a non-empty list of ${OPERATIONS.join(', ')}`);
  for (const op of raw) if (!(OPERATIONS as readonly unknown[]).includes(op)) throw new WebkaError('INVALID_REQUEST', `unknown operation ${JSON.stringify(op)}; operations are ${OPERATIONS.join(', ')}`);
  return [...new Set(raw as Operation[])];
}

export function parseResourcePattern(raw: unknown): ResourcePattern {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new WebkaError('INVALID_REQUEST', 'resource is {"type","name","patternType"?,"cluster"?}');
  const r = raw as Record<string, unknown>;
  if (!(RESOURCE_TYPES as readonly unknown[]).includes(r.type)) throw new WebkaError('INVALID_REQUEST', `resource.type is one of ${RESOURCE_TYPES.join(', ')}`);
  if (typeof r.name !== 'string' || r.name.length === 0 || r.name.length > 249) throw new WebkaError('INVALID_REQUEST', 'resource.name is a name, a prefix, or "*"');
  const patternType = r.patternType ?? 'literal';
  if (patternType !== 'literal' && patternType !== 'prefixed') throw new WebkaError('INVALID_REQUEST', 'resource.patternType is "literal" or "prefixed"');
  const cluster = r.cluster ?? '*';
  if (typeof cluster !== 'string' || cluster.length === 0 || cluster.length > 249) throw new WebkaError('INVALID_REQUEST', 'resource.cluster is a cluster name or "*"');
  for (const k of Object.keys(r)) if (!['type', 'name', 'patternType', 'cluster'].includes(k)) throw new WebkaError('INVALID_REQUEST', `unknown field resource.${k}`);
  return { type: r.type as ResourcePattern['type'], name: r.name, patternType, cluster: r.type === 'cluster' ? '*' : cluster };
}
