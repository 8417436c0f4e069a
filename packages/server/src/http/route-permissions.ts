/**
 * What every HTTP route needs, in one table: the operations and the resource (derived from the
 * URL's params, or from the body where the URL does not name it). The security hooks enforce it
 * for every request; a route missing from the table is open to superusers only, and a test
 * (test/security/route-table.test.ts) fails for any registered route without an entry, so a new
 * route must be added here. Keys are `METHOD url` with Fastify's route pattern
 * (`request.routeOptions.url`); HEAD uses the GET entry.
 *
 * `describe` is what makes a resource visible: a caller who cannot describe a topic is answered
 * exactly as if it did not exist (404 TOPIC_NOT_FOUND), and lists are filtered the same way.
 */
import type { Operation, Resource } from '../auth/types.js';
import { topicNameFor } from '../durable-streams/stream-path.js';
import { acceptsEventStream } from './accept.js';

type Params = Record<string, string>;
type Headers = Record<string, string | string[] | undefined>;

export interface RoutePermission {
  /** No credentials needed. */
  public?: true;
  /**
   * Brokers of the cluster only, authenticated by the inter-broker secret (auth/inter-broker.ts);
   * any client, a superuser too, gets 403 BROKER_ONLY. Open with authentication off.
   */
  broker?: true;
  /** Superusers authenticated by API key only; 'self' also lets a principal act on itself (:principal). */
  admin?: true | 'self';
  /** Operations needed on `resource` (all of them). Absent with no `admin`: any authenticated caller. */
  ops?: Operation[];
  resource?: (params: Params) => Resource;
  /** Resources named in the body (each needs `ops`): checked after the body is parsed. */
  bodyResources?: (params: Params, body: unknown) => Resource[];
  /** Charged to the principal's produce or fetch byte quota. */
  quota?: 'produce' | 'fetch';
  /** Counts against the long-poll caps when true for the request. */
  longPoll?: (query: Record<string, unknown>, headers: Headers) => boolean;
  /** Counts against the stream caps (SSE, WebSocket, live reads) for its whole life. */
  stream?: true | ((query: Record<string, unknown>, headers: Headers) => boolean);
  /** A list answer: items the caller cannot describe are removed. */
  filter?: { field: string; resource: (item: Record<string, unknown>, params: Params) => Resource };
  /** An admin change: recorded in the audit log under this action name. */
  audit?: string;
}

const cluster = (p: Params): Resource => ({ type: 'cluster', name: p.cluster });
const topic = (p: Params): Resource => ({ type: 'topic', cluster: p.cluster, name: p.topic });
const group = (p: Params): Resource => ({ type: 'group', cluster: p.cluster, name: p.group });
const broker = (): Resource => ({ type: 'cluster', name: '*' });
const field = (body: unknown, k: string): unknown => (body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[k] : undefined);
const named = (body: unknown, make: (name: string) => Resource): Resource[] => {
  const n = field(body, 'name');
  return typeof n === 'string' ? [make(n)] : [];
};
/** Topics named by a subscription ({"topics":[...]}) or by offsets ({"offsets":[{"topic"}]}). */
const bodyTopics = (p: Params, body: unknown): Resource[] => {
  const names = new Set<string>();
  const topics = field(body, 'topics');
  if (Array.isArray(topics)) for (const t of topics) if (typeof t === 'string') names.add(t);
  const offsets = field(body, 'offsets');
  if (Array.isArray(offsets)) for (const o of offsets) if (typeof field(o, 'topic') === 'string') names.add(field(o, 'topic') as string);
  return [...names].map((name) => ({ type: 'topic', cluster: p.cluster, name }));
};
const eventStream = (_q: Record<string, unknown>, h: Headers): boolean => acceptsEventStream(h.accept);
/** Durable Streams: a stream path is a topic of the "streams" cluster (durable-streams/stream-path.ts). */
const STREAMS_CLUSTER = 'streams';
const streamTopic = (p: Params): Resource => {
  let path = p['*'] ?? '';
  try {
    path = decodeURIComponent(path);
  } catch {
    // the route answers 400 for it
  }
  return { type: 'topic', cluster: STREAMS_CLUSTER, name: topicNameFor(path) };
};
const liveRead = (q: Record<string, unknown>): boolean => q.live !== undefined && q.live !== 'false';

export const ROUTE_PERMISSIONS: Readonly<Record<string, RoutePermission>> = {
  // ---- operations: open, so that probes and API explorers work without a key
  'GET /': { public: true },
  'GET /health': { public: true },
  'GET /ready': { public: true },
  'GET /openapi.json': { public: true },
  // The web console's page and assets (src/http/routes/console.ts): the page signs in itself.
  'GET /console': { public: true },
  'GET /console/': { public: true },
  'GET /console/*': { public: true },
  'GET /metrics': { ops: ['describe'], resource: broker },

  // ---- clusters
  'GET /v1/clusters': { filter: { field: 'clusters', resource: (item) => ({ type: 'cluster', name: String(item.name) }) } },
  'POST /v1/clusters': {
    ops: ['create'],
    bodyResources: (_p, body) => named(body, (name) => ({ type: 'cluster', name })),
    audit: 'cluster.create',
  },
  'GET /v1/clusters/:cluster': { ops: ['describe'], resource: cluster },
  'PATCH /v1/clusters/:cluster': { ops: ['alter'], resource: cluster, audit: 'cluster.alter' },
  'DELETE /v1/clusters/:cluster': { ops: ['delete'], resource: cluster, audit: 'cluster.delete' },

  // ---- topics
  'GET /v1/clusters/:cluster/topics': {
    ops: ['describe'],
    resource: cluster,
    filter: { field: 'topics', resource: (item, p) => ({ type: 'topic', cluster: p.cluster, name: String(item.name) }) },
  },
  'POST /v1/clusters/:cluster/topics': {
    ops: ['create'],
    bodyResources: (p, body) => named(body, (name) => ({ type: 'topic', cluster: p.cluster, name })),
    audit: 'topic.create',
  },
  'GET /v1/clusters/:cluster/topics/:topic': { ops: ['describe'], resource: topic },
  'PATCH /v1/clusters/:cluster/topics/:topic': { ops: ['alter'], resource: topic, audit: 'topic.alter' },
  'DELETE /v1/clusters/:cluster/topics/:topic': { ops: ['delete'], resource: topic, audit: 'topic.delete' },

  // ---- records
  'POST /v1/clusters/:cluster/topics/:topic/records': { ops: ['write'], resource: topic, quota: 'produce' },
  'GET /v1/clusters/:cluster/topics/:topic/partitions': { ops: ['describe'], resource: topic },
  'GET /v1/clusters/:cluster/topics/:topic/partitions/:partition/records': {
    ops: ['read'],
    resource: topic,
    quota: 'fetch',
    longPoll: (q, h) => q.maxWaitMs !== undefined && q.maxWaitMs !== '0' && !eventStream(q, h),
    stream: eventStream,
  },
  // SSE of a whole topic (src/http/streaming/sse-routes.ts)
  'GET /v1/clusters/:cluster/topics/:topic/records': { ops: ['read'], resource: topic, stream: true },
  // WebSocket: the upgrade needs only a principal; each frame that names a topic or group is
  // checked with app.security.authorize (src/http/streaming/ws-session.ts).
  'GET /v1/ws': { stream: true },
  'GET /v1/clusters/:cluster/topics/:topic/partitions/:partition/offsets': { ops: ['describe'], resource: topic },
  // Kafka asks IdempotentWrite on the cluster for this.
  'POST /v1/clusters/:cluster/producers': { ops: ['write'], resource: cluster },

  // ---- transactions (src/http/routes/transactions.ts). Like producer ids: write on the cluster
  // (Kafka asks Write on the TransactionalId); an id belongs to the principal that initialised it,
  // checked by the coordinator. A transaction's offsets also need read on the group and its
  // topics, checked in the handler (the group is named in the body).
  'POST /v1/clusters/:cluster/transactions': { ops: ['write'], resource: cluster },
  'GET /v1/clusters/:cluster/transactions': { ops: ['describe'], resource: cluster },
  'GET /v1/clusters/:cluster/transactions/:transactionalId': { ops: ['describe'], resource: cluster },
  'POST /v1/clusters/:cluster/transactions/:transactionalId/offsets': { ops: ['write'], resource: cluster },
  'POST /v1/clusters/:cluster/transactions/:transactionalId/commit': { ops: ['write'], resource: cluster },
  'POST /v1/clusters/:cluster/transactions/:transactionalId/abort': { ops: ['write'], resource: cluster, audit: 'transaction.abort' },

  // ---- consumer groups (src/http/routes/groups.ts). As in Kafka: joining, polling and committing
  // need read on the group, and read on each topic named; a pattern subscription is filtered by
  // the coordinator with app.security.authorize.
  'GET /v1/clusters/:cluster/groups': {
    ops: ['describe'],
    resource: cluster,
    filter: { field: 'groups', resource: (item, p) => ({ type: 'group', cluster: p.cluster, name: String(item.group) }) },
  },
  'GET /v1/clusters/:cluster/groups/:group': { ops: ['describe'], resource: group },
  'DELETE /v1/clusters/:cluster/groups/:group': { ops: ['delete'], resource: group, audit: 'group.delete' },
  'POST /v1/clusters/:cluster/groups/:group/members': { ops: ['read'], resource: group, bodyResources: bodyTopics },
  'GET /v1/clusters/:cluster/groups/:group/members/:member/records': {
    ops: ['read'],
    resource: group,
    quota: 'fetch',
    longPoll: (q) => q.maxWaitMs !== undefined && q.maxWaitMs !== '0',
  },
  'POST /v1/clusters/:cluster/groups/:group/members/:member/heartbeat': { ops: ['read'], resource: group },
  'PUT /v1/clusters/:cluster/groups/:group/members/:member/subscription': { ops: ['read'], resource: group, bodyResources: bodyTopics },
  'DELETE /v1/clusters/:cluster/groups/:group/members/:member': { ops: ['read'], resource: group },
  'POST /v1/clusters/:cluster/groups/:group/members/:member/offsets': { ops: ['read'], resource: group, bodyResources: bodyTopics },
  'POST /v1/clusters/:cluster/groups/:group/offsets': { ops: ['read'], resource: group, bodyResources: bodyTopics, audit: 'group.commit' },
  'GET /v1/clusters/:cluster/groups/:group/offsets': { ops: ['describe'], resource: group },
  'POST /v1/clusters/:cluster/groups/:group/offsets/reset': { ops: ['alter'], resource: group, audit: 'group.reset-offsets' },

  // ---- Durable Streams (src/durable-streams/): each stream is a topic of the "streams" cluster
  'PUT /v1/stream/*': { ops: ['create'], resource: streamTopic, audit: 'stream.create' },
  'POST /v1/stream/*': { ops: ['write'], resource: streamTopic, quota: 'produce' },
  'GET /v1/stream/*': { ops: ['read'], resource: streamTopic, quota: 'fetch', stream: liveRead },
  'HEAD /v1/stream/*': { ops: ['describe'], resource: streamTopic },
  'DELETE /v1/stream/*': { ops: ['delete'], resource: streamTopic, audit: 'stream.delete' },
  'GET /v1/streams': {
    filter: { field: 'streams', resource: (item) => ({ type: 'topic', cluster: STREAMS_CLUSTER, name: String(item.topic) }) },
  },
  // CORS preflight: browsers send it without credentials.
  'OPTIONS /v1/stream/*': { public: true },

  // ---- principals, keys, ACLs, tokens (src/http/routes/security.ts)
  'GET /v1/whoami': {},
  // ---- the broker itself (src/http/routes/broker-info.ts): totals count only what the caller sees
  'GET /v1/broker': {},
  'GET /v1/brokers': {},
  // ---- a cluster's partition moves (src/http/routes/cluster-admin.ts): Kafka asks Alter on the
  // cluster for reassignments and leader elections; here alter on the whole broker
  'POST /v1/clusters/:cluster/topics/:topic/partitions/:partition/reassignment': { ops: ['alter'], resource: broker, audit: 'partition.reassign' },
  'GET /v1/clusters/:cluster/topics/:topic/partitions/:partition/reassignment': { ops: ['describe'], resource: broker },
  'GET /v1/reassignments': { ops: ['describe'], resource: broker },
  'POST /v1/preferred-leader-election': { ops: ['alter'], resource: broker, audit: 'leader.elect-preferred' },
  'POST /v1/brokers/:nodeId/drain': { ops: ['alter'], resource: broker, audit: 'broker.drain' },
  'GET /v1/brokers/:nodeId/drain': { ops: ['describe'], resource: broker },
  'DELETE /v1/brokers/:nodeId/drain': { ops: ['alter'], resource: broker, audit: 'broker.undrain' },
  // between brokers only (the inter-broker credential): a follower's fetch from its leader, the
  // leader's epoch ends, a broker confirming it holds a change of the shared auth state, a broker
  // asking the controller to define __consumer_offsets
  'GET /v1/internal/replicas/channel': { broker: true },
  'GET /v1/internal/replicas/:topicId/:partition/fetch': { broker: true },
  'GET /v1/internal/replicas/:topicId/:partition/epoch-end': { broker: true },
  'GET /v1/internal/reads/:cluster/:topic/:partition': { broker: true },
  'GET /v1/internal/auth/revision': { broker: true },
  'POST /v1/internal/clusters/:cluster/internal-topics/:name': { broker: true },
  'DELETE /v1/internal/clusters/:cluster/internal-topics/:name': { broker: true },
  'POST /v1/internal/clusters/:cluster/transactions': { broker: true },
  'GET /v1/topic-configs': {},
  'GET /v1/principals': { admin: true },
  'POST /v1/principals': { admin: true, audit: 'principal.create' },
  'GET /v1/principals/:principal': { admin: 'self' },
  'DELETE /v1/principals/:principal': { admin: true, audit: 'principal.delete' },
  'GET /v1/principals/:principal/keys': { admin: 'self' },
  'POST /v1/principals/:principal/keys': { admin: 'self', audit: 'key.create' },
  'DELETE /v1/principals/:principal/keys/:keyId': { admin: 'self', audit: 'key.revoke' },
  'GET /v1/acls': { admin: true },
  'POST /v1/acls': { admin: true, audit: 'acl.create' },
  'DELETE /v1/acls/:aclId': { admin: true, audit: 'acl.delete' },
  'POST /v1/tokens': { audit: 'token.mint' },
};

/** Fastify's interactive docs (@fastify/swagger-ui) serve several routes under this prefix. */
const PUBLIC_PREFIX = '/docs';

export function permissionFor(method: string, url: string | undefined): RoutePermission | undefined {
  if (url === undefined) return undefined;
  if (url === PUBLIC_PREFIX || url.startsWith(PUBLIC_PREFIX + '/')) return { public: true };
  return ROUTE_PERMISSIONS[`${method} ${url}`] ?? (method === 'HEAD' ? ROUTE_PERMISSIONS[`GET ${url}`] : undefined);
}

export const resources = { cluster, topic, group, broker };
