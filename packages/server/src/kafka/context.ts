/**
 * What an API handler gets: the broker core, the one Webka cluster this listener serves as
 * Kafka's cluster, how to name this broker in Metadata, and the connection it answers on.
 */
import type { Broker } from '../broker.js';
import type { ClassicGroupCoordinator } from '../groups/classic-groups.js';
import type { ApiDef, Message } from './schema.js';

export interface KafkaListenerSettings {
  /** The Webka cluster whose topics are this listener's topics (`--kafka-cluster`). */
  cluster: string;
  /** Node id reported in Metadata (one broker: 0). */
  nodeId: number;
  /** Host clients are told to connect to; null: the address the client reached us on. */
  advertisedHost: string | null;
  /** Longest Fetch wait honoured (maxLongPollMs, as over HTTP). */
  maxWaitMs: number;
}

export interface ConnectionInfo {
  /** The local address and port the client connected to (advertised when none is configured). */
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  clientId: string | null;
  /** Aborted when the connection closes or the listener stops: long fetches end early. */
  signal: AbortSignal;
}

export interface KafkaContext {
  broker: Broker;
  groups: ClassicGroupCoordinator;
  settings: KafkaListenerSettings;
  conn: ConnectionInfo;
}

/** One API: its table entry and the function that maps a request onto the broker's calls. */
export interface ApiHandler {
  def: ApiDef;
  /** Resolves to the response body, or null for no response at all (Produce with acks=0). */
  handle(ctx: KafkaContext, request: Message, version: number): Promise<Message | null> | Message | null;
}
