/**
 * The broker's Prometheus metrics (prom-client), on a registry of its own so that several brokers
 * in one process (tests) do not mix. Created by startServer before the Broker (which reports
 * fsyncs and per-topic traffic through the probes below) and handed to buildApp, which serves it
 * at /metrics. Counters are bumped on the hot path (a Map lookup and an add); everything that can
 * be read from state (log sizes, connections, streams, group lag) is collected at scrape time.
 * docs/operations.md lists every series.
 */
import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';
import type { Broker, TrafficProbe } from '../broker.js';
import type { LogProbe } from '../storage/log.js';

/** What the group coordinator can report; it registers one with `metrics.setGroupSource`. */
export interface GroupMetricsSource {
  /** Per group and partition: committed offset's lag behind the high watermark. */
  lag(): Iterable<{ cluster: string; group: string; topic: string; partition: number; lag: number }>;
  /** Per group: current members. */
  members(): Iterable<{ cluster: string; group: string; members: number }>;
}

/** Live counts read at scrape time (set by the security plugin). */
export interface LiveCounts {
  connections(): number;
  streams(): number;
  longPolls(): number;
}

/** What a broker in a cluster reports of replication (set in cluster mode by startServer). */
export interface ReplicationMetricsSource {
  stats(): {
    underReplicated: number;
    offline: number;
    followerLag: Iterable<{ cluster: string; topic: string; partition: number; replica: number; lag: number }>;
  };
  /** Whether this broker is the controller now. */
  controller(): boolean;
  /** Date.now() of the coordination service's last answer, or null before the first. */
  lastCoordinatorContactMs(): number | null;
}

type RequestLabels = 'method' | 'route' | 'status';

/** The value under key, made and kept on first use. */
function cached<V>(map: Map<string, V>, key: string, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly recordsIn: Counter<'cluster' | 'topic'>;
  readonly bytesIn: Counter<'cluster' | 'topic'>;
  readonly recordsOut: Counter<'cluster' | 'topic'>;
  readonly bytesOut: Counter<'cluster' | 'topic'>;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly latency: Histogram<'method' | 'route' | 'status'>;
  readonly fsync: Histogram;
  readonly throttled: Counter<'quota'>;
  readonly refused: Counter<'reason'>;
  readonly authFailures: Counter<'reason'>;
  /** Incremented by the group coordinator on every rebalance (group label). */
  readonly rebalances: Counter<'cluster' | 'group'>;
  readonly isrShrinks: Counter;
  readonly isrExpands: Counter;
  /** Incremented each time this broker becomes controller (summed over brokers: the cluster's controller changes). */
  readonly controllerChanges: Counter;
  #groups: GroupMetricsSource | undefined;
  #replication: ReplicationMetricsSource | undefined;
  #live: LiveCounts | undefined;
  #broker: Broker | undefined;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'webka_' });
    this.recordsIn = new Counter({ name: 'webka_records_in_total', help: 'Records produced, per topic', labelNames: ['cluster', 'topic'], registers });
    this.bytesIn = new Counter({ name: 'webka_bytes_in_total', help: 'Key and value bytes produced, per topic', labelNames: ['cluster', 'topic'], registers });
    this.recordsOut = new Counter({ name: 'webka_records_out_total', help: 'Records fetched, per topic', labelNames: ['cluster', 'topic'], registers });
    this.bytesOut = new Counter({ name: 'webka_bytes_out_total', help: 'Key and value bytes fetched, per topic', labelNames: ['cluster', 'topic'], registers });
    this.requests = new Counter({ name: 'webka_http_requests_total', help: 'HTTP requests answered, per route and status', labelNames: ['method', 'route', 'status'], registers });
    this.latency = new Histogram({
      name: 'webka_http_request_duration_seconds',
      help: 'Time to answer an HTTP request (long polls include their wait)',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.fsync = new Histogram({ name: 'webka_fsync_duration_seconds', help: 'Time of each log fsync (shared by the appends of a group commit)', buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers });
    this.throttled = new Counter({ name: 'webka_quota_throttled_total', help: 'Requests answered 429 by a quota or a concurrency cap', labelNames: ['quota'], registers });
    this.refused = new Counter({ name: 'webka_connections_closed_total', help: 'Connections closed by a limit (overLimit, slowReader, slowBody, idle)', labelNames: ['reason'], registers });
    this.authFailures = new Counter({ name: 'webka_auth_failures_total', help: 'Requests refused: unauthenticated (401) or forbidden (403/404)', labelNames: ['reason'], registers });
    this.rebalances = new Counter({ name: 'webka_group_rebalances_total', help: 'Consumer group rebalances', labelNames: ['cluster', 'group'], registers });
    this.isrShrinks = new Counter({ name: 'webka_isr_shrinks_total', help: 'In-sync replica set shrinks written by this broker (a follower fell behind, or an election cut a dead one)', registers });
    this.isrExpands = new Counter({ name: 'webka_isr_expands_total', help: 'In-sync replica set expands written by this broker (a follower caught up)', registers });
    this.controllerChanges = new Counter({ name: 'webka_controller_changes_total', help: 'Times this broker became controller; summed over the brokers, the cluster\'s controller changes', registers });

    const self = this;
    const replication = (name: string, help: string, read: (r: ReplicationMetricsSource) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(self.#replication === undefined ? 0 : read(self.#replication));
        },
      });
    };
    replication('webka_under_replicated_partitions', 'Partitions this broker leads whose in-sync replicas are fewer than their replicas', (r) => r.stats().underReplicated);
    replication('webka_offline_partitions', 'On the controller: partitions with no live leader (0 on the other brokers)', (r) => r.stats().offline);
    replication('webka_controller_active', '1 on the broker that is controller now, else 0', (r) => (r.controller() ? 1 : 0));
    replication('webka_coordinator_last_contact_seconds', 'Seconds since the coordination service (etcd) last answered this broker (-1 before its first answer, 0 when not in a cluster)', (r) => {
      const at = r.lastCoordinatorContactMs();
      return at === null ? -1 : Math.max(0, (Date.now() - at) / 1000);
    });
    new Gauge({
      name: 'webka_replica_lag_records',
      help: 'Per partition this broker leads and each follower: records between the leader\'s log end and the follower\'s last fetch offset',
      labelNames: ['cluster', 'topic', 'partition', 'replica'],
      registers,
      collect() {
        this.reset();
        if (self.#replication === undefined) return;
        for (const l of self.#replication.stats().followerLag) this.set({ cluster: l.cluster, topic: l.topic, partition: String(l.partition), replica: String(l.replica) }, l.lag);
      },
    });
    new Gauge({
      name: 'webka_log_size_bytes',
      help: 'Bytes on disk per partition',
      labelNames: ['cluster', 'topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const p of self.#partitions()) this.set({ cluster: p.cluster, topic: p.topic, partition: String(p.partition) }, p.sizeBytes);
      },
    });
    new Gauge({
      name: 'webka_log_end_offset',
      help: 'High watermark (next offset) per partition',
      labelNames: ['cluster', 'topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const p of self.#partitions()) this.set({ cluster: p.cluster, topic: p.topic, partition: String(p.partition) }, p.highWatermark);
      },
    });
    new Gauge({
      name: 'webka_group_lag',
      help: 'Records between a group\'s committed offset and the high watermark, per partition',
      labelNames: ['cluster', 'group', 'topic', 'partition'],
      registers,
      collect() {
        this.reset();
        if (self.#groups === undefined) return;
        for (const l of self.#groups.lag()) this.set({ cluster: l.cluster, group: l.group, topic: l.topic, partition: String(l.partition) }, l.lag);
      },
    });
    new Gauge({
      name: 'webka_group_members',
      help: 'Members per consumer group',
      labelNames: ['cluster', 'group'],
      registers,
      collect() {
        this.reset();
        if (self.#groups === undefined) return;
        for (const m of self.#groups.members()) this.set({ cluster: m.cluster, group: m.group }, m.members);
      },
    });
    const live = (name: string, help: string, read: (l: LiveCounts) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(self.#live === undefined ? 0 : read(self.#live));
        },
      });
    };
    live('webka_open_connections', 'Open client connections', (l) => l.connections());
    live('webka_open_streams', 'Open streams (SSE, WebSocket, live reads)', (l) => l.streams());
    live('webka_open_long_polls', 'Long-poll fetches waiting', (l) => l.longPolls());
  }

  *#partitions(): Iterable<{ cluster: string; topic: string; partition: number; sizeBytes: number; highWatermark: number }> {
    const broker = this.#broker;
    if (broker === undefined || broker.closed) return;
    for (const c of broker.listClusters()) {
      for (const t of broker.listTopics(c.name)) {
        let parts;
        try {
          parts = broker.describeTopic(c.name, t.name).partitions;
        } catch {
          continue; // deleted while we looked
        }
        for (const p of parts) yield { cluster: c.name, topic: t.name, partition: p.partition, sizeBytes: p.sizeBytes, highWatermark: p.highWatermark };
      }
    }
  }

  /** For BrokerOptions.probe: fsync latency. */
  readonly logProbe: Pick<LogProbe, 'fsyncDone'> = {
    fsyncDone: (ms: number) => this.fsync.observe(ms / 1000),
  };

  /**
   * Series looked up once per label set and kept: prom-client hashes a labels object on every
   * inc() and observe(), which showed in the cost of a one-record produce. Label sets are
   * bounded (routes x methods x statuses; topics), as the registry's own series are.
   */
  #requestSeries = new Map<string, { count: Counter.Internal; latency: Histogram.Internal<RequestLabels> }>();
  #topicSeries = new Map<string, { records: Counter.Internal; bytes: Counter.Internal }>();

  /** One answered HTTP request: its count and its latency, per method, route and status. */
  observeRequest(method: string, route: string, status: string, seconds: number): void {
    const s = cached(this.#requestSeries, `${method} ${status} ${route}`, () => ({
      count: this.requests.labels({ method, route, status }),
      latency: this.latency.labels({ method, route, status }),
    }));
    s.count.inc();
    s.latency.observe(seconds);
  }

  #topic(direction: 'in' | 'out', cluster: string, topic: string): { records: Counter.Internal; bytes: Counter.Internal } {
    return cached(this.#topicSeries, `${direction} ${cluster} ${topic}`, () =>
      direction === 'in'
        ? { records: this.recordsIn.labels({ cluster, topic }), bytes: this.bytesIn.labels({ cluster, topic }) }
        : { records: this.recordsOut.labels({ cluster, topic }), bytes: this.bytesOut.labels({ cluster, topic }) },
    );
  }

  /** For BrokerOptions.traffic. */
  readonly traffic: TrafficProbe = {
    produced: (cluster, topic, records, bytes) => {
      const s = this.#topic('in', cluster, topic);
      s.records.inc(records);
      s.bytes.inc(bytes);
    },
    fetched: (cluster, topic, records, bytes) => {
      const s = this.#topic('out', cluster, topic);
      s.records.inc(records);
      s.bytes.inc(bytes);
    },
  };

  attachBroker(broker: Broker): void {
    this.#broker = broker;
  }

  setLiveCounts(live: LiveCounts): void {
    this.#live = live;
  }

  /** Called by startServer once the broker joined a cluster. */
  setReplicationSource(source: ReplicationMetricsSource): void {
    this.#replication = source;
  }

  /** Called by the group coordinator once it exists. */
  setGroupSource(source: GroupMetricsSource): void {
    this.#groups = source;
  }
}
