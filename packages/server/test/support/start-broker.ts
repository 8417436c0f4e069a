/**
 * Starts a real broker (HTTP on 127.0.0.1, port 0) on a fresh temporary data directory, for
 * integration tests. `restart()` closes it and starts a new one on the same directory;
 * `close()` stops it and removes the directory (unless the caller passed its own).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyServerOptions } from 'fastify';
import { startServer, type RunningServer } from '../../src/server.js';
import { loadConfig, type ConfigKey } from '../../src/config/config.js';

export interface TestBroker {
  url: string;
  dataDir: string;
  server: RunningServer;
  /** Stops the broker cleanly and starts another on the same data directory. */
  restart(): Promise<TestBroker>;
  /** Stops the broker; removes the data directory when this helper created it. */
  close(): Promise<void>;
}

export interface StartBrokerOptions {
  dataDir?: string;
  /** Config keys to set (as flags would). */
  config?: Partial<Record<ConfigKey, unknown>>;
  logger?: FastifyServerOptions['logger'];
}

export function tempDir(prefix = 'webka-it-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startBroker(opts: StartBrokerOptions = {}): Promise<TestBroker> {
  const owned = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? tempDir();
  const start = async (): Promise<TestBroker> => {
    const config = loadConfig({ flags: { logLevel: 'silent', kafkaPort: 0, ...opts.config, port: 0, host: '127.0.0.1', dataDir }, env: {}, cwd: dataDir });
    const server = await startServer(config, { logger: opts.logger });
    let closed = false;
    const stop = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await server.close();
    };
    return {
      url: server.url,
      dataDir,
      server,
      restart: async () => {
        await stop();
        return start();
      },
      close: async () => {
        await stop();
        if (owned) fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  };
  return start();
}
