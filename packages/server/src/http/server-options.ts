/**
 * Options for the Node server under Fastify: timeouts that keep slow clients from holding the
 * broker, and TLS. Node checks headersTimeout and requestTimeout on a sweep (connectionsChecking
 * Interval, 30 s by default); a 1 s sweep makes the timeouts mean what they say.
 *
 *   headersTimeoutMs   all request headers must arrive within it (slowloris)
 *   requestTimeoutMs   the whole request (headers and body) must arrive within it
 *   idleTimeoutMs      a socket with no traffic either way is closed (at least maxLongPollMs + 2 s,
 *                      so that a long poll's silent wait is not mistaken for idleness)
 */
import fs from 'node:fs';
import type { Config } from '../config/config.js';

export interface ServerOptions {
  http?: { headersTimeout: number; connectionsCheckingInterval: number };
  https?: { cert: Buffer; key: Buffer; headersTimeout: number; connectionsCheckingInterval: number };
  connectionTimeout: number;
}

export function idleTimeout(config: Config): number {
  return Math.max(config.idleTimeoutMs, config.maxLongPollMs + 2_000);
}

export function serverOptions(config: Config): ServerOptions {
  const timeouts = { headersTimeout: Math.min(config.headersTimeoutMs, config.requestTimeoutMs), connectionsCheckingInterval: 1_000 };
  const tls = tlsFiles(config);
  if (tls === null) return { http: timeouts, connectionTimeout: idleTimeout(config) };
  return { https: { cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key), ...timeouts }, connectionTimeout: idleTimeout(config) };
}

export function tlsFiles(config: Config): { cert: string; key: string } | null {
  if (config.tlsCert === '' && config.tlsKey === '') return null;
  if (config.tlsCert === '' || config.tlsKey === '') throw new Error('TLS needs both tlsCert and tlsKey');
  return { cert: config.tlsCert, key: config.tlsKey };
}
