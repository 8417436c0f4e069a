#!/usr/bin/env node
/**
 * The `webka` command. Subcommands live beside this file; `start` runs a broker.
 */
import { SERVER_VERSION } from '../version.js';
import { Command, Option } from 'commander';
import { registerCommands } from './commands/index.js';

const program = new Command();
program.name('webka').description('Webka: a durable, partitioned, replayable event log over HTTP').version(SERVER_VERSION);
registerCommands(program);

program
  .command('start')
  .description('Start a broker (http://localhost:8080, data in ./webka-data by default)')
  .addOption(new Option('-p, --port <port>', 'HTTP port').env('WEBKA_PORT'))
  .addOption(new Option('--host <host>', 'address to listen on').env('WEBKA_HOST'))
  .addOption(new Option('-d, --data-dir <dir>', 'data directory').env('WEBKA_DATA_DIR'))
  .addOption(new Option('--kafka-port <port>', 'Kafka protocol port (default 9092; 0 picks a free one, -1 turns it off)').env('WEBKA_KAFKA_PORT'))
  .addOption(new Option('--kafka-host <host>', 'address the Kafka listener listens on (default: --host)').env('WEBKA_KAFKA_HOST'))
  .addOption(new Option('--node-id <id>', 'this broker\'s node id in a cluster (required with --coordinator)').env('WEBKA_NODE_ID'))
  .addOption(new Option('--coordinator <url>', 'join a cluster coordinated by etcd: etcd://host:port[,host:port...]/prefix').env('WEBKA_COORDINATOR'))
  .addOption(new Option('--advertised-url <url>', 'the URL other brokers and clients reach this broker at (default: the URL it listens on)').env('WEBKA_ADVERTISED_URL'))
  .addOption(new Option('-c, --config <file>', 'JSON config file (default: ./webka.json when present)').env('WEBKA_CONFIG'))
  .addOption(new Option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent').env('WEBKA_LOG_LEVEL'))
  .addHelpText('after', '\nExamples:\n  webka start\n  webka start --port 9000 --data-dir /var/lib/webka\n  webka start --node-id 1 --coordinator etcd://127.0.0.1:2379/my-cluster --advertised-url http://127.0.0.1:8081 --port 8081 --data-dir d1\n  WEBKA_PORT=9000 webka start\n\nEvery setting can also come from the config file or WEBKA_* variables; see docs/configuration.md.')
  .action(async (opts: { port?: string; host?: string; dataDir?: string; config?: string; logLevel?: string; kafkaPort?: string; kafkaHost?: string; nodeId?: string; coordinator?: string; advertisedUrl?: string }) => {
    // Loaded here, not at the top: the client commands start in a fraction of the time without
    // the broker's modules.
    const { loadConfig, ConfigError } = await import('../config/config.js');
    const { startServer } = await import('../server.js');
    let config;
    try {
      config = loadConfig({ configFile: opts.config, flags: { port: opts.port, host: opts.host, dataDir: opts.dataDir, logLevel: opts.logLevel, kafkaPort: opts.kafkaPort, kafkaHost: opts.kafkaHost, nodeId: opts.nodeId, coordinator: opts.coordinator, advertisedUrl: opts.advertisedUrl } });
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`webka: ${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
    let server;
    try {
      server = await startServer(config);
    } catch (err) {
      process.stderr.write(`webka: could not start: ${(err as Error).message}${startHint(err, config)}\n`);
      process.exit(1);
    }
    server.app.log.info({ url: server.url, console: `${server.url}/console`, kafkaPort: server.kafkaPort, dataDir: config.dataDir }, 'webka is ready');
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      server.app.log.info({ signal }, 'shutting down: finishing in-flight requests, flushing');
      const force = setTimeout(() => {
        server.app.log.error('shutdown timed out; exiting');
        process.exit(1);
      }, config.shutdownTimeoutMs);
      force.unref();
      server.close().then(
        () => process.exit(0),
        (err) => {
          server.app.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

/** What to do about a port already taken: which flag picks another. */
function startHint(err: unknown, config: { port: number; kafkaPort: number }): string {
  const e = err as { code?: string; port?: number };
  if (e.code !== 'EADDRINUSE') return '';
  if (e.port === config.kafkaPort && e.port !== config.port) return ` (another process listens on the Kafka port ${e.port}: pick another with --kafka-port <port>, or turn the listener off with --kafka-port -1)`;
  return ` (another process listens on port ${e.port ?? config.port}: stop it, or pick another port with --port <port> or WEBKA_PORT)`;
}

program.parseAsync(process.argv).catch((err) => {
  // Commander has printed its own message for usage errors (exit 2) and for --help/--version (0).
  const code = (err as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') process.exit(0);
  if (typeof code === 'string' && code.startsWith('commander.')) process.exit(2);
  process.stderr.write(`webka: ${(err as Error).message}\n`);
  process.exit(1);
});
