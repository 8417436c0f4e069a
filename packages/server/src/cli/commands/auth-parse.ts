/**
 * The short forms the auth commands take for resources, grants and lifetimes, so an ACL fits on
 * one line:
 *
 *   resource   <type>:[<cluster>/]<name>      type: topic, group or cluster
 *              topic:orders                   the topic "orders" in every cluster
 *              topic:prod/orders              ... in cluster "prod" only
 *              topic:orders.*                 every topic whose name starts with "orders."
 *              group:*  cluster:default       every group; the cluster "default"
 *   operations read,write,create,delete,alter,describe,admin (comma-separated)
 *   grant      <operations>:<resource>        read:topic:scores
 *   lifetime   seconds, or with a unit: 90s, 15m, 2h, 1d
 *
 * Names are [A-Za-z0-9._-], so neither "/" nor "*" can be part of one.
 */
import { InvalidArgumentError } from 'commander';
import type { AclOperation, ResourcePattern, TokenGrant } from '@webka/client';

const OPERATIONS: readonly string[] = ['read', 'write', 'create', 'delete', 'alter', 'describe', 'admin'];
const TYPES: readonly string[] = ['cluster', 'topic', 'group'];
const NAME = /^[A-Za-z0-9._-]+$/;

export function parseOperationList(v: string): AclOperation[] {
  const ops = v.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  if (ops.length === 0) throw new InvalidArgumentError(`operations are a comma-separated list of ${OPERATIONS.join(', ')}`);
  for (const op of ops) if (!OPERATIONS.includes(op)) throw new InvalidArgumentError(`unknown operation "${op}" (one of ${OPERATIONS.join(', ')})`);
  return [...new Set(ops)] as AclOperation[];
}

export function parseResource(v: string): ResourcePattern {
  const colon = v.indexOf(':');
  const type = colon < 0 ? '' : v.slice(0, colon).toLowerCase();
  if (!TYPES.includes(type)) throw new InvalidArgumentError(`resource "${v}" must be topic:<name>, group:<name> or cluster:<name> (see --help)`);
  let rest = v.slice(colon + 1);
  let cluster: string | undefined;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    if (type === 'cluster') throw new InvalidArgumentError('a cluster resource takes no cluster/ scope: cluster:<name>');
    cluster = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
    if (cluster !== '*' && !NAME.test(cluster)) throw new InvalidArgumentError(`"${cluster}" is not a cluster name`);
  }
  let patternType: 'literal' | 'prefixed' = 'literal';
  let name = rest;
  if (rest !== '*' && rest.endsWith('*')) {
    patternType = 'prefixed';
    name = rest.slice(0, -1);
  }
  if (name !== '*' && !NAME.test(name)) throw new InvalidArgumentError(`"${rest}" is not a name, a prefix ending in * or *`);
  return { type: type as ResourcePattern['type'], name, patternType, ...(cluster === undefined ? {} : { cluster }) };
}

/** `read,describe:topic:scores` */
export function parseGrant(v: string, acc: TokenGrant[] = []): TokenGrant[] {
  const colon = v.indexOf(':');
  if (colon <= 0) throw new InvalidArgumentError(`grant "${v}" must be <operations>:<resource>, e.g. read:topic:scores`);
  return [...acc, { operations: parseOperationList(v.slice(0, colon)), resource: parseResource(v.slice(colon + 1)) }];
}

const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

export function parseTtl(v: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(v.trim());
  const n = m === null ? NaN : Number(m[1]) * UNITS[m[2]];
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a number of seconds, or with a unit: 90s, 15m, 2h, 1d');
  return n;
}

/** The short form back, for tables: topic:prod/orders.* */
export function formatResource(r: ResourcePattern): string {
  const scope = r.type !== 'cluster' && r.cluster !== undefined && r.cluster !== '*' ? `${r.cluster}/` : '';
  return `${r.type}:${scope}${r.name}${r.patternType === 'prefixed' ? '*' : ''}`;
}
