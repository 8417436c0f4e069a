/**
 * A cluster for tests: a private etcd and real `webka start` processes joined to it under one key
 * prefix. start(n) starts node n (again on its own data directory after a kill); killAll() and
 * stop() clean up. Helpers poll a broker's answers until a condition holds (bounded).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startEtcd, type TestEtcd } from './etcd.js';
import { startCliBroker, type CliBroker } from './cli-broker.js';
import { tempDir } from './start-broker.js';
import type { TestHosts } from './test-hosts.js';

export interface TestCluster {
  etcd: TestEtcd;
  prefix: string;
  brokers: Map<number, CliBroker>;
  dirs: Map<number, string>;
  /** With kafka: each running node's Kafka listener port. */
  kafkaPorts: Map<number, number>;
  /** Starts node `nodeId` (on the same data directory as before, if it ran before), with `env` (WEBKA_* settings) and this node's own `moreEnv`. */
  start(nodeId: number, extra?: string[], moreEnv?: NodeJS.ProcessEnv): Promise<CliBroker>;
  /** kill -9 of a node; resolves once it has exited. */
  kill(nodeId: number): Promise<void>;
  /** Stops every broker (SIGKILL), etcd, and removes the data directories. */
  stop(): Promise<void>;
}

/**
 * With `kafka`, every broker also runs a Kafka listener (on a free port, in kafkaPorts). With
 * `hosts`, etcd runs on test host "etcd" and node n on test host "n<n>" (port 8080, advertised on
 * the cluster net); a broker's url is then its client-net address.
 */
export async function startCluster(prefix: string, env: NodeJS.ProcessEnv = {}, opts: { kafka?: boolean; hosts?: TestHosts } = {}): Promise<TestCluster> {
  const hosts = opts.hosts;
  const on = (host: string): { exec: string[]; clusterAddress: string; clientAddress: string } | undefined =>
    hosts === undefined ? undefined : { exec: hosts.exec(host), clusterAddress: hosts.clusterAddress(host), clientAddress: hosts.clientAddress(host) };
  // a 1 s lease (WEBKA_COORDINATOR_LEASE_SECONDS=1) needs etcd's election timeout at 500 ms
  const etcd = await startEtcd(env.WEBKA_COORDINATOR_LEASE_SECONDS === '1' ? 500 : 1000, on('etcd'));
  const brokers = new Map<number, CliBroker>();
  const dirs = new Map<number, string>();
  const kafkaPorts = new Map<number, number>();
  const cluster: TestCluster = {
    etcd,
    prefix,
    brokers,
    dirs,
    kafkaPorts,
    async start(nodeId, extra = [], moreEnv = {}) {
      const dir = dirs.get(nodeId) ?? tempDir();
      dirs.set(nodeId, dir);
      const host = on(`n${nodeId}`);
      const listen = host === undefined ? ['--port', '0'] : ['--host', '0.0.0.0', '--port', '8080', '--advertised-url', `http://${host.clusterAddress}:8080`];
      const b = await startCliBroker([...listen, '--kafka-port', opts.kafka === true ? '0' : '-1', '--data-dir', dir, '--node-id', String(nodeId), '--coordinator', `${etcd.brokerUrl.replace('http://', 'etcd://')}${prefix}`, ...extra], { ...env, ...moreEnv }, 30_000, host?.exec);
      if (host !== undefined) b.url = `http://${host.clientAddress}:8080`;
      brokers.set(nodeId, b);
      const kafka = b.lines.find((l) => l?.msg === 'kafka listener started');
      if (kafka !== undefined) kafkaPorts.set(nodeId, kafka.port as number);
      return b;
    },
    async kill(nodeId) {
      const b = brokers.get(nodeId);
      if (b === undefined) return;
      b.child.kill('SIGKILL');
      await b.exited;
      brokers.delete(nodeId);
      kafkaPorts.delete(nodeId);
    },
    async stop() {
      for (const b of brokers.values()) b.child.kill('SIGKILL');
      await Promise.all([...brokers.values()].map((b) => b.exited));
      await etcd.stop();
      for (const d of dirs.values()) fs.rmSync(d, { recursive: true, force: true });
    },
  };
  return cluster;
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, body: await r.json().catch(() => null) };
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json().catch(() => null) };
}

/** Calls `probe` until it returns something other than undefined (bounded); returns that. */
export async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: not reached in ${timeoutMs} ms${last === undefined ? '' : ` (last error: ${(last as Error).message})`}`);
}

/** Waits until `b` lists `n` live brokers with a controller; returns the controller's node id. */
export async function untilBrokers(b: CliBroker, n: number): Promise<number> {
  return until(async () => {
    const { body } = await getJson(`${b.url}/v1/brokers`);
    const list = body.brokers as { nodeId: number; controller: boolean }[];
    return list.length === n && list.some((x) => x.controller) ? list.find((x) => x.controller)!.nodeId : undefined;
  }, `${n} brokers with a controller`);
}

/** Waits until some running broker of `c` lists `n` live brokers with a controller (any broker may be stopped or going away). */
export async function untilLive(c: TestCluster, n: number): Promise<void> {
  await until(async () => {
    for (const b of c.brokers.values()) {
      try {
        const r = await getJson(`${b.url}/v1/brokers`);
        if (r.status === 200 && r.body.brokers.length === n && r.body.brokers.some((x: { controller: boolean }) => x.controller)) return true;
      } catch {
        // that broker is stopped or going away
      }
    }
    return undefined;
  }, `${n} live brokers with a controller`);
}
