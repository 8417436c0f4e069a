/**
 * The broker's configuration (DESIGN decision 8): defaults < config file < environment
 * (WEBKA_*) < command-line flags. Every key is declared once here with its type, range and
 * meaning; a bad value stops the start with a message naming the key and the source.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseCoordinatorUrl } from '../cluster/coordinator-url.js';

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
  kafkaPort: { type: 'int', default: 9092, min: -1, max: 65535, doc: 'Kafka protocol port (docs/kafka.md): 0 picks a free one, -1 turns the Kafka listener off.' },
  kafkaHost: { type: 'string', default: '', doc: 'Address the Kafka listener listens on (empty: the same as host).' },
  kafkaCluster: { type: 'string', default: 'default', doc: 'The Webka cluster whose topics Kafka clients see.' },
  kafkaAdvertisedHost: { type: 'string', default: '', doc: 'Host name Metadata tells Kafka clients to connect to (empty: the address the client reached).' },
  kafkaMaxRequestBytes: { type: 'int', default: 16 * MiB, min: 1024, max: 1024 * MiB, doc: 'Largest Kafka request frame; a larger size prefix closes the connection before anything is read.' },
  nodeId: { type: 'int', default: -1, min: -1, max: 2_147_483_647, doc: 'This broker\'s node id in a cluster (docs/replication.md); unique per cluster, required with coordinator. -1: none (single node).' },
  coordinator: { type: 'string', default: '', doc: 'The cluster\'s coordination service, as etcd://host:port[,host:port...]/prefix (the path is the key prefix: one etcd serves several clusters). Empty: single node, no etcd.' },
  advertisedUrl: { type: 'string', default: '', doc: 'The URL other brokers and clients reach this broker at, in a cluster (empty: the URL the broker listens on).' },
  coordinatorLeaseSeconds: { type: 'int', default: 10, min: 1, max: 300, doc: 'In a cluster: the TTL of this broker\'s etcd lease, renewed every third of it; a broker killed or cut off is gone (and its partitions get new leaders) this long after its last renewal. etcd grants no lease shorter than 1.5 of its election timeouts (1000 ms by default: 2 s); 1 needs etcd run with --election-timeout 600 or less. Shorter is faster failover, and a longer pause of the broker (GC, an overloaded host) is taken for its death.' },
  interBrokerSecret: { type: 'string', default: '', secret: true, doc: 'In a cluster with authentication on: the secret every broker of the cluster shares (at least 32 characters; the same on every broker), by which brokers authenticate to each other for replication, forwarded requests and controller calls (docs/replication.md#authentication). Never logged. Prefer interBrokerSecretFile or WEBKA_INTER_BROKER_SECRET to a flag, which other users of the machine can read.' },
  interBrokerSecretFile: { type: 'string', default: '', doc: 'A file holding interBrokerSecret (surrounding whitespace ignored), for secrets mounted as files; used when interBrokerSecret is not set.' },
  replicaLagTimeMaxMs: { type: 'int', default: 30_000, min: 100, max: 3_600_000, doc: 'In a cluster: a follower that has not caught up with its leader for this long leaves the in-sync replicas (Kafka\'s replica.lag.time.max.ms); it rejoins once it holds everything below the high watermark.' },
  autoLeaderRebalance: { type: 'bool', default: false, doc: 'In a cluster: the controller gives leadership back to each partition\'s preferred (first) replica whenever it is alive and in sync (Kafka\'s auto.leader.rebalance.enable), as POST /v1/preferred-leader-election does on demand.' },
  dataDir: { type: 'string', default: './webka-data', doc: 'Where logs and the catalog live.' },
  logLevel: { type: 'enum', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], doc: 'Log level of the JSON logs on stdout.' },
  bodyLimit: { type: 'int', default: 8 * MiB, min: 1024, max: 64 * MiB, doc: 'Largest request body in bytes; larger bodies get 413.' },
  maxRecordsPerRequest: { type: 'int', default: 10_000, min: 1, max: 1_000_000, doc: 'Most records one produce request may carry.' },
  maxFetchRecords: { type: 'int', default: 10_000, min: 1, max: 1_000_000, doc: 'Upper bound of maxRecords on a fetch.' },
  maxFetchBytes: { type: 'int', default: 16 * MiB, min: 1024, max: 256 * MiB, doc: 'Upper bound of maxBytes on a fetch.' },
  maxFetchScanRecords: { type: 'int', default: 100_000, min: 1, max: 10_000_000, doc: 'Upper bound of maxScan on a fetch that searches (match=): the records one request may look through.' },
  defaultFetchBytes: { type: 'int', default: 1 * MiB, min: 1024, max: 256 * MiB, doc: 'maxBytes of a fetch that does not say.' },
  maxLongPollMs: { type: 'int', default: 30_000, min: 0, max: 300_000, doc: 'Longest maxWaitMs a fetch may ask for; longer waits are clamped.' },
  streamLongPollMs: { type: 'int', default: 20_000, min: 100, max: 300_000, doc: 'Durable Streams: how long a live=long-poll read waits for data before answering 204.' },
  streamMaxProducers: { type: 'int', default: 10_000, min: 1, max: 1_000_000, doc: 'Durable Streams: most producers (Producer-Ids) whose state one stream keeps; a new Producer-Id past it gets 429 until one has been idle for streamProducerExpiryMs.' },
  streamProducerExpiryMs: { type: 'int', default: 604_800_000, min: 1, max: 31_536_000_000, doc: 'Durable Streams: a producer that has appended nothing to a stream for this long is forgotten there (like Kafka\'s producer id expiration): it no longer counts against streamMaxProducers, and its next append starts again at Producer-Seq 0.' },
  maxPartitionsPerTopic: { type: 'int', default: 1_000, min: 1, max: 100_000, doc: 'Most partitions one topic may have.' },
  maxPartitions: { type: 'int', default: 0, min: 0, max: 1_000_000, doc: 'Most partitions on this broker, all topics together (each keeps the 3 files of its active segment open); 0: as many as the open-file limit allows, (ulimit -n - 512 - maxOpenSegmentFiles) / 3. A larger value than the limit allows, or a data directory holding more, stops the start.' },
  maxOpenSegmentFiles: { type: 'int', default: 1_024, min: 3, max: 1_000_000, doc: 'Most files of older (not active) segments open at once, all partitions together: past it the least recently used are closed and reopened when read, so the number of segments costs no file descriptors. Counted against the open-file limit at start with maxPartitions.' },
  flushIntervalMs: { type: 'int', default: 1_000, min: 0, max: 3_600_000, doc: 'Ignored (kept so that older config files still load): every partition keeps an fsync in flight whenever it holds unsynced data, so acks=0 and acks=1 records are durable, and visible to readers, within one group commit.' },
  checkpointIntervalMs: { type: 'int', default: 30_000, min: 100, max: 3_600_000, doc: 'How often recovery points are saved.' },
  retentionCheckIntervalMs: { type: 'int', default: 30_000, min: 100, max: 3_600_000, doc: 'How often retention deletes old segments.' },
  idempotencyWindowMs: { type: 'int', default: 600_000, min: 0, max: 86_400_000, doc: 'How long an Idempotency-Key answer is remembered.' },
  idempotencyMaxKeys: { type: 'int', default: 100_000, min: 0, max: 10_000_000, doc: 'Most Idempotency-Key answers remembered at once (oldest dropped first).' },
  shutdownTimeoutMs: { type: 'int', default: 10_000, min: 0, max: 600_000, doc: 'How long a shutdown waits for in-flight requests.' },
  requestTimeoutMs: { type: 'int', default: 60_000, min: 1_000, max: 3_600_000, doc: 'Longest time to receive a whole request.' },
  keepAliveTimeoutMs: { type: 'int', default: 72_000, min: 1_000, max: 3_600_000, doc: 'Idle keep-alive connections close after this (other brokers close their idle connections to this one after 4 s: keep it above that).' },
  // Security (docs/security.md) and limits (docs/operations.md#limits)
  auth: { type: 'enum', default: 'auto', values: ['auto', 'true', 'false'], doc: 'Require credentials: true, false, or auto (on unless the broker listens only on loopback).' },
  tokenMaxTtlSeconds: { type: 'int', default: 3_600, min: 1, max: 604_800, doc: 'Longest lifetime of a browser token (POST /v1/tokens).' },
  tokenKeyRotationMs: { type: 'int', default: 86_400_000, min: 1_000, max: 31_536_000_000, doc: 'How often the token signing key is replaced (old keys verify until their tokens expire).' },
  tlsCert: { type: 'string', default: '', doc: 'PEM certificate chain file; with tlsKey, the broker speaks HTTPS (files reloaded on change).' },
  tlsKey: { type: 'string', default: '', doc: 'PEM private key file for tlsCert (the path is logged, never the key).' },
  quotaRequestsPerSec: { type: 'int', default: 0, min: 0, max: 10_000_000, doc: 'Requests per second per principal (0: unlimited); excess gets 429 with Retry-After.' },
  quotaProduceBytesPerSec: { type: 'int', default: 0, min: 0, max: 10 * 1024 * MiB, doc: 'Produce request bytes per second per principal (0: unlimited).' },
  quotaFetchBytesPerSec: { type: 'int', default: 0, min: 0, max: 10 * 1024 * MiB, doc: 'Fetch answer bytes per second per principal (0: unlimited).' },
  quotaBurstSeconds: { type: 'int', default: 1, min: 1, max: 60, doc: 'How many seconds of a quota may be spent at once (token bucket size).' },
  maxConnections: { type: 'int', default: 20_000, min: 1, max: 1_000_000, doc: 'Open connections in total; more are closed at once.' },
  maxConnectionsPerAddress: { type: 'int', default: 2_000, min: 1, max: 1_000_000, doc: 'Open connections from one client address.' },
  maxLongPolls: { type: 'int', default: 10_000, min: 1, max: 1_000_000, doc: 'Concurrent long-poll fetches in total; more get 429.' },
  maxLongPollsPerPrincipal: { type: 'int', default: 1_000, min: 1, max: 1_000_000, doc: 'Concurrent long-poll fetches per principal.' },
  maxStreams: { type: 'int', default: 10_000, min: 1, max: 1_000_000, doc: 'Concurrent streams (SSE, WebSocket, Durable Streams live reads) in total.' },
  maxStreamsPerPrincipal: { type: 'int', default: 1_000, min: 1, max: 1_000_000, doc: 'Concurrent streams per principal.' },
  maxGroupMembers: { type: 'int', default: 100_000, min: 1, max: 10_000_000, doc: 'Members of all consumer groups this broker coordinates together (HTTP and Kafka-protocol): a join past it is refused with 429 TOO_MANY_MEMBERS (Kafka: GROUP_MAX_SIZE_REACHED) until members leave.' },
  headersTimeoutMs: { type: 'int', default: 10_000, min: 500, max: 600_000, doc: 'Longest time to receive a request\'s headers (slowloris).' },
  idleTimeoutMs: { type: 'int', default: 120_000, min: 1_000, max: 3_600_000, doc: 'A connection with no traffic either way for this long is closed (raised to maxLongPollMs + 2 s if lower).' },
  slowReaderTimeoutMs: { type: 'int', default: 30_000, min: 500, max: 3_600_000, doc: 'A connection whose reader accepts no answer bytes for this long while some wait is closed.' },
  minBodyBytesPerSec: { type: 'int', default: 1_024, min: 0, max: 1024 * MiB, doc: 'Slowest accepted request body upload, averaged after slowBodyGraceMs (0: no minimum).' },
  slowBodyGraceMs: { type: 'int', default: 5_000, min: 100, max: 600_000, doc: 'Time a body upload may take before minBodyBytesPerSec applies.' },
  heartbeatIntervalMs: { type: 'int', default: 15_000, min: 100, max: 3_600_000, doc: 'How often idle SSE streams get a ": ping" comment, so proxies keep them open.' },
  maxStreamsPerAddress: { type: 'int', default: 100, min: 0, max: 1_000_000, doc: 'Most SSE streams (and, separately, WebSockets) open at once from one client address; more get 429.' },
  streamReadBytes: { type: 'int', default: 256 * 1024, min: 1024, max: 16 * MiB, doc: 'Bytes a stream reads from a partition at a time; with the socket buffer it bounds what one slow reader costs.' },
  maxWebSockets: { type: 'int', default: 10_000, min: 0, max: 1_000_000, doc: 'Most WebSocket connections open at once; more get 429.' },
  maxSubscriptionsPerSocket: { type: 'int', default: 100, min: 1, max: 100_000, doc: 'Most subscriptions one WebSocket may hold.' },
  maxFrameBytes: { type: 'int', default: 1 * MiB, min: 1024, max: 64 * MiB, doc: 'Largest WebSocket frame a client may send; a larger one closes the socket (1009).' },
  wsBufferHighWaterBytes: { type: 'int', default: 1 * MiB, min: 1024, max: 256 * MiB, doc: 'A WebSocket\'s subscriptions stop reading the log while more than this is waiting to be sent.' },
  corsOrigins: { type: 'string', default: 'none', doc: 'Origins that browsers may call the broker from: a comma-separated list (https://app.example.com,http://localhost:5173), * for any, or none.' },
  corsCredentials: { type: 'bool', default: false, doc: 'Allow browsers to send cookies and Authorization with cross-origin requests (Access-Control-Allow-Credentials).' },
} as const satisfies Record<string, KeyDef>;

export type ConfigKey = keyof typeof CONFIG_KEYS;
type ValueOf<K extends ConfigKey> = (typeof CONFIG_KEYS)[K]['type'] extends 'int' ? number : (typeof CONFIG_KEYS)[K]['type'] extends 'bool' ? boolean : string;
export type Config = { [K in ConfigKey]: ValueOf<K> } & { configFile: string | null; debugAckFromMemory: boolean; debugHwFromLeader: boolean; debugNoReplicaChannel: boolean; debugTrustPrincipalHeader: boolean; debugJoinDelayMs: number };

/** The shortest interBrokerSecret accepted (characters). */
export const MIN_INTER_BROKER_SECRET = 32;
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1|\[::1\]|::ffff:127\.\d+\.\d+\.\d+)$/i;

/** Whether a host name or address is loopback only. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/** Whether credentials are required: config `auth`, with `auto` on unless the broker listens on loopback only. */
export function authRequired(config: Pick<Config, 'auth' | 'host'>): boolean {
  if (config.auth === 'true') return true;
  if (config.auth === 'false') return false;
  return !isLoopback(config.host);
}

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
      // A JSON config file may say "auth": true; enums with "true"/"false" values accept booleans.
      if (typeof raw === 'boolean' && def.values!.includes(String(raw))) return String(raw);
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
  if (out.coordinator !== '') {
    try {
      parseCoordinatorUrl(out.coordinator as string);
    } catch (err) {
      throw new ConfigError(`coordinator ${(err as Error).message}`);
    }
    if (out.nodeId === -1) throw new ConfigError('coordinator is set, so nodeId is required: give each broker of the cluster its own --node-id (WEBKA_NODE_ID)');
  }
  if (out.interBrokerSecret === '' && out.interBrokerSecretFile !== '') {
    try {
      out.interBrokerSecret = fs.readFileSync(path.resolve(cwd, out.interBrokerSecretFile as string), 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`interBrokerSecretFile ${out.interBrokerSecretFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const secret = out.interBrokerSecret as string;
  if (secret !== '' && secret.length < MIN_INTER_BROKER_SECRET) throw new ConfigError(`interBrokerSecret must be at least ${MIN_INTER_BROKER_SECRET} characters (it has ${secret.length}); make one with: openssl rand -base64 32`);
  if (out.coordinator !== '' && secret === '' && authRequired(out as Pick<Config, 'auth' | 'host'>)) {
    throw new ConfigError(`authentication is on in a cluster (coordinator is set), so interBrokerSecret is required: give every broker of the cluster the same secret of at least ${MIN_INTER_BROKER_SECRET} characters in interBrokerSecret, WEBKA_INTER_BROKER_SECRET or a file named by interBrokerSecretFile (make one with: openssl rand -base64 32)`);
  }
  if (out.advertisedUrl !== '' && !/^https?:\/\/[^/\s]+\/?$/.test(out.advertisedUrl as string)) throw new ConfigError(`advertisedUrl must be an http:// or https:// URL with no path, such as http://10.0.0.5:8080, got ${JSON.stringify(out.advertisedUrl)}`);
  out.dataDir = path.resolve(cwd, out.dataDir as string);
  out.configFile = file;
  out.debugAckFromMemory = env.WEBKA_DEBUG_ACK_FROM_MEMORY === '1';
  out.debugHwFromLeader = env.WEBKA_DEBUG_HW_FROM_LEADER === '1';
  out.debugNoReplicaChannel = env.WEBKA_DEBUG_NO_REPLICA_CHANNEL === '1';
  out.debugTrustPrincipalHeader = env.WEBKA_DEBUG_TRUST_PRINCIPAL_HEADER === '1';
  out.debugJoinDelayMs = /^\d{1,6}$/.test(env.WEBKA_DEBUG_JOIN_DELAY_MS ?? '') ? Number(env.WEBKA_DEBUG_JOIN_DELAY_MS) : 0;
  return out as Config;
}

/** The configuration as logged at start: every key with its value, secrets as "***" (or "" when unset). */
export function describeConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, def] of Object.entries(CONFIG_KEYS) as Array<[string, KeyDef]>) {
    const v = (config as Record<string, unknown>)[k];
    out[k] = def.secret && v !== '' ? '***' : v;
  }
  out.configFile = config.configFile;
  if (config.debugAckFromMemory) out.debugAckFromMemory = 'ON: acks=all answers before data leaves memory (test use only)';
  if (config.debugHwFromLeader) out.debugHwFromLeader = 'ON: leaders ignore their followers for the high watermark (test use only)';
  if (config.debugNoReplicaChannel) out.debugNoReplicaChannel = 'ON: no replica channel, as a broker of an earlier version: it serves and sends replica fetches as HTTP requests alone (test use only)';
  if (config.debugJoinDelayMs > 0) out.debugJoinDelayMs = `ON: joining the cluster waits ${config.debugJoinDelayMs} ms after listening (test use only)`;
  if (config.debugTrustPrincipalHeader) out.debugTrustPrincipalHeader = 'ON: any caller may assert a forwarded principal (test use only; NOT SAFE)';
  return out;
}
