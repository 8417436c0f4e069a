/**
 * The security layer of the HTTP app, installed on the root instance before any route, so every
 * route (REST, SSE, WebSocket upgrades, Durable Streams) passes through it:
 *
 *   onRequest      authenticate (before the body is read: an unauthenticated or over-quota upload
 *                  is refused without buffering it), authorise by the route table, quotas,
 *                  long-poll and stream caps, slow-body watch
 *   preParsing     decompress gzip/deflate/br bodies, capped by bodyLimit after decompression
 *   preHandler     authorise resources named in the body (create cluster/topic)
 *   preSerialization  filter lists to what the caller may describe
 *   onSend         charge fetch bytes; close the connection after refusing an unread body
 *   onResponse     metrics; audit log of admin changes
 *
 * `app.security.authorize(principal, op, resource)` answers the same question for code that
 * acts on resources not named by its URL (WebSocket frames, group subscriptions).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import type { Broker } from '../../broker.js';
import { authRequired, isLoopback, type Config } from '../../config/config.js';
import { WebkaError } from '../../errors.js';
import { AuthStore } from '../../auth/auth-store.js';
import { TokenKeyRing } from '../../auth/token-keys.js';
import { TokenService } from '../../auth/tokens.js';
import { AuditLog } from '../../auth/audit-log.js';
import { bootstrapAdmin } from '../../auth/bootstrap.js';
import { authorizeWith } from '../../auth/acl.js';
import { permissionFor, type RoutePermission } from '../route-permissions.js';
import type { Operation, RequestPrincipal, Resource } from '../../auth/types.js';
import { Quotas, type QuotaKind } from '../../limits/quotas.js';
import { ConcurrencyCap } from '../../limits/concurrency-caps.js';
import { ConnectionGuard } from '../../limits/connection-guard.js';
import { decodeBody } from '../../limits/body-decoding.js';
import type { BrokerMetrics } from '../../metrics/broker-metrics.js';
import { Authenticator, AuthFailure } from './authenticate.js';
import { InterBrokerCredential, PRINCIPAL_HEADER, decodeAssertion } from '../../auth/inter-broker.js';
import { SharedAuthHome } from '../../auth/shared-auth-home.js';
import type { Coordinator } from '../../cluster/coordinator.js';
import { idleTimeout } from '../server-options.js';

export interface SecurityContext {
  /** Whether credentials are required (config `auth`, resolved against the listen address). */
  enabled: boolean;
  store: AuthStore;
  tokens: TokenService;
  audit: AuditLog;
  quotas: Quotas;
  longPolls: ConcurrencyCap;
  streams: ConcurrencyCap;
  guard: ConnectionGuard;
  metrics: BrokerMetrics;
  /** Every route registered, as `METHOD url` (the route-table test reads it). */
  routes: Array<{ method: string; url: string }>;
  /** May this principal perform op on resource? (false once a token principal has expired) */
  authorize(principal: RequestPrincipal, op: Operation, resource: Resource): boolean;
  /** A superuser acting with its own key (not a token): may manage principals and ACLs. */
  isAdmin(principal: RequestPrincipal): boolean;
  /**
   * Authorises the request's route again for its principal, as its start did (the route's
   * operations on the resource its URL names), and throws what a fresh request would get
   * (FORBIDDEN, or not found without describe). A live read asks before each delivery, so that
   * a right revoked while it waits stops it. Nothing to check with authentication off.
   */
  reauthorize(request: FastifyRequest): void;
  /** In a cluster: this broker's credential towards the others (null on a single node, or with no interBrokerSecret). */
  interBroker: InterBrokerCredential | null;
  /** In a cluster: the shared home of principals, keys and ACLs. */
  authHome: SharedAuthHome | null;
}

/** How long a change of the shared auth state waits for every live broker to confirm it holds it. */
export const AUTH_CONFIRM_MS = 5_000;

declare module 'fastify' {
  interface FastifyInstance {
    security: SecurityContext;
  }
  interface FastifyRequest {
    /** Who sent the request; set before any handler runs (anonymous superuser when auth is off). */
    principal: RequestPrincipal;
  }
}

const ANONYMOUS: RequestPrincipal = Object.freeze({ name: 'anonymous', via: 'anonymous', superuser: true });
/** After a token expires, a stream still open this long (its owner did not end it) is cut. */
const EXPIRY_GRACE_MS = 5_000;

export function authEnabled(config: Config): boolean {
  return authRequired(config);
}

function notFound(r: Resource): WebkaError {
  if (r.type === 'cluster') return r.name === '*' ? new WebkaError('FORBIDDEN', 'this needs describe on every cluster ("*")') : new WebkaError('CLUSTER_NOT_FOUND', `cluster "${r.name}" does not exist`);
  if (r.type === 'topic') return new WebkaError('TOPIC_NOT_FOUND', `topic "${r.name}" does not exist in cluster "${r.cluster}"`);
  return new WebkaError('GROUP_NOT_FOUND', `group "${r.name}" does not exist in cluster "${r.cluster}"`);
}

function label(r: Resource): string {
  return r.type === 'cluster' ? `cluster "${r.name}"` : `${r.type} "${r.name}" in cluster "${r.cluster}"`;
}

function hasBody(request: FastifyRequest): boolean {
  const len = request.headers['content-length'];
  return (len !== undefined && len !== '0') || request.headers['transfer-encoding'] !== undefined;
}

interface RequestState {
  perm: RoutePermission | undefined;
  who: string;
  bytesAtStart: number;
}
const STATE = Symbol('webka.security');
type WithState = FastifyRequest & { [STATE]?: RequestState };

export async function installSecurity(app: FastifyInstance, broker: Broker, config: Config, metrics: BrokerMetrics, coordinator?: Coordinator): Promise<void> {
  const enabled = authEnabled(config);
  const store = new AuthStore(broker.catalog);
  const interBroker = coordinator !== undefined && config.interBrokerSecret !== '' ? new InterBrokerCredential(config.nodeId, config.interBrokerSecret) : null;
  // In a cluster, principals, keys and ACLs live in one document all brokers share; a change is
  // answered once every live broker confirms it holds it (or AUTH_CONFIRM_MS has passed).
  const authHome = coordinator === undefined ? null : await SharedAuthHome.attach(coordinator, store, async (revision) => {
    if (interBroker === null) return;
    const peers = (await coordinator.brokers().catch(() => [])).filter((b) => b.nodeId !== config.nodeId);
    const late = await Promise.all(peers.map(async (b) => {
      try {
        const r = await fetch(`${b.url}/v1/internal/auth/revision?atLeast=${revision}`, { headers: { authorization: interBroker.header() }, signal: AbortSignal.timeout(AUTH_CONFIRM_MS) });
        return r.ok ? null : b.nodeId;
      } catch {
        return b.nodeId;
      }
    }));
    const missing = late.filter((n) => n !== null);
    if (missing.length > 0) app.log.warn({ brokers: missing, revision }, 'brokers did not confirm a change of principals, keys or ACLs in time; they take it from etcd when they reach it');
  });
  if (authHome !== null) app.addHook('onClose', async () => authHome.close());
  const ring = new TokenKeyRing(config.dataDir, config.tokenKeyRotationMs, config.tokenMaxTtlSeconds * 1000);
  const rotation = setInterval(() => ring.rotateIfDue(Date.now()), Math.min(config.tokenKeyRotationMs, 60_000));
  rotation.unref();
  const tokens = new TokenService(ring, config.tokenMaxTtlSeconds);
  const audit = new AuditLog(config.dataDir, (entry) => app.log.info({ audit: true, ...entry }, 'audit'));
  const quotas = new Quotas({ requests: config.quotaRequestsPerSec, produce: config.quotaProduceBytesPerSec, fetch: config.quotaFetchBytesPerSec, burstSeconds: config.quotaBurstSeconds });
  const longPolls = new ConcurrencyCap(config.maxLongPolls, config.maxLongPollsPerPrincipal);
  const streams = new ConcurrencyCap(config.maxStreams, config.maxStreamsPerPrincipal);
  const guard = new ConnectionGuard(app.server, { ...config, idleTimeoutMs: idleTimeout(config) });
  const authenticator = new Authenticator(store, tokens, interBroker);
  const authorize = (p: RequestPrincipal, op: Operation, r: Resource): boolean => authorizeWith(store.acls, p, op, r);
  const isAdmin = (p: RequestPrincipal): boolean => p.superuser && p.grants === undefined;
  const routes: SecurityContext['routes'] = [];
  metrics.attachBroker(broker);
  metrics.setLiveCounts({ connections: () => guard.open, streams: () => streams.size, longPolls: () => longPolls.size });
  let closedSeen = { ...guard.closed };
  const countClosed = (): void => {
    for (const k of Object.keys(closedSeen) as Array<keyof typeof closedSeen>) {
      const d = guard.closed[k] - closedSeen[k];
      if (d > 0) metrics.refused.inc({ reason: k }, d);
    }
    closedSeen = { ...guard.closed };
  };
  // (check is a const defined below; reauthorize only runs once requests do)
  const reauthorize = (request: WithState): void => {
    const perm = request[STATE]?.perm;
    const p = request.principal;
    if (!enabled || p === null || p === undefined || perm?.ops === undefined || perm.resource === undefined) return;
    check(p, perm.ops, perm.resource(request.params as Record<string, string>));
  };
  app.decorate('security', { enabled, store, tokens, audit, quotas, longPolls, streams, guard, metrics, routes, authorize, isAdmin, reauthorize, interBroker, authHome } satisfies SecurityContext);
  app.decorateRequest('principal', null as unknown as RequestPrincipal);

  if (enabled) {
    const file = await bootstrapAdmin(store, config.dataDir);
    if (file !== null && coordinator !== undefined) app.log.warn('this is the first broker of the cluster to start with authentication on: "admin" and its key hold on every broker of the cluster');
    if (file !== null) app.log.warn({ file }, 'authentication is on and no principal existed: created superuser "admin"; its API key is in this file (mode 0600). Store the key elsewhere and delete the file');
  } else if (config.auth === 'false' && !isLoopback(config.host)) {
    app.log.warn({ host: config.host }, 'authentication is OFF (auth=false) on a non-loopback address: anyone who can reach this port has full control');
  }

  app.addHook('onRoute', (route) => {
    for (const m of Array.isArray(route.method) ? route.method : [route.method]) routes.push({ method: m, url: route.url });
  });
  app.addHook('onReady', async () => {
    const missing = routes.filter((r) => r.method !== 'HEAD' && permissionFor(r.method, r.url) === undefined);
    if (missing.length > 0) app.log.warn({ routes: missing.map((r) => `${r.method} ${r.url}`) }, 'routes missing from src/http/route-permissions.ts: open to superusers only');
  });
  app.addHook('onClose', async () => {
    clearInterval(rotation);
    guard.close();
    quotas.close();
    audit.close();
  });

  const refuse429 = (kind: string, waitMs: number, what: string): WebkaError => {
    metrics.throttled.inc({ quota: kind });
    return new WebkaError('TOO_MANY_REQUESTS', what, { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) });
  };
  const checkQuota = (kind: QuotaKind, who: string, now: number): void => {
    const wait = quotas.waitMs(kind, who, now);
    if (wait > 0) throw refuse429(kind, wait, `the ${kind} quota of "${who}" is used up; retry after the Retry-After seconds`);
  };

  const check = (p: RequestPrincipal, ops: readonly Operation[], r: Resource): void => {
    for (const op of ops) {
      if (authorize(p, op, r)) continue;
      metrics.authFailures.inc({ reason: 'forbidden' });
      if (op !== 'create' && !authorize(p, 'describe', r)) throw notFound(r);
      throw new WebkaError('FORBIDDEN', `principal "${p.name}" may not ${op} ${label(r)}`);
    }
  };

  /**
   * The principal a request acts as: a broker forwarding a client's request asserts the client
   * (x-webka-principal), taken only from a request authenticated as a broker and checked against
   * the shared auth state; a broker on its own calls only the inter-broker routes; a client
   * calls no inter-broker route and asserts no one.
   */
  const asserted = (request: FastifyRequest, p: RequestPrincipal, perm: RoutePermission | undefined): RequestPrincipal => {
    const header = request.headers[PRINCIPAL_HEADER];
    if (header !== undefined) {
      if (p.via !== 'broker' && !config.debugTrustPrincipalHeader) {
        metrics.authFailures.inc({ reason: 'forbidden' });
        throw new WebkaError('BROKER_ONLY', `${PRINCIPAL_HEADER} is accepted only from another broker of the cluster; send your own credentials`);
      }
      const a = typeof header === 'string' ? decodeAssertion(header) : null;
      const record = a === null ? undefined : store.findPrincipal(a.name);
      const gone = a === null || record === undefined || (a.via === 'key' && a.keyId !== undefined && !store.hasKey(a.name, a.keyId)) || (a.expiresAt !== undefined && a.expiresAt <= Date.now());
      if (gone) {
        metrics.authFailures.inc({ reason: 'invalid' });
        throw new AuthFailure('invalid', 'the forwarded principal is not valid (unknown, revoked or expired)');
      }
      const { name, via, keyId, tokenId, grants, expiresAt, readOnly } = a;
      return { name, via, superuser: record.superuser, ...(keyId === undefined ? {} : { keyId }), ...(tokenId === undefined ? {} : { tokenId }), ...(grants === undefined ? {} : { grants }), ...(expiresAt === undefined ? {} : { expiresAt }), ...(readOnly === true ? { readOnly } : {}) };
    }
    if (perm?.broker === true && p.via !== 'broker') {
      metrics.authFailures.inc({ reason: 'forbidden' });
      throw new WebkaError('BROKER_ONLY', `${request.method} ${request.routeOptions.url} is called only by the brokers of the cluster`);
    }
    if (p.via === 'broker' && perm?.broker !== true) throw new WebkaError('BROKER_ONLY', 'a broker\'s own credential calls only the inter-broker routes; a forwarded request names its principal');
    return p;
  };

  app.addHook('onRequest', async (request: WithState, reply: FastifyReply) => {
    const perm = permissionFor(request.method, request.routeOptions.url);
    const state: RequestState = { perm, who: '', bytesAtStart: request.raw.socket?.bytesRead ?? 0 };
    request[STATE] = state;
    if (request.routeOptions.url === undefined || perm?.public === true) {
      request.principal = ANONYMOUS;
      return;
    }
    let p: RequestPrincipal;
    if (enabled) {
      try {
        p = await authenticator.authenticate(request);
      } catch (err) {
        if (err instanceof AuthFailure) {
          metrics.authFailures.inc({ reason: err.reason });
          if (err.code === 'UNAUTHENTICATED') reply.header('www-authenticate', 'Bearer realm="webka"');
        }
        throw err;
      }
    } else {
      p = ANONYMOUS;
      const q = request.query as Record<string, unknown> | undefined;
      if (q?.access_token !== undefined) delete q.access_token;
    }
    if (enabled) p = asserted(request, p, perm);
    request.principal = p;
    const who = enabled ? p.name : (request.ip ?? 'unknown');
    state.who = who;

    const params = request.params as Record<string, string>;
    if (perm?.broker === true) {
      // a broker (checked above), or anyone with authentication off
    } else if (perm === undefined) {
      if (!isAdmin(p)) throw new WebkaError('FORBIDDEN', `${request.method} ${request.routeOptions.url} is not in the permission table; only superusers may call it`);
    } else if (perm.admin !== undefined) {
      const self = perm.admin === 'self' && p.via === 'key' && params.principal === p.name;
      if (!isAdmin(p) && !self) {
        metrics.authFailures.inc({ reason: 'forbidden' });
        throw new WebkaError('FORBIDDEN', 'managing principals, keys and ACLs needs a superuser\'s API key');
      }
    } else if (perm.ops !== undefined && perm.resource !== undefined) {
      check(p, perm.ops, perm.resource(params));
    }

    const now = Date.now();
    if (quotas.enabled('requests')) {
      checkQuota('requests', who, now);
      quotas.charge('requests', who, 1, now);
    }
    if (perm?.quota !== undefined && quotas.enabled(perm.quota)) {
      checkQuota(perm.quota, who, now);
      const len = Number(request.headers['content-length']);
      if (perm.quota === 'produce' && len > 0) quotas.charge('produce', who, len, now);
    }

    const query = (request.query ?? {}) as Record<string, unknown>;
    const isStream = perm?.stream === true || (typeof perm?.stream === 'function' && perm.stream(query, request.headers));
    const capped = isStream ? streams : perm?.longPoll?.(query, request.headers) === true ? longPolls : undefined;
    if (capped !== undefined) {
      if (!capped.acquire(who)) throw refuse429(capped === streams ? 'streams' : 'longPolls', 1000, `too many concurrent ${capped === streams ? 'streams' : 'long polls'} (limits: ${capped.maxPerOwner} per principal, ${capped.maxTotal} in total)`);
      reply.raw.once('close', () => capped.release(who));
    }

    if (p.expiresAt !== undefined && isStream) {
      // The stream's owner ends it with a clear event at expiresAt; this is the safety net.
      const t = setTimeout(() => request.raw.socket?.destroy(), Math.max(0, p.expiresAt - now) + EXPIRY_GRACE_MS);
      t.unref();
      reply.raw.once('close', () => clearTimeout(t));
    }

    if (hasBody(request) && request.raw.socket !== null) {
      const socket: Socket = request.raw.socket;
      const stop = guard.watchUpload(socket, () => {
        request.log.warn({ minBodyBytesPerSec: config.minBodyBytesPerSec }, 'request body too slow: connection closed');
        socket.destroy();
      });
      request.raw.once('end', stop);
      request.raw.once('close', stop);
    }
  });

  app.addHook('preParsing', async (request, _reply, payload) => decodeBody(payload, request.headers['content-encoding']));

  app.addHook('preHandler', async (request: WithState) => {
    const perm = request[STATE]?.perm;
    if (perm?.bodyResources === undefined || perm.ops === undefined || !enabled) return;
    for (const r of perm.bodyResources(request.params as Record<string, string>, request.body)) check(request.principal, perm.ops, r);
  });

  app.addHook('preSerialization', async (request: WithState, _reply, payload: unknown) => {
    const perm = request[STATE]?.perm;
    const p = request.principal;
    if (perm?.filter === undefined || p === null || isAdmin(p) || payload === null || typeof payload !== 'object') return payload;
    const list = (payload as Record<string, unknown>)[perm.filter.field];
    if (!Array.isArray(list)) return payload;
    const params = request.params as Record<string, string>;
    const visible = list.filter((item) => authorize(p, 'describe', perm.filter!.resource(item as Record<string, unknown>, params)));
    return { ...(payload as Record<string, unknown>), [perm.filter.field]: visible };
  });

  app.addHook('onSend', async (request: WithState, reply, payload) => {
    const state = request[STATE];
    if (state?.perm?.quota === 'fetch' && reply.statusCode === 200 && quotas.enabled('fetch')) {
      const n = typeof payload === 'string' ? Buffer.byteLength(payload) : Buffer.isBuffer(payload) ? payload.length : 0;
      quotas.charge('fetch', state.who, n, Date.now());
    }
    // A refused request whose body was not read: close rather than read (and discard) the rest.
    if (reply.statusCode >= 400 && !request.raw.complete && hasBody(request)) reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onResponse', async (request: WithState, reply) => {
    const state = request[STATE];
    const route = request.routeOptions.url ?? 'unmatched';
    const status = String(reply.statusCode);
    metrics.observeRequest(request.method, route, status, reply.elapsedTime / 1000);
    countClosed();
    if (state === undefined) return;
    if (state.perm?.quota === 'produce' && request.headers['content-length'] === undefined && quotas.enabled('produce')) {
      quotas.charge('produce', state.who, (request.raw.socket?.bytesRead ?? 0) - state.bytesAtStart, Date.now());
    }
    const action = state.perm?.audit;
    if (action !== undefined && request.principal !== null && reply.statusCode !== 401) {
      const body = request.body as Record<string, unknown> | undefined;
      const target: Record<string, unknown> = { ...(request.params as object) };
      if (body !== null && typeof body === 'object') {
        for (const k of ['name', 'principal', 'effect', 'operations', 'resource', 'superuser', 'grants', 'ttlSeconds']) if (k in body) target[k] = body[k];
      }
      audit.record({
        principal: request.principal.name,
        via: request.principal.via,
        action,
        target,
        outcome: reply.statusCode < 400 ? 'success' : 'failure',
        status: reply.statusCode,
        requestId: request.id,
        address: request.ip,
      });
    }
  });
}
