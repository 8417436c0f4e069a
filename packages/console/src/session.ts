/**
 * Who is using the console and how it talks to the broker. With auth off the broker answers
 * whoami without credentials and the console needs none. With auth on, the user signs in with an
 * API key, which the console exchanges at once for a short-lived browser token (POST /v1/tokens):
 * the token, never the key, is kept in sessionStorage so a reload stays signed in until it
 * expires. The key stays in memory only, because managing principals, ACLs and API keys (a
 * principal's own keys, for one that is not a superuser) needs a key (the broker refuses tokens
 * there); after a reload the Security page asks for it again.
 */
import { Webka, SecurityAdmin, HttpClient, WebkaError, type WhoAmI, type Acl } from '@webka/client';
import { signal } from './signal.js';

const TOKEN_KEY = 'webka.console.token';
const TOKEN_TTL_SECONDS = 3600;
/** Everything the key may do: the broker intersects grants with the key's ACLs at every use. */
const ALL = ['admin'] as const;
const GRANTS = [
  { resource: { type: 'cluster', name: '*' }, operations: ALL },
  { resource: { type: 'topic', name: '*', cluster: '*' }, operations: ALL },
  { resource: { type: 'group', name: '*', cluster: '*' }, operations: ALL },
];

export interface Session {
  me: WhoAmI;
  /** Credentials for requests: a token, or none with auth off. */
  token: string | undefined;
  /** The API key signed in with, in memory only, for the Security page's management. */
  key: string | undefined;
  authEnabled: boolean;
  webka(cluster?: string): Webka;
  security(): SecurityAdmin | undefined;
}

export const origin = (): string => location.origin;

function makeSession(me: WhoAmI, token: string | undefined, key: string | undefined, authEnabled: boolean): Session {
  const cache = new Map<string, Webka>();
  let sec: SecurityAdmin | undefined;
  return {
    me,
    token,
    key,
    authEnabled,
    webka(cluster = 'default') {
      let w = cache.get(cluster);
      if (w === undefined) cache.set(cluster, (w = new Webka({ url: origin(), token, cluster, fetch: watchedFetch })));
      return w;
    },
    security() {
      if (authEnabled && key === undefined) return undefined;
      return (sec ??= new SecurityAdmin(new HttpClient({ url: origin(), token: authEnabled ? key : undefined, fetch: watchedFetch })));
    },
  };
}

export const session = signal<Session | null>(null);
/** Why the user is on the sign-in page (an expired session, a bad key). */
export const signInReason = signal<string>('');

/** A 401 after sign-in means the token expired or was revoked: back to the sign-in page. */
const watchedFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  if (res.status === 401 && session.value !== null && session.value.authEnabled) {
    sessionStorage.removeItem(TOKEN_KEY);
    signInReason.value = 'Your session ended (the token expired or was revoked). Sign in again.';
    session.value = null;
  }
  return res;
};

async function whoami(token: string | undefined): Promise<WhoAmI> {
  return new SecurityAdmin(new HttpClient({ url: origin(), token })).whoami();
}

/** Resumes a session: no credentials with auth off, else a token kept from this tab. */
export async function resume(): Promise<'signed-in' | 'needs-sign-in'> {
  try {
    session.value = makeSession(await whoami(undefined), undefined, undefined, false);
    return 'signed-in';
  } catch (err) {
    if (!(err instanceof WebkaError) || err.code !== 'UNAUTHENTICATED') throw err;
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token !== null) {
    try {
      session.value = makeSession(await whoami(token), token, undefined, true);
      return 'signed-in';
    } catch {
      sessionStorage.removeItem(TOKEN_KEY);
    }
  }
  return 'needs-sign-in';
}

/** Exchanges an API key for a browser token; keeps the key in memory for the Security page. */
export async function signIn(key: string): Promise<void> {
  const minted = await new HttpClient({ url: origin(), token: key }).json<{ token: string }>('POST', '/v1/tokens', {
    body: { grants: GRANTS, ttlSeconds: TOKEN_TTL_SECONDS },
  });
  sessionStorage.setItem(TOKEN_KEY, minted.token);
  const me = await whoami(minted.token);
  signInReason.value = '';
  session.value = makeSession(me, minted.token, key, true);
}

/** The id of an API key (`wk_<id>_<secret>`), or undefined for anything else. */
export const keyIdOf = (key: string | undefined): string | undefined => /^wk_([0-9a-f]{16})_/.exec(key ?? '')?.[1];

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  signInReason.value = '';
  session.value = null;
}

/** Gives the in-memory key back to a session that lost it in a reload, or forgets a revoked one (Security page). */
export function rememberKey(key: string | undefined): void {
  const s = session.value;
  if (s !== null) session.value = makeSession(s.me, s.token, key, s.authEnabled);
}

/**
 * Whether the user could create topics in `cluster`: a superuser, or some ACL that allows create
 * on topics there. A hint for showing the form; the broker decides on the named topic.
 */
export function mayCreateTopics(s: Session, cluster: string): boolean {
  if (s.me.superuser) return true;
  return s.me.acls.some((a: Acl) => a.effect === 'allow' && a.resource.type === 'topic' && (a.resource.cluster === '*' || a.resource.cluster === cluster) && a.operations.some((o) => o === 'create' || o === 'admin'));
}
