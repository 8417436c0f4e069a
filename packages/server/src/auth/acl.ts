/**
 * ACL evaluation: deny wins; an allow of `admin` (Kafka's All) covers every operation, and an
 * allow of read, write, create, delete or alter implies describe (as in Kafka). Cheap enough for
 * every request: ACLs are indexed by principal name once per change, and a request scans only
 * its principal's entries and the wildcard ones.
 */
import type { AclEntry, Operation, Resource, ResourcePattern, RequestPrincipal, TokenGrant } from './types.js';

const IMPLY_DESCRIBE: ReadonlySet<Operation> = new Set(['read', 'write', 'create', 'delete', 'alter', 'describe', 'admin']);

export function patternMatches(p: ResourcePattern, r: Resource): boolean {
  if (p.type !== r.type) return false;
  if (r.type !== 'cluster' && p.cluster !== '*' && p.cluster !== r.cluster) return false;
  if (p.name === '*') return true;
  // The broker-wide resource is reached only by a wildcard pattern (above).
  if (r.type === 'cluster' && r.name === '*') return false;
  return p.patternType === 'prefixed' ? r.name.startsWith(p.name) : r.name === p.name;
}

function allows(ops: readonly Operation[], wanted: Operation): boolean {
  for (const op of ops) {
    if (op === wanted || op === 'admin') return true;
    if (wanted === 'describe' && IMPLY_DESCRIBE.has(op)) return true;
  }
  return false;
}

function denies(ops: readonly Operation[], wanted: Operation): boolean {
  for (const op of ops) if (op === wanted || op === 'admin') return true;
  return false;
}

/** ACLs grouped by principal, rebuilt whenever the ACL list changes. */
export class AclIndex {
  #byPrincipal = new Map<string, AclEntry[]>();

  constructor(acls: readonly AclEntry[]) {
    for (const a of acls) {
      let list = this.#byPrincipal.get(a.principal);
      if (list === undefined) this.#byPrincipal.set(a.principal, (list = []));
      list.push(a);
    }
  }

  /** True when some ACL allows `op` on `resource` to `principal` and none denies it. */
  permits(principal: string, op: Operation, resource: Resource): boolean {
    let allowed = false;
    for (const list of [this.#byPrincipal.get(principal), this.#byPrincipal.get('*')]) {
      if (list === undefined) continue;
      for (const a of list) {
        if (!patternMatches(a.resource, resource)) continue;
        if (a.effect === 'deny') {
          if (denies(a.operations, op)) return false;
        } else if (!allowed && allows(a.operations, op)) {
          allowed = true;
        }
      }
    }
    return allowed;
  }
}

export function grantsPermit(grants: readonly TokenGrant[], op: Operation, resource: Resource): boolean {
  for (const g of grants) if (patternMatches(g.resource, resource) && allows(g.operations, op)) return true;
  return false;
}

/**
 * The one authorisation question: may this principal perform `op` on `resource`? Streaming and
 * WebSocket code calls it for every frame that names another resource than its URL did.
 */
export function authorizeWith(acls: AclIndex, principal: RequestPrincipal, op: Operation, resource: Resource): boolean {
  if (principal.expiresAt !== undefined && Date.now() >= principal.expiresAt) return false;
  if (principal.grants !== undefined && !grantsPermit(principal.grants, op, resource)) return false;
  if (principal.superuser) return true;
  return acls.permits(principal.name, op, resource);
}
