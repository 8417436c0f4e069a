/**
 * Durable Streams in a cluster of brokers.
 *
 * A stream is served by the leader of its topic's one partition: that broker checks and appends
 * in one turn of its event loop (Stream-Seq, producer sequences, closure), as a single broker
 * does, and its appends are acknowledged once every in-sync replica holds them (acks=all), so a
 * stream survives the loss of a broker as a topic does. Any other broker forwards a stream's
 * requests there, one hop, the caller's principal asserted (http/forward.ts), and relays the
 * answer with its headers; a live read (long poll, SSE) is relayed as it comes, and when the
 * leader dies the client resumes from its last offset through any broker, as the protocol has it.
 *
 * The metadata of each stream (content type, TTL, closure) is a coordinator document,
 * `streams/<topic>`, written by compare-and-swap by the stream's leader and followed by every
 * broker (stream-store.ts). The stream's topic is made through the controller the first time a
 * PUT needs it, replicated on up to three brokers with min.insync.replicas 2 where it has three.
 * A fork is not served in a cluster yet (it reads its source's partition, which may live on
 * other brokers): 501 UNSUPPORTED_IN_CLUSTER.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebkaError } from '../errors.js';
import { forward, isForwarded } from '../http/forward.js';
import type { ReplicaManager } from '../replication/replica-manager.js';
import type { ClusterMember } from '../cluster/cluster-member.js';
import { StreamError } from './stream-error.js';
import { streamPathOfUrl, topicNameFor } from './stream-path.js';
import { STREAMS_CLUSTER, streamDocument, type StreamCluster, type StreamStore } from './stream-store.js';

/** How long a request waits for a stream's topic to reach this broker, or for its partition to have a leader. */
const SETTLE_MS = 10_000;
/** How long a request waits for the topic of a stream whose document this broker has. */
const TOPIC_AFTER_DOCUMENT_MS = 2_000;
/** Room for a record's framing and headers beyond the body in a stream topic's max.message.bytes. */
export const STREAM_RECORD_OVERHEAD = 1024;

/** A stream topic's name as another broker sends it: INVALID_NAME unless it is one that stream-path.ts makes. */
export function streamTopicName(name: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}\.[0-9a-f]{24}$/.test(name)) throw new WebkaError('INVALID_NAME', `"${name}" is not the topic name of a Durable Stream`);
  return name;
}

/** The configs of a stream's topic in a cluster, by its replication factor. */
export function streamTopicConfigs(maxMessageBytes: number): (replicationFactor: number) => Record<string, string | number> {
  return (replicationFactor) => ({ 'max.message.bytes': maxMessageBytes, 'retention.ms': -1, 'min.insync.replicas': Math.min(2, replicationFactor) });
}

/**
 * What the stream store needs of the cluster, where this broker is to join one (undefined
 * otherwise). The app is built before the broker has joined: until it has, and has read the
 * cluster's metadata, a stream request is 503 COORDINATION_UNAVAILABLE.
 */
export function streamCluster(app: FastifyInstance): StreamCluster | undefined {
  if (app.webka.config.coordinator === '') return undefined;
  return {
    get coordinator() {
      return joined(app).member.coordinator;
    },
    leaderEpoch: (topicId) => {
      const replication = app.webka.replication;
      return replication !== undefined && replication.leads(topicId, 0) ? replication.view(topicId, 0).leaderEpoch : -1;
    },
    deleteTopic: (topic) => joined(app).replication.deleteStreamTopic(STREAMS_CLUSTER, topic),
  };
}

function joined(app: FastifyInstance): { replication: ReplicaManager; member: ClusterMember } {
  const { replication, cluster: member } = app.webka;
  if (replication === undefined || member === undefined) {
    throw new WebkaError('COORDINATION_UNAVAILABLE', "this broker is joining the cluster (registering in etcd and reading the cluster's metadata); retry in a moment");
  }
  return { replication, member };
}

/**
 * Reads of etcd for a stream this broker's copy of the documents does not have (one made a
 * moment ago through another broker, whose document is on its way here), at most this many a
 * second: requests for streams that do not exist cannot load etcd, which keeps the brokers'
 * leases. Past it, the broker's own copy answers (404).
 */
const LOOKUPS_PER_SECOND = 100;

/** At most `perSecond` takes in each second. */
class Budget {
  #second = 0;
  #taken = 0;

  constructor(readonly perSecond: number) {}

  take(): boolean {
    const now = Math.floor(Date.now() / 1000);
    if (now !== this.#second) {
      this.#second = now;
      this.#taken = 0;
    }
    return this.#taken++ < this.perSecond;
  }
}

/** Resolves once the store has read the stream documents: COORDINATION_UNAVAILABLE when etcd does not answer in SETTLE_MS. */
export async function streamsKnown(store: StreamStore): Promise<void> {
  if (store.loaded) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WebkaError('COORDINATION_UNAVAILABLE', `the streams' metadata could not be read from etcd in ${SETTLE_MS} ms; retry`)), SETTLE_MS);
  });
  try {
    await Promise.race([store.ready, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves with what `probe` finds once it finds something (checked on every change of the cluster's metadata), or undefined after ms. */
function settle<T>(replication: ReplicaManager, probe: () => T | undefined, ms: number): Promise<T | undefined> {
  const now = probe();
  if (now !== undefined) return Promise.resolve(now);
  return new Promise((resolve) => {
    const check = (): void => {
      const found = probe();
      if (found === undefined) return;
      clearTimeout(timer);
      off();
      resolve(found);
    };
    const timer = setTimeout(() => {
      off();
      resolve(probe());
    }, ms);
    const off = replication.onChange(check);
  });
}

/**
 * A preHandler for a stream's routes in a cluster: lets the request through where this broker
 * leads the stream's partition, forwards it to the leader otherwise. A PUT makes the stream's
 * topic first when the cluster has none; any other request for a stream the cluster does not
 * know is 404.
 */
export function routeToStreamLeader(app: FastifyInstance, store: StreamStore, maxMessageBytes: number, relayIdleMs: number) {
  const configs = streamTopicConfigs(maxMessageBytes);
  const lookups = new Budget(LOOKUPS_PER_SECOND);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (request.method === 'OPTIONS') return undefined;
    const { replication, member } = joined(app);
    await streamsKnown(store);
    const path = streamPathOfUrl(request.url);
    const topic = topicNameFor(path);
    const leaderNow = (): number | undefined => {
      const l = replication.leaderOf(STREAMS_CLUSTER, topic, 0);
      return l !== undefined && l >= 0 ? l : undefined;
    };
    // refused before anything is made for it
    if (request.method === 'PUT' && request.headers['stream-forked-from'] !== undefined) throw unsupportedFork();
    if (replication.leaderOf(STREAMS_CLUSTER, topic, 0) === undefined) {
      if (request.method === 'PUT') {
        await replication.ensureInternalTopic(STREAMS_CLUSTER, topic, 1, configs, false);
      } else {
        // a stream made a moment ago through another broker: its topic is on its way here
        let doc = store.known(path);
        if (doc == null && lookups.take()) doc = await member.coordinator.readDocument(streamDocument(topic));
        if (doc == null) throw new StreamError(404, 'stream not found');
        // (its topic was defined before it: once here, the topic follows within moments)
        if ((await settle(replication, () => replication.leaderOf(STREAMS_CLUSTER, topic, 0), TOPIC_AFTER_DOCUMENT_MS)) === undefined) {
          // a document names a topic first made, then deleted (by an operator, through the topics
          // API): the stream went with it
          await store.forget(doc);
          throw new StreamError(404, 'stream not found');
        }
      }
    }
    const leader = await settle(replication, leaderNow, SETTLE_MS);
    if (leader === undefined) throw new WebkaError('NOT_LEADER', `the stream's partition has no leader now (an election is under way); retry in a moment`);
    if (leader !== member.nodeId) {
      const url = isForwarded(request) ? undefined : replication.liveBrokers().find((b) => b.nodeId === leader)?.url;
      if (url === undefined) throw new WebkaError('NOT_LEADER', `broker ${member.nodeId} does not lead this stream and cannot forward the request (leader: broker ${leader}); retry in a moment`, { leader });
      return forwardStream(request, reply, url, member.nodeId, relayIdleMs);
    }
    const topicId = app.webka.broker.catalog.findTopic(STREAMS_CLUSTER, topic)?.id;
    // the controller has named this broker; its role takes effect as it sees the new state
    if (topicId === undefined || (await settle(replication, () => (replication.leads(topicId, 0) ? true : undefined), SETTLE_MS)) === undefined) {
      throw new WebkaError('NOT_LEADER', `broker ${member.nodeId} is taking up the leadership of this stream; retry in a moment`, { leader });
    }
    const known = store.peek(path);
    if (known === undefined) await store.load(topic);
    // a stream of an earlier topic of this name (deleted through the topics API, made again): gone
    else if (known.meta.topicId !== topicId && known.revision !== null) await store.forget({ value: known.meta, revision: known.revision });
    return undefined;
  };
}

/** A fork in a cluster: 501, until a fork can read a source that another broker leads. */
export function unsupportedFork(): WebkaError {
  return new WebkaError('UNSUPPORTED_IN_CLUSTER', "a fork is not served by a cluster of brokers yet (it reads its source's partition, which may be led by another broker): create the stream without Stream-Forked-From, or serve forks from a single broker started without --coordinator");
}

/** Request headers a hop does not pass on (or that the forwarding broker sets itself). */
const NOT_PASSED = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'te', 'upgrade', 'trailer', 'proxy-authorization', 'proxy-connection', 'authorization', 'cookie', 'expect']);

/**
 * Sends a stream request to its leader with every header the client sent (the protocol's
 * requests are mostly headers) and relays the answer with all of its own; a long poll may wait
 * its whole limit there.
 */
function forwardStream(request: FastifyRequest, reply: FastifyReply, baseUrl: string, fromNodeId: number, relayIdleMs: number): Promise<FastifyReply> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || NOT_PASSED.has(name) || name.startsWith('x-webka-')) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return forward(request, reply, baseUrl, fromNodeId, { headers, allHeaders: true, timeoutMs: relayIdleMs, idleMs: relayIdleMs });
}
