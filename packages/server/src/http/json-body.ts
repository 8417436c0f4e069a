/**
 * The JSON body parser of the REST API: Fastify's own (secure-json-parse), then the depth limit of
 * limits/json-depth.ts, so that no JSON body can overflow a recursive step after it (400 instead).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { jsonDeeperThan, tooDeep } from '../limits/json-depth.js';

type ProtoAction = 'error' | 'remove' | 'ignore';
type Done = (err: Error | null, body?: unknown) => void;

/**
 * Makes `application/json` in this Fastify scope the default JSON parser (with the given actions
 * for "__proto__" and "constructor" keys) followed by the depth check: 400 past MAX_JSON_DEPTH.
 */
export function installJsonParser(app: FastifyInstance, onProto: ProtoAction, onConstructor: ProtoAction): void {
  // the default parser is the callback form of FastifyBodyParser
  const parse = app.getDefaultJsonParser(onProto, onConstructor) as (req: FastifyRequest, body: string, done: Done) => void;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request: FastifyRequest, body: string, done: Done) => {
    parse(request, body, (err, value) => {
      if (err === null && jsonDeeperThan(value)) done(tooDeep('the body'), undefined);
      else done(err, value);
    });
  });
}
