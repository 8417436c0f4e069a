/**
 * API keys: `wk_<id>_<secret>`, where id is 16 hex digits (public: it names the key in listings
 * and audit lines) and secret is 32 random bytes in base64url. Only a salted scrypt hash of the
 * secret is stored, so a copy of the data directory does not reveal keys. scrypt is slow on
 * purpose (tens of ms), so verification runs on libuv's thread pool, a few at a time, and the
 * VerifiedKeyCache keeps it off the per-request path.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { ScramCredential } from './scram.js';

export interface StoredKey {
  id: string;
  principal: string;
  description: string;
  createdAt: number;
  /** base64 salt and scrypt output; N, r, p recorded so that parameters can change later. */
  salt: string;
  hash: string;
  N: number;
  r: number;
  p: number;
  /** The key as a SCRAM-SHA-256 password, under its principal's shared salt (auth/scram.ts). */
  scramSha256?: ScramCredential;
}

const KEY = /^wk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const PARAMS = { N: 1 << 14, r: 8, p: 1 } as const;
const HASH_BYTES = 32;

function scryptAsync(secret: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(secret, salt, HASH_BYTES, { ...opts, maxmem: 64 * 1024 * 1024 }, (err, out) => (err ? reject(err) : resolve(out))));
}

/** The id part of a well-formed key, or null. */
export function keyIdOf(key: string): string | null {
  const m = KEY.exec(key);
  return m === null ? null : m[1];
}

export async function newApiKey(principal: string, description: string): Promise<{ key: string; stored: StoredKey }> {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16);
  const hash = await scryptAsync(secret, salt, PARAMS);
  return {
    key: `wk_${id}_${secret}`,
    stored: { id, principal, description, createdAt: Date.now(), salt: salt.toString('base64'), hash: hash.toString('base64'), ...PARAMS },
  };
}

/** Limits concurrent scrypt runs so that a flood of wrong keys cannot occupy every thread. */
class Gate {
  #free: number;
  #waiting: Array<() => void> = [];
  constructor(n: number) {
    this.#free = n;
  }
  get queued(): number {
    return this.#waiting.length;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free === 0) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#free--;
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#free++;
    }
  }
}

const gate = new Gate(2);
/** Verifications waiting beyond this are refused (the caller answers 429). */
export const MAX_QUEUED_VERIFICATIONS = 256;

export function verificationBacklog(): number {
  return gate.queued;
}

export async function verifyApiKey(key: string, stored: StoredKey): Promise<boolean> {
  const m = KEY.exec(key);
  if (m === null || m[1] !== stored.id) return false;
  const expected = Buffer.from(stored.hash, 'base64');
  const actual = await gate.run(() => scryptAsync(m[2], Buffer.from(stored.salt, 'base64'), { N: stored.N, r: stored.r, p: stored.p }));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
