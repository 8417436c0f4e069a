/**
 * The SSE route that has no plain-JSON twin: a whole topic's records. (The partition stream is
 * content negotiation on the fetch route in routes/records.ts, which delegates to sse-records.ts.)
 */
import type { FastifyInstance } from 'fastify';
import { IsolationSchema, ReadValueFormatSchema } from '@webka/protocol';
import { Type } from '@sinclair/typebox';
import { WebkaError } from '../../errors.js';
import { streamTopic, wantsEventStream, type StreamQuery } from './sse-records.js';

const err = { $ref: 'Error#' };

export const StreamQuerySchema = Type.Object({
  offset: Type.Optional(
    Type.String({
      pattern: '^(earliest|latest|t:[0-9a-z.]{1,30000})$',
      description: 'earliest (default), latest, or a topic position "t:..." taken from an event id',
    }),
  ),
  timestamp: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}$', description: 'Start every partition at its first record at or after this time (ms)' })),
  keyFormat: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('binary')])),
  valueFormat: Type.Optional(ReadValueFormatSchema),
  isolation: Type.Optional(IsolationSchema),
});

export async function sseRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { cluster: string; topic: string }; Querystring: StreamQuery }>(
    '/clusters/:cluster/topics/:topic/records',
    {
      schema: {
        tags: ['records'],
        summary: 'Follow every partition of a topic as Server-Sent Events (Accept: text/event-stream)',
        description:
          'Each record is an `event: record` whose data is the fetch API\'s record JSON with "partition", and whose id is the position to resume from; ' +
          'a reconnecting EventSource sends it as Last-Event-ID, which wins over offset. See docs/streaming.md.',
        params: Type.Object({ cluster: Type.String(), topic: Type.String() }),
        querystring: StreamQuerySchema,
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 30000 })) }),
        response: { 400: err, 404: err, 406: err, 416: err, 429: err, 503: err },
      },
    },
    async (request, reply) => {
      if (!wantsEventStream(request)) {
        throw new WebkaError('NOT_ACCEPTABLE', 'a topic\'s records are served as a stream: send Accept: text/event-stream (or fetch one partition at .../partitions/{p}/records)');
      }
      return streamTopic(app.webka, request, reply, request.query);
    },
  );
}
