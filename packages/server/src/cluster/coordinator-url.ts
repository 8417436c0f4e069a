/**
 * The `coordinator` setting: `etcd://host:port[,host:port...]/prefix`. The path is the key
 * prefix, so one etcd serves several clusters.
 */
export interface CoordinatorAddress {
  kind: 'etcd';
  /** Client URLs, e.g. ['http://127.0.0.1:2379']. */
  endpoints: string[];
  /** Key prefix, e.g. '/my-cluster'. */
  prefix: string;
}

const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

/** Parses the setting; the Error's message says what to fix. */
export function parseCoordinatorUrl(value: string): CoordinatorAddress {
  const example = 'etcd://127.0.0.1:2379/my-cluster (several endpoints: etcd://h1:2379,h2:2379/my-cluster)';
  const m = /^([a-z]+):\/\/([^/]*)(\/.*)?$/.exec(value);
  if (m === null || m[1] !== 'etcd') throw new Error(`must be an etcd:// URL such as ${example}, got ${JSON.stringify(value)}`);
  const hosts = m[2].split(',');
  const bad = hosts.find((h) => !HOST_PORT.test(h) || Number(h.slice(h.lastIndexOf(':') + 1)) > 65535);
  if (bad !== undefined) throw new Error(`endpoint ${JSON.stringify(bad)} must be host:port, as in ${example}`);
  const prefix = (m[3] ?? '').replace(/\/+$/, '');
  if (prefix === '') throw new Error(`needs a key prefix naming the cluster, as in ${example}, got ${JSON.stringify(value)}`);
  return { kind: 'etcd', endpoints: hosts.map((h) => `http://${h}`), prefix };
}
