import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { CreateProducerBody } from '@webka/protocol';

const err = { $ref: 'Error#' };

export async function producerRoutes(app: FastifyInstance): Promise<void> {
  const { broker } = app.webka;
  app.post<{ Params: { cluster: string }; Body: { name?: string } | undefined }>(
    '/clusters/:cluster/producers',
    {
      schema: {
        tags: ['producers'],
        summary: 'Obtain an idempotent producer id and epoch (a known name gets a new epoch, fencing the old one)',
        params: Type.Object({ cluster: Type.String() }),
        body: Type.Optional(CreateProducerBody),
        response: { 201: Type.Object({ producerId: Type.Integer(), producerEpoch: Type.Integer() }), 404: err },
      },
      // The body is optional (a bare POST asks for an anonymous producer), but the validator
      // would refuse a missing body as "not an object".
      preValidation: async (request) => {
        if (request.body === undefined || request.body === null) request.body = {};
      },
    },
    async (request, reply) => {
      // With authentication on, the id belongs to the caller, and a name is taken within the
      // caller's own namespace: another principal asking for the same name gets another
      // producer and cannot fence this one (docs/security.md, "Ownership"). "principal:" and
      // "/" cannot occur in a name, so these never meet a name given with authentication off
      // or a transactional id.
      const p = request.principal;
      const owned = p.via !== 'anonymous';
      const name = request.body?.name;
      const key = name === undefined || !owned ? name : `principal:${p.name}/${name}`;
      return reply.code(201).send(await broker.allocateProducer(request.params.cluster, key, owned ? p.name : undefined));
    },
  );
}
