/**
 * The Kafka listener: a TCP (or TLS) server speaking Kafka's binary protocol over the same
 * broker core as the HTTP API. Created by startServer after the broker is open; start() listens,
 * close() stops accepting and ends every connection (a Fetch waiting for data ends at once).
 * Each connection is a KafkaConnection; the API handlers live in apis/, one file per API.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Broker } from '../broker.js';
import type { ClassicGroupCoordinator } from '../groups/classic-groups.js';
import type { TransactionCoordinator } from '../transactions/transaction-coordinator.js';
import { KafkaConnection } from './connection.js';
import { API_HANDLERS } from './apis/index.js';
import { FetchSessionCache } from './fetch-sessions.js';
import type { KafkaClusterView, KafkaListenerSettings, KafkaSecurity } from './context.js';

export interface KafkaListenerOptions extends KafkaListenerSettings {
  /** Kafka's classic consumer groups, over the same committed offsets as HTTP groups. */
  groups: ClassicGroupCoordinator;
  /** The HTTP API's transaction coordinator: Kafka transactions are its transactions. */
  transactions?: TransactionCoordinator | null;
  host: string;
  port: number;
  maxRequestBytes: number;
  maxConnections: number;
  /** Authentication and ACLs (SASL/PLAIN with API keys); null when auth is off. */
  security: KafkaSecurity | null;
  /** PEM certificate and key: the listener speaks TLS (the HTTP listener's files). */
  tls?: { cert: Buffer; key: Buffer } | null;
  onError?: (message: string, details: Record<string, unknown>) => void;
  /**
   * The broker is joining a cluster: connections are accepted (the port is registered in etcd)
   * but read only once setClusterView is called, so that no request is served as a lone broker's.
   */
  joining?: boolean;
}

export class KafkaListener {
  readonly #server: net.Server;
  readonly #connections = new Set<KafkaConnection>();
  readonly #settings: KafkaListenerSettings;
  #port = 0;
  /** Sockets accepted while joining a cluster, not yet read. */
  #held: Set<net.Socket> | null;
  readonly #serve: (socket: net.Socket) => void;

  private constructor(broker: Broker, opts: KafkaListenerOptions) {
    const settings: KafkaListenerSettings = { cluster: opts.cluster, nodeId: opts.nodeId, advertisedHost: opts.advertisedHost, maxWaitMs: opts.maxWaitMs, clusterView: null };
    this.#settings = settings;
    const fetchSessions = new FetchSessionCache();
    this.#held = opts.joining === true ? new Set() : null;
    this.#serve = (socket) => {
      const conn = new KafkaConnection(socket, { broker, security: opts.security, groups: opts.groups, transactions: opts.transactions ?? null, settings, fetchSessions, handlers: API_HANDLERS, maxRequestBytes: opts.maxRequestBytes, onError: opts.onError ?? (() => undefined) });
      this.#connections.add(conn);
      socket.on('close', () => this.#connections.delete(conn));
    };
    const accept = (socket: net.Socket): void => {
      const held = this.#held;
      if (this.#connections.size + (held?.size ?? 0) >= opts.maxConnections) {
        socket.destroy();
        return;
      }
      if (held === null) return this.#serve(socket);
      socket.pause();
      held.add(socket);
      socket.once('close', () => held.delete(socket));
    };
    this.#server = opts.tls ? tls.createServer({ cert: opts.tls.cert, key: opts.tls.key }, accept) : net.createServer(accept);
  }

  static async start(broker: Broker, opts: KafkaListenerOptions): Promise<KafkaListener> {
    const listener = new KafkaListener(broker, opts);
    await new Promise<void>((resolve, reject) => {
      listener.#server.once('error', reject);
      listener.#server.listen(opts.port, opts.host, () => {
        listener.#server.off('error', reject);
        resolve();
      });
    });
    const address = listener.#server.address();
    listener.#port = typeof address === 'object' && address !== null ? address.port : opts.port;
    return listener;
  }

  get port(): number {
    return this.#port;
  }

  /** Once the broker has joined a cluster: Metadata and the routing answers follow its view. */
  setClusterView(view: KafkaClusterView): void {
    this.#settings.clusterView = view;
    const held = this.#held;
    this.#held = null;
    for (const socket of held ?? []) {
      if (socket.destroyed) continue;
      this.#serve(socket);
      socket.resume();
    }
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#held ?? []) socket.destroy();
    for (const c of this.#connections) c.close();
    await closed;
  }
}
