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
    async (request, reply) => reply.code(201).send(broker.allocateProducer(request.params.cluster, request.body?.name)),
  );
}
