/**
 * The broker's configuration (DESIGN decision 8): defaults < config file < environment
 * (WEBKA_*) < command-line flags. Every key is declared once here with its type, range and
 * meaning; a bad value stops the start with a message naming the key and the source.
 */
import fs from 'node:fs';
import path from 'node:path';

interface KeyDef {
  type: 'int' | 'string' | 'bool' | 'enum';
  default: number | string | boolean;
  min?: number;
  max?: number;
  values?: readonly string[];
  doc: string;
  secret?: boolean;
}

const MiB = 1024 * 1024;

export const CONFIG_KEYS = {
  port: { type: 'int', default: 8080, min: 0, max: 65535, doc: 'HTTP port (0 picks a free one).' },
  host: { type: 'string', default: 'localhost', doc: 'Address to listen on.' },
  dataDir: { type: 'string', default: './webka-data', doc: 'Where logs and the catalog live.' },
  logLevel: { type: 'enum', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], doc: 'Log level of the JSON logs on stdout.' },
  bodyLimit: { type: 'int', default: 8 * MiB, min: 1024, max: 64 * MiB, doc: 'Largest request body in bytes; larger bodies get 413.' },
  maxRecordsPerRequest: { type: 'int', default: 10_000, min: 1, max: 1_000_000, doc: 'Most records one produce request may carry.' },
  maxFetchRecords: { type: 'int', default: 10_000, min: 1, max: 1_000_000, doc: 'Upper bound of maxRecords on a fetch.' },
  maxFetchBytes: { type: 'int', default: 16 * MiB, min: 1024, max: 256 * MiB, doc: 'Upper bound of maxBytes on a fetch.' },
  defaultFetchBytes: { type: 'int', default: 1 * MiB, min: 1024, max: 256 * MiB, doc: 'maxBytes of a fetch that does not say.' },
  maxLongPollMs: { type: 'int', default: 30_000, min: 0, max: 300_000, doc: 'Longest maxWaitMs a fetch may ask for; longer waits are clamped.' },
  maxPartitionsPerTopic: { type: 'int', default: 1_000, min: 1, max: 100_000, doc: 'Most partitions one topic may have.' },
  flushIntervalMs: { type: 'int', default: 1_000, min: 0, max: 3_600_000, doc: 'Background fsync interval bounding acks=1 exposure (0: only acks=all and shutdown fsync).' },
  checkpointIntervalMs: { type: 'int', default: 30_000, min: 100, max: 3_600_000, doc: 'How often recovery points are saved.' },
  retentionCheckIntervalMs: { type: 'int', default: 30_000, min: 100, max: 3_600_000, doc: 'How often retention deletes old segments.' },
  idempotencyWindowMs: { type: 'int', default: 600_000, min: 0, max: 86_400_000, doc: 'How long an Idempotency-Key answer is remembered.' },
  idempotencyMaxKeys: { type: 'int', default: 100_000, min: 0, max: 10_000_000, doc: 'Most Idempotency-Key answers remembered at once (oldest dropped first).' },
  shutdownTimeoutMs: { type: 'int', default: 10_000, min: 0, max: 600_000, doc: 'How long a shutdown waits for in-flight requests.' },
  requestTimeoutMs: { type: 'int', default: 60_000, min: 1_000, max: 3_600_000, doc: 'Longest time to receive a whole request.' },
  keepAliveTimeoutMs: { type: 'int', default: 72_000, min: 1_000, max: 3_600_000, doc: 'Idle keep-alive connections close after this.' },
} as const satisfies Record<string, KeyDef>;

export type ConfigKey = keyof typeof CONFIG_KEYS;
type ValueOf<K extends ConfigKey> = (typeof CONFIG_KEYS)[K]['type'] extends 'int' ? number : (typeof CONFIG_KEYS)[K]['type'] extends 'bool' ? boolean : string;
export type Config = { [K in ConfigKey]: ValueOf<K> } & { configFile: string | null; debugAckFromMemory: boolean };

export class ConfigError extends Error {}

function envName(key: string): string {
  return 'WEBKA_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

function coerce(key: ConfigKey, raw: unknown, source: string): number | string | boolean {
  const def: KeyDef = CONFIG_KEYS[key];
  const bad = (want: string): never => {
    throw new ConfigError(`${source}: ${key} must be ${want}, got ${JSON.stringify(raw)}`);
  };
  switch (def.type) {
    case 'int': {
      const n = typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) return bad('an integer');
      if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max)) return bad(`between ${def.min} and ${def.max}`);
      return n;
    }
    case 'bool':
      if (raw === true || raw === 'true' || raw === '1') return true;
      if (raw === false || raw === 'false' || raw === '0') return false;
      return bad('true or false');
    case 'enum':
      if (typeof raw !== 'string' || !def.values!.includes(raw)) return bad(`one of ${def.values!.join(', ')}`);
      return raw;
    default:
      if (typeof raw !== 'string' || raw.length === 0) return bad('a non-empty string');
      return raw;
  }
}

export interface ConfigSources {
  /** Values from command-line flags (already named as config keys). */
  flags?: Partial<Record<ConfigKey, unknown>>;
  env?: NodeJS.ProcessEnv;
  /** Explicit config file; else WEBKA_CONFIG; else ./webka.json when present. */
  configFile?: string;
  cwd?: string;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const out: Record<string, unknown> = {};
  for (const [k, def] of Object.entries(CONFIG_KEYS)) out[k] = def.default;

  let file = sources.configFile ?? env.WEBKA_CONFIG ?? null;
  if (file === null && fs.existsSync(path.join(cwd, 'webka.json'))) file = path.join(cwd, 'webka.json');
  if (file !== null) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(path.resolve(cwd, file), 'utf8'));
    } catch (err) {
      throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${file}: must hold a JSON object`);
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      if (!(k in CONFIG_KEYS)) throw new ConfigError(`config file ${file}: unknown key "${k}"; known keys: ${Object.keys(CONFIG_KEYS).join(', ')}`);
      out[k] = coerce(k as ConfigKey, v, `config file ${file}`);
    }
  }
  for (const k of Object.keys(CONFIG_KEYS) as ConfigKey[]) {
    const v = env[envName(k)];
    if (v !== undefined && v !== '') out[k] = coerce(k, v, `environment ${envName(k)}`);
  }
  for (const [k, v] of Object.entries(sources.flags ?? {})) {
    if (v !== undefined) out[k] = coerce(k as ConfigKey, v, `flag --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`);
  }
  out.dataDir = path.resolve(cwd, out.dataDir as string);
  out.configFile = file;
  out.debugAckFromMemory = env.WEBKA_DEBUG_ACK_FROM_MEMORY === '1';
  return out as Config;
}

/** The configuration as logged at start: every key with its value (none is secret yet). */
export function describeConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, def] of Object.entries(CONFIG_KEYS) as Array<[string, KeyDef]>) {
    out[k] = def.secret ? '***' : (config as Record<string, unknown>)[k];
  }
  out.configFile = config.configFile;
  if (config.debugAckFromMemory) out.debugAckFromMemory = 'ON: acks=all answers before data leaves memory (test use only)';
  return out;
}
