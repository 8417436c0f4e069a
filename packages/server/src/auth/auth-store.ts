/**
 * Principals, their API keys and the ACLs: the durable authorisation state, kept in the catalog
 * (extension "auth") so that it is written atomically with the catalog's own guarantees and
 * can later move to a networked catalog with it. Created by the security plugin at start; every
 * change is synchronous (one catalog write) and rebuilds the ACL index, so the next request sees
 * it. Key verification is asynchronous (scrypt) but cached (VerifiedKeyCache).
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

interface AuthState {
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

export class AuthStore {
  #catalog: Catalog;
  #state: AuthState;
  #index: AclIndex;
  #cache = new VerifiedKeyCache();

  constructor(catalog: Catalog) {
    this.#catalog = catalog;
    const saved = catalog.getExtension<AuthState>(EXTENSION);
    this.#state = saved ?? { version: 1, principals: {}, keys: {}, acls: [] };
    this.#index = new AclIndex(this.#state.acls);
  }

  get acls(): AclIndex {
    return this.#index;
  }

  #save(next: AuthState): void {
    this.#catalog.setExtension(EXTENSION, next);
    this.#state = next;
    this.#index = new AclIndex(next.acls);
  }

  #draft(): AuthState {
    return structuredClone(this.#state);
  }

  // ---- principals

  listPrincipals(): PrincipalRecord[] {
    return Object.values(this.#state.principals).sort((a, b) => a.name.localeCompare(b.name));
  }

  findPrincipal(name: string): PrincipalRecord | undefined {
    return Object.prototype.hasOwnProperty.call(this.#state.principals, name) ? this.#state.principals[name] : undefined;
  }

  getPrincipal(name: string): PrincipalRecord {
    const p = this.findPrincipal(name);
    if (p === undefined) throw new WebkaError('NOT_FOUND', `principal "${name}" does not exist`);
    return p;
  }

  createPrincipal(input: { name?: unknown; kind?: unknown; superuser?: unknown; description?: unknown }): PrincipalRecord {
    const { name, kind = 'user', superuser = false, description = '' } = input;
    if (typeof name !== 'string' || !PRINCIPAL_NAME.test(name)) throw new WebkaError('INVALID_NAME', 'a principal name is 1 to 128 characters of [A-Za-z0-9._@-]');
    if (name === '*' || name === 'anonymous') throw new WebkaError('INVALID_NAME', `"${name}" is reserved`);
    if (kind !== 'user' && kind !== 'service') throw new WebkaError('INVALID_REQUEST', 'kind is "user" or "service"');
    if (typeof superuser !== 'boolean') throw new WebkaError('INVALID_REQUEST', 'superuser must be true or false');
    if (typeof description !== 'string' || description.length > 1024) throw new WebkaError('INVALID_REQUEST', 'description must be a string of at most 1024 characters');
    if (this.findPrincipal(name) !== undefined) throw new WebkaError('PRINCIPAL_EXISTS', `principal "${name}" already exists`);
    const record: PrincipalRecord = { name, kind, superuser, description, createdAt: Date.now() };
    const next = this.#draft();
    next.principals[name] = record;
    this.#save(next);
    return record;
  }

  /** Deletes a principal with its keys and ACLs. */
  deletePrincipal(name: string): void {
    this.getPrincipal(name);
    const next = this.#draft();
    delete next.principals[name];
    const gone = new Set<string>();
    for (const [id, k] of Object.entries(next.keys)) {
      if (k.principal === name) {
        gone.add(id);
        delete next.keys[id];
      }
    }
    next.acls = next.acls.filter((a) => a.principal !== name);
    if (next.scram !== undefined) delete next.scram[name];
    this.#save(next);
    this.#cache.forget(gone);
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
    let scramSha256 = await scramCredential(key, Buffer.from(shared.salt, 'base64'), shared.iterations);
    for (let now = this.#state.scram?.[principal]; now !== undefined && now.salt !== shared.salt; now = this.#state.scram?.[principal]) {
      shared = now;
      scramSha256 = await scramCredential(key, Buffer.from(shared.salt, 'base64'), shared.iterations);
    }
    this.getPrincipal(principal); // it may have gone while scrypt ran
    const next = this.#draft();
    next.keys[stored.id] = { ...stored, scramSha256 };
    next.scram = { ...next.scram, [principal]: shared };
    this.#save(next);
    return { id: stored.id, key, principal, createdAt: stored.createdAt };
  }

  revokeKey(principal: string, keyId: string): void {
    const k = Object.prototype.hasOwnProperty.call(this.#state.keys, keyId) ? this.#state.keys[keyId] : undefined;
    if (k === undefined || k.principal !== principal) throw new WebkaError('NOT_FOUND', `principal "${principal}" has no key "${keyId}"`);
    const next = this.#draft();
    delete next.keys[keyId];
    this.#save(next);
    this.#cache.forget(new Set([keyId]));
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
    const still = this.#state.keys[id];
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

  addAcl(input: Record<string, unknown>): AclEntry {
    const principal = input.principal;
    if (typeof principal !== 'string' || (principal !== '*' && !PRINCIPAL_NAME.test(principal))) throw new WebkaError('INVALID_REQUEST', 'principal is a principal name or "*"');
    if (principal !== '*' && this.findPrincipal(principal) === undefined) throw new WebkaError('NOT_FOUND', `principal "${principal}" does not exist`);
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
    const next = this.#draft();
    next.acls.push(entry);
    this.#save(next);
    return entry;
  }

  removeAcl(id: string): AclEntry {
    const entry = this.#state.acls.find((a) => a.id === id);
    if (entry === undefined) throw new WebkaError('NOT_FOUND', `no ACL "${id}"`);
    const next = this.#draft();
    next.acls = next.acls.filter((a) => a.id !== id);
    this.#save(next);
    return entry;
  }
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
