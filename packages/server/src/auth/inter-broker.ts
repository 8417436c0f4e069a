/**
 * How brokers of a cluster authenticate to each other (docs/decisions/0010): every broker holds
 * the same shared secret (config `interBrokerSecret`) and sends it with each call to another
 * broker, as `Authorization: WebkaBroker <nodeId>:<secret>`. A request so authenticated acts as
 * the broker principal `broker:<nodeId>` (a name no principal can have: `:` is not allowed in
 * principal names), which may call the inter-broker routes and nothing else on its own.
 *
 * A request a broker forwards for a client (to a partition's leader, to the controller) carries
 * the broker's credential and the client's principal as the forwarding broker authenticated it,
 * in `x-webka-principal` (base64url JSON). The receiving broker believes that assertion only from
 * a request authenticated as a broker, looks the principal up in the shared auth state (it must
 * still exist, its key must not be revoked, superuser comes from there, not from the assertion)
 * and authorises the request again under the same ACLs. A client that sends the header is refused.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestPrincipal, TokenGrant } from './types.js';

export const BROKER_SCHEME = 'WebkaBroker';
export const PRINCIPAL_HEADER = 'x-webka-principal';
const BROKER_PREFIX = 'broker:';

/** Checks a broker credential against the cluster's secret, in constant time. */
export class InterBrokerCredential {
  readonly #digest: Buffer;

  constructor(
    readonly nodeId: number,
    readonly secret: string,
  ) {
    this.#digest = createHash('sha256').update(secret).digest();
  }

  /** The Authorization header value this broker sends. */
  header(): string {
    return `${BROKER_SCHEME} ${this.nodeId}:${this.secret}`;
  }

  /** The broker principal for a WebkaBroker credential (`<nodeId>:<secret>`), or null if it is wrong. */
  verify(credential: string): RequestPrincipal | null {
    const colon = credential.indexOf(':');
    const node = colon < 0 ? NaN : Number(credential.slice(0, colon));
    if (!Number.isSafeInteger(node) || node < 0) return null;
    const given = createHash('sha256').update(credential.slice(colon + 1)).digest();
    return timingSafeEqual(given, this.#digest) ? brokerPrincipal(node) : null;
  }
}

export function brokerPrincipal(nodeId: number): RequestPrincipal {
  return { name: `${BROKER_PREFIX}${nodeId}`, via: 'broker', superuser: false };
}

/** What a forwarding broker asserts of the client it forwards for. */
export interface PrincipalAssertion {
  name: string;
  via: 'key' | 'token';
  keyId?: string;
  tokenId?: string;
  grants?: TokenGrant[];
  expiresAt?: number;
  readOnly?: true;
}

export function encodeAssertion(p: RequestPrincipal): string {
  const a: PrincipalAssertion = { name: p.name, via: p.via === 'token' ? 'token' : 'key' };
  if (p.keyId !== undefined) a.keyId = p.keyId;
  if (p.tokenId !== undefined) a.tokenId = p.tokenId;
  if (p.grants !== undefined) a.grants = p.grants;
  if (p.expiresAt !== undefined) a.expiresAt = p.expiresAt;
  if (p.readOnly === true) a.readOnly = true;
  return Buffer.from(JSON.stringify(a), 'utf8').toString('base64url');
}

/** The assertion in a header value, or null when it is not one. */
export function decodeAssertion(value: string): PrincipalAssertion | null {
  let a: unknown;
  try {
    a = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (a === null || typeof a !== 'object') return null;
  const r = a as Record<string, unknown>;
  if (typeof r.name !== 'string' || (r.via !== 'key' && r.via !== 'token')) return null;
  if (r.keyId !== undefined && typeof r.keyId !== 'string') return null;
  if (r.tokenId !== undefined && typeof r.tokenId !== 'string') return null;
  if (r.expiresAt !== undefined && typeof r.expiresAt !== 'number') return null;
  if (r.grants !== undefined && !Array.isArray(r.grants)) return null;
  if (r.readOnly !== undefined && r.readOnly !== true) return null;
  return r as unknown as PrincipalAssertion;
}
