/**
 * Kafka's `authorizedOperations` (KIP-430): the operations the caller holds on one resource, as
 * the security hooks would judge them. Describe answers carry it so that a client (the console)
 * offers only what the caller may do; the broker still checks every request itself.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OPERATIONS, type Operation, type Resource } from '../auth/types.js';

export function authorizedOperations(app: FastifyInstance, request: FastifyRequest, resource: Resource): Operation[] {
  return OPERATIONS.filter((op) => app.security.authorize(request.principal, op, resource));
}
