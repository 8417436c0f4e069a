import type { FastifyInstance } from 'fastify';

/** Prometheus exposition of the broker's metrics (docs/operations.md lists them). */
export async function metricsRoutes(app: FastifyInstance): Promise<void> {
  const { registry } = app.security.metrics;
  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Metrics in the Prometheus text format (needs describe on cluster "*")' } }, async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
}
