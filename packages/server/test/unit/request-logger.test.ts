/**
 * The lazy request logger: a request that writes no line at an enabled level makes no pino
 * child; the lines it does write carry the request's bindings, as an eager child's would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { lazyChildLogger } from '../../src/http/request-logger.js';

type Logger = FastifyBaseLogger & { child(b: object, o?: object): Logger };

/** Fastify's own pino logger (the broker's), writing JSON lines into `lines`. */
function capture(level: string): { logger: Logger; lines: Array<Record<string, unknown>>; children: () => number } {
  const lines: Array<Record<string, unknown>> = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const logger = Fastify({ logger: { level, stream: out } }).log as Logger;
  let made = 0;
  // counts the children made from the root (pino's children inherit this method: `this` is theirs)
  const original = logger.child;
  logger.child = function (this: Logger, b: object, o?: object) {
    if (this === logger) made++;
    return original.call(this, b, o);
  } as typeof logger.child;
  return { logger, lines, children: () => made };
}

const make = (parent: Logger, bindings: Record<string, unknown>, opts: object = {}): FastifyBaseLogger =>
  lazyChildLogger.call(undefined as never, parent as unknown as FastifyBaseLogger, bindings, opts, undefined as never);

test('a request logger that writes nothing at an enabled level makes no child', () => {
  const { logger, lines, children } = capture('info');
  const log = make(logger, { requestId: 'quiet' });
  log.debug('not at info');
  log.trace({ a: 1 }, 'nor this');
  assert.equal((log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled('debug'), false);
  assert.equal(log.level, 'info');
  assert.equal(children(), 0);
  assert.deepEqual(lines, []);
});

test('its lines carry the request\'s bindings, and the child is made once', () => {
  const { logger, lines, children } = capture('debug');
  const log = make(logger, { requestId: 'r-1' });
  log.info({ res: { statusCode: 404 } }, 'request completed');
  log.warn('second');
  log.debug('third');
  assert.equal(children(), 1);
  assert.deepEqual(lines.map((l) => [l.requestId, l.msg, l.level]), [['r-1', 'request completed', 30], ['r-1', 'second', 40], ['r-1', 'third', 20]]);
  assert.deepEqual((lines[0].res as { statusCode: number }).statusCode, 404);
  const nested = log.child({ part: 'x' });
  nested.error('from a nested child');
  assert.equal(lines.at(-1)?.requestId, 'r-1');
  assert.equal(lines.at(-1)?.part, 'x');
});

test('a route\'s own level gets an eager child at that level', () => {
  const { logger, lines, children } = capture('info');
  const log = make(logger, { requestId: 'lvl' }, { level: 'debug' });
  assert.equal(children(), 1);
  log.debug('at the route\'s level');
  assert.equal(lines.length, 1);
  assert.equal(lines[0].requestId, 'lvl');
});
