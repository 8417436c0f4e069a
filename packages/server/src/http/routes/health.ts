import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';

/** Liveness (the process answers) and readiness (the broker accepts work). */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/health', { schema: { tags: ['ops'], summary: 'Liveness', response: { 200: Type.Object({ status: Type.String() }) } } }, async () => ({ status: 'ok' }));
  app.get(
    '/ready',
    { schema: { tags: ['ops'], summary: 'Readiness: 200 while the broker accepts requests, 503 while it starts or stops' } },
    async (_request, reply) => {
      const { broker, shutdown } = app.webka;
      if (broker.closed || shutdown.aborted) return reply.code(503).send({ status: 'stopping' });
      const offline = broker.offlinePartitions();
      return { status: 'ready', offlinePartitions: offline };
    },
  );
}
