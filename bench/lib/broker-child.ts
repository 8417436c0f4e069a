/**
 * A broker in its own process for the HTTP benchmarks: a real startServer() on 127.0.0.1, port 0,
 * with the data directory and config keys given as JSON in argv[2]. Tells its ports (HTTP and
 * Kafka) over IPC and
 * shuts down cleanly when the parent disconnects or sends SIGTERM.
 */
import { startServer } from '../../packages/server/src/server.js';
import { loadConfig } from '../../packages/server/src/config/config.js';

const { dataDir, config } = JSON.parse(process.argv[2]) as { dataDir: string; config?: Record<string, unknown> };
const server = await startServer(loadConfig({ flags: { logLevel: 'silent', kafkaPort: 0, ...config, port: 0, host: '127.0.0.1', dataDir }, env: {}, cwd: dataDir }));
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  server.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
process.send!({ ready: true, port: server.port, kafkaPort: server.kafkaPort });
