/**
 * A real broker for the SDK's tests (tests may import the server; the SDK may not). Unlike the
 * server tests' helper, restart() brings the broker back on the SAME port, as a restarted
 * deployment would be, so that a client holding the URL can reconnect by itself.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Socket } from 'node:net';
import { startServer, type RunningServer } from '../../../server/src/server.js';
import { loadConfig, type ConfigKey } from '../../../server/src/config/config.js';

export interface TestBroker {
  readonly url: string;
  readonly port: number;
  readonly server: RunningServer;
  /** Stops the broker; a later restart() starts it again on the same port and data. */
  stop(): Promise<void>;
  /** Stops (if running) and starts again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops and removes the data directory. */
  close(): Promise<void>;
}

export async function startTestBroker(config: Partial<Record<ConfigKey, unknown>> = {}): Promise<TestBroker> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-sdk-'));
  const start = (port: number): Promise<RunningServer> =>
    startServer(loadConfig({ flags: { logLevel: 'silent', kafkaPort: 0, ...config, port, host: '127.0.0.1', dataDir }, env: {}, cwd: dataDir }));
  let server: RunningServer | undefined = await start(0);
  let unused = trackUnusedSockets(server);
  const port = server.port;
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (s === undefined) return;
    const closing = s.close();
    for (const sock of unused) sock.destroy();
    await closing;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get server() {
      if (server === undefined) throw new Error('the broker is stopped');
      return server;
    },
    stop,
    restart: async () => {
      await stop();
      // The port was just ours; retry briefly in case the OS has not released it yet.
      for (let i = 0; ; i++) {
        try {
          server = await start(port);
          unused = trackUnusedSockets(server);
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || i >= 50) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
    close: async () => {
      await stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Sockets that connected but never sent a request. Node 20's fetch (undici) opens a spare
 * connection after a streaming request is aborted, and Node's server.close() waits for such a
 * socket until headersTimeout (about a minute), since closeIdleConnections() does not count it
 * as idle. Tests destroy them on stop so that a stop takes milliseconds.
 */
function trackUnusedSockets(server: RunningServer): Set<Socket> {
  const unused = new Set<Socket>();
  server.app.server.on('connection', (s: Socket) => {
    unused.add(s);
    s.once('close', () => unused.delete(s));
  });
  server.app.server.on('request', (req: { socket: Socket }) => unused.delete(req.socket));
  return unused;
}
