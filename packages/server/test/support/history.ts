/**
 * A history check in the style of Jepsen's queue workload, for a topic of a TestCluster once the
 * faults are over and every replica has caught up: every partition is read in full from its
 * leader, and each replica's log files are compared byte for byte with the leader's.
 *
 *   lost         values acknowledged to a producer that no partition holds (must be none)
 *   duplicates   values stored more than once (none with idempotent producers)
 *   differing    replicas whose log differs from the leader's (none)
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { getJson, until, type TestCluster } from './cluster.js';

export interface HistoryCheck {
  /** Records read, over every partition. */
  read: number;
  /** Every value read. */
  values: Set<string>;
  lost: string[];
  duplicates: string[];
  differing: Array<{ partition: number; replica: number }>;
}

interface PartitionView {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  logEndOffset: number;
  highWatermark: number;
}

/** The topic's partitions as a live broker describes them. */
export async function describePartitions(cluster: TestCluster, topic: string): Promise<PartitionView[]> {
  for (const b of cluster.brokers.values()) {
    try {
      const r = await getJson(`${b.url}/v1/clusters/default/topics/${topic}`);
      if (r.status === 200) return r.body.partitionInfo as PartitionView[];
    } catch {
      // that broker is going away: ask another
    }
  }
  throw new Error(`no live broker describes topic ${topic}`);
}

/** Waits until every partition has a live leader, its whole replica set in sync, and every replica holds the leader's log. */
export async function untilHealed(cluster: TestCluster, topic: string, timeoutMs = 60_000): Promise<PartitionView[]> {
  return until(async () => {
    const parts = await describePartitions(cluster, topic);
    if (!parts.every((p) => cluster.brokers.has(p.leader) && p.isr.length === p.replicas.length && p.highWatermark === p.logEndOffset)) return undefined;
    for (const n of cluster.brokers.keys()) {
      const view = (await getJson(`${cluster.brokers.get(n)!.url}/v1/clusters/default/topics/${topic}`)).body.partitionInfo as PartitionView[] | undefined;
      if (view === undefined || view.some((p, i) => p.logEndOffset !== parts[i].logEndOffset)) return undefined;
    }
    return parts;
  }, `every replica of ${topic} in sync and caught up`, timeoutMs);
}

/** The topic's id, from a broker's catalog (partition directories are named by it). */
function topicId(cluster: TestCluster, topic: string): string {
  for (const dir of cluster.dirs.values()) {
    const catalog = JSON.parse(fs.readFileSync(path.join(dir, 'catalog.json'), 'utf8')) as { topics: Record<string, { name: string; cluster: string }> };
    const found = Object.entries(catalog.topics).find(([, t]) => t.name === topic && t.cluster === 'default');
    if (found !== undefined) return found[0];
  }
  throw new Error(`topic ${topic} is in no broker's catalog`);
}

function logBytes(cluster: TestCluster, node: number, id: string, partition: number): Buffer {
  const dir = path.join(cluster.dirs.get(node)!, 'logs', `${id}-${partition}`);
  if (!fs.existsSync(dir)) return Buffer.alloc(0);
  return Buffer.concat(fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort().map((f) => fs.readFileSync(path.join(dir, f))));
}

/** Reads the healed topic and checks it against the acknowledged values. */
export async function checkHistory(cluster: TestCluster, topic: string, acked: Iterable<string>): Promise<HistoryCheck> {
  const parts = await untilHealed(cluster, topic);
  const seen = new Map<string, number>();
  let read = 0;
  for (const p of parts) {
    const leader = cluster.brokers.get(p.leader)!.url;
    for (let offset = 0; offset < p.highWatermark; ) {
      const r = await getJson(`${leader}/v1/clusters/default/topics/${topic}/partitions/${p.partition}/records?offset=${offset}&maxRecords=5000`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const records = r.body.records as Array<{ value: string }>;
      for (const rec of records) seen.set(rec.value, (seen.get(rec.value) ?? 0) + 1);
      read += records.length;
      if (records.length === 0) break;
      offset = r.body.nextOffset;
    }
  }
  const id = topicId(cluster, topic);
  const differing: HistoryCheck['differing'] = [];
  for (const p of parts) {
    const leaderCopy = logBytes(cluster, p.leader, id, p.partition);
    for (const n of p.replicas) if (!logBytes(cluster, n, id, p.partition).equals(leaderCopy)) differing.push({ partition: p.partition, replica: n });
  }
  return {
    read,
    values: new Set(seen.keys()),
    lost: [...acked].filter((v) => !seen.has(v)),
    duplicates: [...seen].filter(([, n]) => n > 1).map(([v]) => v),
    differing,
  };
}
