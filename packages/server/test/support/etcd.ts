/**
 * A private etcd for a test file: Debian's `etcd-server` (3.4), installed by the test command
 * itself through needDebianPackages, started on 127.0.0.1 with free client and peer ports and a
 * temporary data directory, and stopped (directory removed) by stop(). Nothing listens beyond
 * loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { needDebianPackages, type DebianNeed } from './debian-packages.js';

/** Debian's etcd 3.4 server (the `etcd` binary). */
export const ETCD_SERVER: DebianNeed = { packages: ['etcd-server'], check: 'command -v etcd' };

/** null when etcd can be run here (installing it if need be), else the reason to skip. */
export function needEtcd(): string | null {
  return needDebianPackages(ETCD_SERVER);
}

export interface TestEtcd {
  /** Client URL the test uses, e.g. http://127.0.0.1:40123 */
  url: string;
  /** Client URL the brokers are given (on a test host, its cluster-net address; else url). */
  brokerUrl: string;
  dataDir: string;
  /** Stops etcd (SIGTERM, then SIGKILL after 10 s) and removes its data directory. */
  stop(): Promise<void>;
  /** kill -9 of etcd, then etcd again on the same ports and data directory; resolves once it is healthy. */
  restart(): Promise<void>;
}

/** Whether a TCP port can be listened on at 127.0.0.1 now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The first port of the kernel's ephemeral range (the source ports of outgoing connections). */
function ephemeralLow(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 49152; // the IANA range, where /proc does not say
  }
}

const PORT_FLOOR = 10_000;

/**
 * A TCP port free on 127.0.0.1 right now, for a process this test starts on it later: a random
 * one below the kernel's ephemeral range. A port the kernel hands out for listen(0) is one of
 * that range, so the source port of any connection another test opens meanwhile could take it
 * before it is used (seen: a broker of the compose test refused with EADDRINUSE); below the range
 * only another test's choice can, one in some twenty thousand.
 */
export async function freePort(): Promise<number> {
  const high = ephemeralLow() - 1;
  if (high - PORT_FLOOR >= 1000) {
    for (let i = 0; i < 50; i++) {
      const port = PORT_FLOOR + Math.floor(Math.random() * (high - PORT_FLOOR));
      if (await canListen(port)) return port;
    }
  }
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function healthy(url: string, child: ChildProcess, deadline: number): Promise<boolean> {
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (r.ok && ((await r.json()) as { health?: string }).health === 'true') return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Where etcd runs: on a test host (a command prefix, its cluster-net and client-net addresses) or, without one, on loopback. */
export interface EtcdHost {
  exec: string[];
  clusterAddress: string;
  clientAddress: string;
}

/** etcd serving clients on `urls` (advertising the first) and `peer`, with its data in `dataDir` (an existing one is taken up again). */
function spawnEtcd(dataDir: string, urls: string[], peer: string, electionTimeoutMs: number, exec: string[] = []): { child: ChildProcess; log: () => string } {
  const [command, ...prefix] = [...exec, 'etcd'];
  const child = spawn(
    command,
    [
      ...prefix,
      // etcd grants no lease shorter than 1.5 election timeouts (a 2 s lease at its default 1000 ms)
      '--election-timeout', String(electionTimeoutMs),
      '--heartbeat-interval', String(Math.max(10, Math.floor(electionTimeoutMs / 10))),
      '--name', 'test',
      '--data-dir', path.join(dataDir, 'data'),
      '--listen-client-urls', urls.join(','),
      '--advertise-client-urls', urls[0],
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `test=${peer}`,
      '--initial-cluster-state', 'new',
      '--log-outputs', 'stderr',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  return { child, log: () => log };
}

/**
 * Starts a one-member etcd on loopback (or on a test host, on its usual ports); retries with
 * other ports if a port was taken meanwhile. `electionTimeoutMs` (etcd's default 1000) bounds the
 * shortest lease it grants: 500 allows 1 s.
 */
export async function startEtcd(electionTimeoutMs = 1000, host?: EtcdHost): Promise<TestEtcd> {
  let lastLog = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-etcd-'));
    const [clientPort, peerPort] = host === undefined ? [await freePort(), await freePort()] : [2379, 2380];
    const url = `http://${host?.clientAddress ?? '127.0.0.1'}:${clientPort}`;
    const brokerUrl = `http://${host?.clusterAddress ?? '127.0.0.1'}:${clientPort}`;
    const urls = host === undefined ? [url] : [brokerUrl, url];
    const peer = `http://${host?.clusterAddress ?? '127.0.0.1'}:${peerPort}`;
    let running = spawnEtcd(dataDir, urls, peer, electionTimeoutMs, host?.exec);
    const killOnExit = (): void => void running.child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const halt = async (signal: NodeJS.Signals): Promise<void> => {
      const child = running.child;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited(child);
        clearTimeout(killer);
      }
    };
    const stop = async (): Promise<void> => {
      await halt('SIGTERM');
      process.off('exit', killOnExit);
      fs.rmSync(dataDir, { recursive: true, force: true });
    };
    const restart = async (): Promise<void> => {
      await halt('SIGKILL');
      running = spawnEtcd(dataDir, urls, peer, electionTimeoutMs, host?.exec);
      if (!(await healthy(url, running.child, Date.now() + 30_000))) throw new Error(`etcd did not come back on ${url}; its log:\n${running.log()}`);
    };
    if (await healthy(url, running.child, Date.now() + 30_000)) return { url, brokerUrl, dataDir, stop, restart };
    lastLog = running.log();
    await stop();
  }
  throw new Error(`etcd did not become healthy on loopback after 3 tries; last log:\n${lastLog}`);
}
