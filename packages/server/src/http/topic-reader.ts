/**
 * The topic read check that every delivery path applies to what it returns: undefined when the
 * caller may read everything (auth off, or an admin), otherwise a predicate over topic names.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

export function topicReader(app: FastifyInstance, request: FastifyRequest<{ Params: { cluster: string } }>): ((topic: string) => boolean) | undefined {
  const security = app.security;
  const principal = request.principal;
  if (!security.enabled || principal === null || principal === undefined || security.isAdmin(principal)) return undefined;
  const cluster = request.params.cluster;
  return (topic) => security.authorize(principal, 'read', { type: 'topic', cluster, name: topic });
}
