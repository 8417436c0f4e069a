/**
 * The `webka` command's exit codes (docs/cli.md lists them), so scripts can tell failures apart:
 *
 *   0  success
 *   1  the broker refused or failed the request (any error code not listed below)
 *   2  usage: unknown command or flag, a bad value, an input line that is not valid
 *   3  not found: cluster, topic, partition, group, member or producer (*_NOT_FOUND)
 *   4  conflict: it exists already or is in use (409: *_EXISTS, *_NOT_EMPTY, fenced, ...)
 *   5  the broker could not be reached or did not answer in time
 *   6  not authenticated or not allowed (401, 403)
 */
import { CommanderError } from 'commander';
import { WebkaError } from '@webka/client';

export const EXIT = { OK: 0, BROKER: 1, USAGE: 2, NOT_FOUND: 3, CONFLICT: 4, UNREACHABLE: 5, AUTH: 6 } as const;

/** A mistake in how the command was called. */
export class UsageError extends Error {}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof CommanderError) return EXIT.USAGE;
  if (err instanceof WebkaError) {
    if (err.code === 'NETWORK_ERROR' || err.code === 'TIMEOUT') return EXIT.UNREACHABLE;
    if (err.status === 401 || err.status === 403) return EXIT.AUTH;
    if (err.status === 404 || err.code.endsWith('_NOT_FOUND')) return EXIT.NOT_FOUND;
    if (err.status === 409) return EXIT.CONFLICT;
    if (err.status === 400 || err.status === 422) return EXIT.USAGE;
    return EXIT.BROKER;
  }
  return EXIT.BROKER;
}

/** The one line printed on stderr for a failure (or a JSON error body with --json). */
export function describeError(err: unknown, json: boolean): string {
  if (json) {
    const e = err instanceof WebkaError ? { code: err.code, message: err.message, status: err.status, ...err.details } : { code: err instanceof UsageError || err instanceof CommanderError ? 'USAGE' : 'ERROR', message: (err as Error).message };
    return JSON.stringify({ error: e });
  }
  if (err instanceof WebkaError) return `webka: ${err.code}: ${err.message}`;
  return `webka: ${(err as Error).message}`;
}

/**
 * Wraps a command's action: a failure prints one line on stderr (a JSON error with --json) and
 * sets the exit code. The last argument commander passes is the Command itself.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as { optsWithGlobals(): { json?: boolean } };
    try {
      await fn(...args);
    } catch (err) {
      process.stderr.write(describeError(err, cmd.optsWithGlobals().json === true) + '\n');
      process.exitCode = exitCodeFor(err);
    }
  };
}
