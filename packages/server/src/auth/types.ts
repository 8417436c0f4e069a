/**
 * The vocabulary of authorisation, shared by the ACL evaluator, the route table, tokens and the
 * admin routes. Operations and resource types follow Kafka's ACL model (Read, Write, Create,
 * Delete, Alter, Describe, All), with `admin` in the place of Kafka's `All`.
 */
export const OPERATIONS = ['read', 'write', 'create', 'delete', 'alter', 'describe', 'admin'] as const;
export type Operation = (typeof OPERATIONS)[number];

export const RESOURCE_TYPES = ['cluster', 'topic', 'group'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/**
 * One concrete thing a request acts on. A Webka cluster is a namespace of topics and groups, so
 * topics and groups carry their cluster. `{ type: 'cluster', name: '*' }` stands for the whole
 * broker (metrics, broker-wide listings): only a wildcard ACL or a superuser reaches it.
 */
export type Resource =
  | { type: 'cluster'; name: string }
  | { type: 'topic' | 'group'; cluster: string; name: string };

/**
 * A set of resources, as ACLs and token grants name them: an exact name or a prefix, `*` for
 * every name. `cluster` scopes topic and group patterns (`*`, the default, for every cluster).
 */
export interface ResourcePattern {
  type: ResourceType;
  name: string;
  patternType: 'literal' | 'prefixed';
  cluster: string;
}

export interface AclEntry {
  id: string;
  /** A principal name, or `*` for every authenticated principal. */
  principal: string;
  effect: 'allow' | 'deny';
  operations: Operation[];
  resource: ResourcePattern;
  createdAt: number;
}

export interface TokenGrant {
  resource: ResourcePattern;
  operations: Operation[];
}

/**
 * Who is making a request, as the hooks attach it to `request.principal`. `superuser` bypasses
 * ACLs (Kafka's super.users). A token principal acts with its grants intersected with the ACLs of
 * the principal that minted it, and stops at `expiresAt` (ms since the epoch): long-lived streams
 * must end then (see src/auth/README.md).
 */
export interface RequestPrincipal {
  name: string;
  /** broker: another broker of the cluster, by the inter-broker secret (auth/inter-broker.ts). */
  via: 'key' | 'token' | 'anonymous' | 'broker';
  superuser: boolean;
  keyId?: string;
  grants?: TokenGrant[];
  expiresAt?: number;
  tokenId?: string;
  /**
   * Authenticated by the webka_token cookie or ?access_token= (what a browser's EventSource and
   * WebSocket can send): such credentials travel with cross-site requests and in URLs, so they
   * only ever read. A WebSocket opened with them may subscribe but not produce.
   */
  readOnly?: true;
}
