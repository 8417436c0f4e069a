/**
 * Test hosts: each named host (a broker, etcd) in its own network namespace, so that a test can
 * cut one off from the others by taking a link down (a network partition), as DESIGN.md's "Test
 * hosts" says. Needs root and iproute2; needTestHosts() gives the reason to skip otherwise.
 *
 * Two networks, each a bridge in a namespace of its own:
 *
 *   cluster net  10.A.1.0/24  brokers and etcd talk to each other here (advertised URLs, the
 *                             coordinator URL); cut(host) takes the host's port on this bridge
 *                             down, so its packets to the others are dropped (as a failed switch
 *                             port would: no error, a timeout)
 *   client net   10.A.2.0/24  the test process (root namespace) reaches every host here, cut or
 *                             not, as a client would still reach a broker cut off from its peers
 *
 * No namespace has a default route and none forwards, so no test packet can leave the machine or
 * cross from one net to the other. The root namespace joins the client net only, behind a guard:
 * `unreachable 10.A.0.0/16`, which wins should its link go away, instead of the default route.
 * remove() deletes the namespaces (their links go with them) and the guard; so does process exit.
 */
import { execFileSync } from 'node:child_process';
import { alive } from '../../src/storage/data-dir-lock.js';

export interface TestHosts {
  /** Command prefix that runs a program on `host`. */
  exec(host: string): string[];
  /** The host's address on the cluster net (what brokers and etcd are told). */
  clusterAddress(host: string): string;
  /** The host's address on the client net (what the test uses). */
  clientAddress(host: string): string;
  /** Cuts `host` off from the cluster net; the test still reaches it on the client net. */
  cut(host: string): void;
  /** Joins a cut host to the cluster net again. */
  heal(host: string): void;
  /** Deletes every namespace, link and route that these hosts made. */
  remove(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** null when test hosts can be made here, else the reason to skip. */
export function needTestHosts(): string | null {
  if (process.platform !== 'linux') return `network namespaces are Linux's (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (CI runs as root)';
  const probe = `wk-probe-${process.pid}`;
  try {
    ip('netns', 'add', probe);
    ip('-n', probe, 'link', 'add', 'br0', 'type', 'bridge');
  } catch (err) {
    return `ip netns does not work here: ${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? (err as Error).message}`;
  } finally {
    try {
      ip('netns', 'del', probe);
    } catch {
      // it was never made
    }
  }
  return null;
}

/**
 * Deletes the namespaces (and with them their links) of test runs whose process is gone: one
 * killed with SIGKILL could not remove them, and a later run whose pid gives the same nets would
 * find its addresses taken.
 */
function sweepStale(): void {
  const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]);
  for (const name of names) {
    const pid = /^wk(\d+)-/.exec(name)?.[1];
    if (pid === undefined || alive(Number(pid))) continue;
    try {
      ip('netns', 'del', name);
    } catch {
      // another run swept it first
    }
  }
}

/** Makes one namespace per name in `hosts`, each on both nets. */
export function createTestHosts(hosts: string[]): TestHosts {
  sweepStale();
  const tag = `wk${process.pid}`;
  const a = 100 + (process.pid % 100);
  const ns = (h: string): string => `${tag}-${h}`;
  const clusterBridge = ns('cluster-net');
  const clientBridge = ns('client-net');
  const rootLink = tag.slice(0, 15);
  const guard = `10.${a}.0.0/16`;
  const number = new Map(hosts.map((h, i) => [h, i + 1]));
  const octet = (h: string): number => {
    const n = number.get(h);
    if (n === undefined) throw new Error(`no test host named ${h}`);
    return n;
  };
  const made: string[] = [];
  let guarded = false;
  const remove = (): void => {
    for (const name of made.splice(0)) {
      try {
        ip('netns', 'del', name);
      } catch {
        // already gone
      }
    }
    if (guarded) {
      guarded = false;
      try {
        ip('route', 'del', 'unreachable', guard);
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', remove);
  const namespace = (name: string): void => {
    ip('netns', 'add', name);
    made.push(name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
  };
  /** A veth from `name` (as `ifname`, addressed `address`) to a port on `bridge`'s br0. */
  const join = (name: string, ifname: string, bridge: string, port: string, address: string): void => {
    ip('-n', name, 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', port, 'netns', bridge);
    ip('-n', bridge, 'link', 'set', port, 'master', 'br0', 'up');
    ip('-n', name, 'addr', 'add', `${address}/24`, 'dev', ifname);
    ip('-n', name, 'link', 'set', ifname, 'up');
  };
  try {
    // replace, not add: a killed run with the same nets may have left its guard behind
    ip('route', 'replace', 'unreachable', guard);
    guarded = true;
    for (const bridge of [clusterBridge, clientBridge]) {
      namespace(bridge);
      ip('-n', bridge, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', bridge, 'link', 'set', 'br0', 'up');
    }
    for (const h of hosts) {
      namespace(ns(h));
      join(ns(h), 'eth0', clusterBridge, `c-${octet(h)}`, `10.${a}.1.${octet(h)}`);
      join(ns(h), 'eth1', clientBridge, `k-${octet(h)}`, `10.${a}.2.${octet(h)}`);
    }
    // the root namespace's link to the client net (deleted with the client net's namespace)
    ip('link', 'add', rootLink, 'type', 'veth', 'peer', 'name', 'k-root', 'netns', clientBridge);
    ip('-n', clientBridge, 'link', 'set', 'k-root', 'master', 'br0', 'up');
    ip('addr', 'add', `10.${a}.2.254/24`, 'dev', rootLink);
    ip('link', 'set', rootLink, 'up');
  } catch (err) {
    remove();
    throw new Error(`making test hosts failed: ${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? (err as Error).message}`);
  }
  return {
    exec: (h) => ['ip', 'netns', 'exec', ns(h)],
    clusterAddress: (h) => `10.${a}.1.${octet(h)}`,
    clientAddress: (h) => `10.${a}.2.${octet(h)}`,
    cut: (h) => ip('-n', clusterBridge, 'link', 'set', `c-${octet(h)}`, 'down'),
    heal: (h) => ip('-n', clusterBridge, 'link', 'set', `c-${octet(h)}`, 'up'),
    remove: () => {
      remove();
      process.off('exit', remove);
    },
  };
}
