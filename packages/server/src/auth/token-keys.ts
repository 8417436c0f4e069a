/**
 * The HMAC keys that sign browser tokens (HS256), kept in `<dataDir>/token-keys.json` (mode 0600,
 * written as temp file + fsync + rename). The newest key signs; when it is older than the
 * rotation interval a new one is made. A retired key is kept for verification until every token
 * it could have signed has expired (retiredAt + the longest token lifetime), then dropped.
 *
 * File format: {"keys":[{"kid","secret"(base64url, 32 bytes),"createdAt","retiredAt"?}]}.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

interface SigningKey {
  kid: string;
  secret: string;
  createdAt: number;
  retiredAt?: number;
}

export class TokenKeyRing {
  #file: string;
  #rotationMs: number;
  #maxTtlMs: number;
  #keys: SigningKey[] = [];
  #bytes = new Map<string, Uint8Array>();

  constructor(dataDir: string, rotationMs: number, maxTtlMs: number) {
    this.#file = path.join(dataDir, 'token-keys.json');
    this.#rotationMs = rotationMs;
    this.#maxTtlMs = maxTtlMs;
    try {
      const parsed = JSON.parse(fs.readFileSync(this.#file, 'utf8')) as { keys: SigningKey[] };
      this.#keys = parsed.keys.filter((k) => typeof k.kid === 'string' && typeof k.secret === 'string');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${this.#file}: ${(err as Error).message}`);
    }
    this.rotateIfDue(Date.now());
  }

  /** Makes a new signing key when the current one is due, and drops keys no token can need. */
  rotateIfDue(now: number): boolean {
    let changed = false;
    const current = this.#keys.at(-1);
    if (current === undefined || now - current.createdAt >= this.#rotationMs) {
      if (current !== undefined) current.retiredAt = now;
      this.#keys.push({ kid: randomBytes(8).toString('hex'), secret: randomBytes(32).toString('base64url'), createdAt: now });
      changed = true;
    }
    const before = this.#keys.length;
    this.#keys = this.#keys.filter((k) => k.retiredAt === undefined || k.retiredAt + this.#maxTtlMs > now);
    if (this.#keys.length !== before) changed = true;
    if (changed) {
      this.#bytes.clear();
      this.#write();
    }
    return changed;
  }

  current(): { kid: string; key: Uint8Array } {
    const k = this.#keys.at(-1)!;
    return { kid: k.kid, key: this.#secret(k) };
  }

  find(kid: string): Uint8Array | undefined {
    const k = this.#keys.find((x) => x.kid === kid);
    return k === undefined ? undefined : this.#secret(k);
  }

  get kids(): string[] {
    return this.#keys.map((k) => k.kid);
  }

  #secret(k: SigningKey): Uint8Array {
    let b = this.#bytes.get(k.kid);
    if (b === undefined) this.#bytes.set(k.kid, (b = Buffer.from(k.secret, 'base64url')));
    return b;
  }

  #write(): void {
    const tmp = this.#file + '.tmp';
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify({ keys: this.#keys }));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.#file);
  }
}
