/**
 * Turns a request's credentials into a principal. Accepted, in this order:
 *   Authorization: Bearer <API key (wk_...) or token (JWT)>
 *   Authorization: Basic base64(<principal>:<API key>)   (for tools that only speak Basic)
 *   Authorization: WebkaBroker <nodeId>:<secret>          (another broker of the cluster: auth/inter-broker.ts)
 *   ?access_token=<token>  and the cookie webka_token=<token>   (GET and HEAD only)
 * The query parameter and cookie exist for browsers, whose EventSource and WebSocket cannot set
 * headers; they are refused on other methods so that a cookie cannot be used for cross-site
 * writes (CSRF), and only tokens (short-lived, narrow) are accepted there, never API keys.
 */
import type { FastifyRequest } from 'fastify';
import { WebkaError } from '../../errors.js';
import type { AuthStore } from '../../auth/auth-store.js';
import type { TokenService } from '../../auth/tokens.js';
import type { RequestPrincipal } from '../../auth/types.js';
import type { InterBrokerCredential } from '../../auth/inter-broker.js';

export const TOKEN_COOKIE = 'webka_token';
export const TOKEN_QUERY = 'access_token';

export class AuthFailure extends WebkaError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(reason === 'busy' ? 'TOO_MANY_REQUESTS' : 'UNAUTHENTICATED', message, reason === 'busy' ? { retryAfterSeconds: 1 } : undefined);
    this.reason = reason;
  }
}

const INVALID = 'the credentials are not valid (unknown, revoked or expired)';

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class Authenticator {
  #store: AuthStore;
  #tokens: TokenService;
  #brokers: InterBrokerCredential | null;

  constructor(store: AuthStore, tokens: TokenService, brokers: InterBrokerCredential | null) {
    this.#store = store;
    this.#tokens = tokens;
    this.#brokers = brokers;
  }

  /** Reads (and removes from the query) the request's credentials; throws AuthFailure. */
  async authenticate(request: FastifyRequest): Promise<RequestPrincipal> {
    const query = request.query as Record<string, unknown> | undefined;
    const queryToken = query?.[TOKEN_QUERY];
    if (queryToken !== undefined) delete query![TOKEN_QUERY]; // never reaches a handler or a log
    const header = request.headers.authorization;
    if (header !== undefined) {
      const sp = header.indexOf(' ');
      const scheme = (sp < 0 ? header : header.slice(0, sp)).toLowerCase();
      const credential = sp < 0 ? '' : header.slice(sp + 1).trim();
      if (scheme === 'bearer') return credential.startsWith('wk_') ? this.#byKey(credential) : this.#byToken(credential);
      if (scheme === 'basic') {
        const decoded = Buffer.from(credential, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) throw new AuthFailure('malformed', 'Basic credentials are base64("<principal>:<api key>")');
        return this.#byKey(decoded.slice(colon + 1), decoded.slice(0, colon));
      }
      if (scheme === 'webkabroker') {
        const broker = this.#brokers?.verify(credential) ?? null;
        if (broker === null) throw new AuthFailure('invalid', INVALID);
        return broker;
      }
      throw new AuthFailure('malformed', 'the Authorization scheme must be Bearer or Basic');
    }
    if (request.method === 'GET' || request.method === 'HEAD') {
      const token = typeof queryToken === 'string' ? queryToken : cookieValue(request.headers.cookie, TOKEN_COOKIE);
      if (token !== undefined) return { ...(await this.#byToken(token)), readOnly: true };
    } else if (queryToken !== undefined) {
      throw new AuthFailure('malformed', `${TOKEN_QUERY} is accepted on GET requests only; send Authorization: Bearer <token>`);
    }
    throw new AuthFailure('missing', 'this request needs credentials: send Authorization: Bearer <api key or token>');
  }

  async #byKey(key: string, expectedPrincipal?: string): Promise<RequestPrincipal> {
    const check = await this.#store.verifyKey(key);
    if (!check.ok) {
      if (check.busy === true) throw new AuthFailure('busy', 'too many key verifications are in progress; retry');
      throw new AuthFailure('invalid', INVALID);
    }
    if (expectedPrincipal !== undefined && expectedPrincipal !== check.principal.name) throw new AuthFailure('invalid', INVALID);
    return { name: check.principal.name, via: 'key', superuser: check.principal.superuser, keyId: check.keyId };
  }

  async #byToken(token: string): Promise<RequestPrincipal> {
    if (token.length > 16_384) throw new AuthFailure('invalid', INVALID);
    const claims = await this.#tokens.verify(token);
    if (claims === null) throw new AuthFailure('invalid', INVALID);
    const owner = this.#store.findPrincipal(claims.sub);
    if (owner === undefined) throw new AuthFailure('invalid', INVALID);
    return { name: owner.name, via: 'token', superuser: owner.superuser, grants: claims.grants, expiresAt: claims.expiresAt, tokenId: claims.jti };
  }
}
