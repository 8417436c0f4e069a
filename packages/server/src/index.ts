/**
 * The `webka` package's entry point: run a broker inside a Node program (tests, embedding)
 * as `webka start` does. The client SDK is `webka/client` (or `@webka/client`).
 */
export { startServer, type RunningServer } from './server.js';
export { loadConfig, describeConfig, ConfigError, CONFIG_KEYS, type Config, type ConfigKey, type ConfigSources } from './config/config.js';
export { WebkaError } from './errors.js';
export { SERVER_VERSION } from './version.js';
