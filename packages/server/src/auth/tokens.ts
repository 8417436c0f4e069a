/**
 * Browser tokens: short-lived JWTs (HS256, RFC 7519) that carry a subset of their minter's
 * rights, for places where a browser cannot set an Authorization header (EventSource and
 * WebSocket URLs, cookies). Claims: iss/aud "webka", sub (the minting principal), jti, iat, exp,
 * and `grants` (resource patterns with operations). A token never widens rights: each use is
 * checked against its grants AND the minter's current ACLs, so revoking an ACL or deleting the
 * principal also disarms its tokens.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { WebkaError } from '../errors.js';
import { parseOperations, parseResourcePattern } from './auth-store.js';
import type { TokenKeyRing } from './token-keys.js';
import type { TokenGrant } from './types.js';

const ISSUER = 'webka';
const MAX_GRANTS = 64;

export interface VerifiedToken {
  sub: string;
  jti: string;
  grants: TokenGrant[];
  expiresAt: number;
}

export function parseGrants(raw: unknown): TokenGrant[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_GRANTS) throw new WebkaError('INVALID_REQUEST', `grants is a list of 1 to ${MAX_GRANTS} {"resource":{...},"operations":[...]}`);
  return raw.map((g, i) => {
    if (g === null || typeof g !== 'object' || Array.isArray(g)) throw new WebkaError('INVALID_REQUEST', `grants[${i}] must be an object`);
    return { resource: parseResourcePattern((g as Record<string, unknown>).resource), operations: parseOperations((g as Record<string, unknown>).operations) };
  });
}

export class TokenService {
  #ring: TokenKeyRing;
  #maxTtlSeconds: number;

  constructor(ring: TokenKeyRing, maxTtlSeconds: number) {
    this.#ring = ring;
    this.#maxTtlSeconds = maxTtlSeconds;
  }

  get maxTtlSeconds(): number {
    return this.#maxTtlSeconds;
  }

  async mint(sub: string, grants: TokenGrant[], ttlSeconds: number): Promise<{ token: string; expiresAt: number; jti: string }> {
    const now = Date.now();
    this.#ring.rotateIfDue(now);
    const { kid, key } = this.#ring.current();
    const iat = Math.floor(now / 1000);
    const exp = iat + ttlSeconds;
    const jti = randomBytes(12).toString('base64url');
    const token = await new SignJWT({ grants })
      .setProtectedHeader({ alg: 'HS256', kid, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(ISSUER)
      .setSubject(sub)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key);
    return { token, expiresAt: exp * 1000, jti };
  }

  /** The token's claims, or null when it is forged, malformed, expired or signed by a dropped key. */
  async verify(token: string): Promise<VerifiedToken | null> {
    try {
      const { payload } = await jwtVerify(
        token,
        (header) => {
          const key = typeof header.kid === 'string' ? this.#ring.find(header.kid) : undefined;
          if (key === undefined) throw new joseErrors.JWKSNoMatchingKey();
          return key;
        },
        { algorithms: ['HS256'], issuer: ISSUER, audience: ISSUER, requiredClaims: ['exp', 'sub', 'jti'] },
      );
      if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number' || typeof payload.jti !== 'string') return null;
      return { sub: payload.sub, jti: payload.jti, grants: parseGrants(payload.grants), expiresAt: payload.exp * 1000 };
    } catch {
      return null;
    }
  }
}
