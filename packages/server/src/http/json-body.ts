/**
 * The JSON body parser of the REST API: Fastify's own (secure-json-parse), then the depth limit of
 * limits/json-depth.ts, so that no JSON body can overflow a recursive step after it (400 instead);
 * or, for a route that reads its body from the bytes (produce: produce-body.ts), that reading
 * first, and the parser only where it declines.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { jsonDeeperThan, tooDeep } from '../limits/json-depth.js';

type ProtoAction = 'error' | 'remove' | 'ignore';
type Done = (err: Error | null, body?: unknown) => void;

/**
 * Makes `application/json` in this Fastify scope the default JSON parser (with the given actions
 * for "__proto__" and "constructor" keys) followed by the depth check: 400 past MAX_JSON_DEPTH.
 *
 * With `scan`, the body's bytes go to it first, and what it returns (not null) is the body; it
 * must return null for any body it cannot read as JSON.parse would, which is then parsed as
 * above, so every error is the default parser's or the depth check's.
 */
export function installJsonParser(app: FastifyInstance, onProto: ProtoAction, onConstructor: ProtoAction, scan?: (bytes: Buffer) => unknown): void {
  // the default parser is the callback form of FastifyBodyParser
  const parse = app.getDefaultJsonParser(onProto, onConstructor) as (req: FastifyRequest, body: string, done: Done) => void;
  const parseChecked = (request: FastifyRequest, body: string, done: Done): void => {
    parse(request, body, (err, value) => {
      if (err === null && jsonDeeperThan(value)) done(tooDeep('the body'), undefined);
      else done(err, value);
    });
  };
  app.removeContentTypeParser('application/json');
  if (scan === undefined) {
    app.addContentTypeParser('application/json', { parseAs: 'string' }, parseChecked);
    return;
  }
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer, done: Done) => {
    const scanned = scan(body);
    if (scanned !== null) done(null, scanned);
    else parseChecked(request, body.toString('utf8'), done);
  });
}
