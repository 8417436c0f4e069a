/**
 * Where a command connects, from (highest first): the flags --url, --token, --cluster; the
 * environment WEBKA_URL, WEBKA_TOKEN, WEBKA_CLUSTER; the context named by --context (or
 * WEBKA_CONTEXT, or the current one); and finally http://localhost:8080, cluster "default".
 */
import { SERVER_VERSION } from '../version.js';
import type { Command } from 'commander';
import { Webka } from '@webka/client';
import { readContexts, type Context } from './contexts.js';
import { UsageError } from './exit-codes.js';

export interface GlobalOptions {
  url?: string;
  token?: string;
  cluster?: string;
  context?: string;
  json?: boolean;
}

export const DEFAULT_URL = 'http://localhost:8080';

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export function resolveConnection(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): { url: string; token?: string; cluster: string } {
  const file = readContexts();
  const name = opts.context ?? env.WEBKA_CONTEXT ?? file.current;
  let ctx: Context | undefined;
  if (name !== undefined && name !== '') {
    ctx = file.contexts[name];
    if (ctx === undefined && (opts.context !== undefined || env.WEBKA_CONTEXT !== undefined)) {
      throw new UsageError(`no context named "${name}"; see: webka context list`);
    }
  }
  const pick = (...v: (string | undefined)[]): string | undefined => v.find((x) => x !== undefined && x !== '');
  return {
    url: pick(opts.url, env.WEBKA_URL, ctx?.url) ?? DEFAULT_URL,
    token: pick(opts.token, env.WEBKA_TOKEN, ctx?.token),
    cluster: pick(opts.cluster, env.WEBKA_CLUSTER, ctx?.cluster) ?? 'default',
  };
}

export function connect(cmd: Command): Webka {
  const c = resolveConnection(globals(cmd));
  return new Webka({ url: c.url, token: c.token, cluster: c.cluster, headers: { 'user-agent': `webka-cli/${SERVER_VERSION}` } });
}
