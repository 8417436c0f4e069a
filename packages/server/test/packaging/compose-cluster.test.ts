/**
 * compose.yaml run as local processes: no container runtime runs here, so this starts exactly the
 * services the file describes (etcd with its command, each broker with the image's entrypoint,
 * the Dockerfile's ENV and the service's environment) with Debian's etcd and the built broker on
 * loopback. What is translated, and only that: service host names, 0.0.0.0 and localhost become
 * 127.0.0.1; each container port becomes a free local port; each volume's mount point becomes a
 * temporary directory; ${VAR:?...} is interpolated as compose does. Then the cluster must work:
 * three brokers and a controller, a topic with replication factor 3, an acks=all produce through
 * one broker read through another, and after kill -9 of the partition's leader, an acks=all
 * produce and a read through the two left. Also checks the published ports (distinct on the host;
 * a Kafka port published on the same port, since Metadata advertises it).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { freePort, needEtcd } from '../support/etcd.js';
import { runCommand, waitForReady, type CliBroker, type CliRun } from '../support/cli-broker.js';
import { tempDir } from '../support/start-broker.js';
import { until } from '../support/cluster.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');

const missing = needEtcd();
if (missing !== null) console.log(`# skipping the compose cluster test: ${missing}`);

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}

/** The runtime stage of the Dockerfile: its ENV, ENTRYPOINT and CMD. */
function imageConfig(dockerfile: string): { env: Record<string, string>; entrypoint: string[]; cmd: string[] } {
  const stages = dockerfile.replace(/\\\n/g, ' ').split(/^FROM .*$/m);
  const last = stages[stages.length - 1];
  const env: Record<string, string> = {};
  for (const line of last.match(/^ENV .*$/gm) ?? []) for (const [, k, v] of line.slice(4).matchAll(/(\w+)=(\S+)/g)) env[k] = v;
  const json = (instr: string): string[] => JSON.parse(new RegExp(`^${instr} (\\[.*\\])$`, 'm').exec(last)![1]);
  return { env, entrypoint: json('ENTRYPOINT'), cmd: json('CMD') };
}

const runs: CliRun[] = [];
const dirs: string[] = [];
after(async () => {
  for (const r of runs) r.child.kill('SIGKILL');
  await Promise.all(runs.map((r) => r.exited));
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test('compose.yaml: three brokers on etcd, acks=all with replication factor 3, a leader killed', { skip: missing ?? false, timeout: 240_000 }, async () => {
  const compose = YAML.parse(read('compose.yaml'), { merge: true }) as { services: Record<string, Service> };
  const image = imageConfig(read('Dockerfile'));
  const services = compose.services;
  const brokers = Object.keys(services).filter((n) => services[n].build !== undefined);
  assert.deepEqual(brokers, ['webka-1', 'webka-2', 'webka-3'], 'three brokers built from the Dockerfile');
  const etcdName = Object.keys(services).find((n) => services[n].command?.[0] === 'etcd');
  assert.equal(etcdName, 'etcd', 'an etcd service running etcd');
  for (const b of brokers) assert.equal(services[b].depends_on?.[etcdName]?.condition, 'service_healthy', `${b} starts once etcd is healthy`);

  // the published ports: distinct on the host, each a port the broker listens on, Kafka's 1:1
  const hostPorts = new Set<string>();
  for (const b of brokers) {
    const env = { ...image.env, ...services[b].environment };
    const published = new Map((services[b].ports ?? []).map((p) => p.split(':').reverse() as [string, string]));
    assert.ok(published.has(env.WEBKA_PORT), `${b} publishes its HTTP port ${env.WEBKA_PORT}`);
    assert.equal(published.get(env.WEBKA_KAFKA_PORT), env.WEBKA_KAFKA_PORT, `${b} publishes its Kafka port as itself (Metadata advertises it)`);
    for (const h of published.values()) {
      assert.ok(!hostPorts.has(h), `host port ${h} published once`);
      hostPorts.add(h);
    }
  }

  // the translation to local processes
  const secret = crypto.randomBytes(32).toString('base64');
  const vars: Record<string, string> = { WEBKA_INTER_BROKER_SECRET: secret };
  const ports = new Map<string, number>();
  for (const [name, s] of Object.entries(services)) {
    const env = { ...(s.build !== undefined ? image.env : {}), ...s.environment };
    const listened = [...Object.entries(env).filter(([k]) => k.endsWith('_PORT')).map(([, v]) => v), ...(s.command ?? []).join(' ').matchAll(/:(\d+)\b/g)].map((p) => (typeof p === 'string' ? p : p[1]));
    for (const p of listened) if (!ports.has(`${name}:${p}`)) ports.set(`${name}:${p}`, await freePort());
  }
  const mounts = new Map<string, Map<string, string>>();
  for (const [name, s] of Object.entries(services)) {
    const m = new Map<string, string>();
    for (const v of s.volumes ?? []) {
      const dir = tempDir();
      dirs.push(dir);
      m.set(v.split(':')[1], dir);
    }
    mounts.set(name, m);
  }
  const translate = (service: string, value: string): string => {
    let out = value.replace(/\$\{(\w+)(?::[?-][^}]*)?\}/g, (_, v: string) => {
      assert.ok(vars[v] !== undefined, `compose.yaml needs \${${v}}, which this test does not give`);
      return vars[v];
    });
    out = out.replace(/\b(0\.0\.0\.0|localhost|[a-z][a-z0-9-]*):(\d+)\b/g, (all, host: string, port: string) => {
      const key = `${host === '0.0.0.0' || host === 'localhost' ? service : host}:${port}`;
      return ports.has(key) ? `127.0.0.1:${ports.get(key)}` : all;
    });
    for (const [target, dir] of mounts.get(service)!) out = out.replace(new RegExp(`(^|=)${target}(?=/|$)`), `$1${dir}`);
    return out === '0.0.0.0' || out === 'localhost' ? '127.0.0.1' : out;
  };
  const localEnv = (service: string, env: Record<string, string>): NodeJS.ProcessEnv => {
    const out: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    for (const [k, v] of Object.entries(env)) out[k] = k.endsWith('_PORT') ? String(ports.get(`${service}:${v}`)) : translate(service, String(v));
    return out;
  };

  // etcd, as its command says
  const etcdCmd = services.etcd.command!.map((a) => translate('etcd', a));
  const etcd = runCommand('etcd', etcdCmd.slice(1), localEnv('etcd', services.etcd.environment ?? {}));
  runs.push(etcd);
  const etcdUrl = `http://127.0.0.1:${ports.get('etcd:2379')}`;
  await until(async () => ((await fetch(`${etcdUrl}/health`).then((r) => r.json()).catch(() => ({}))) as { health?: string }).health === 'true' || undefined, `etcd healthy (${etcd.stderr().slice(-500)})`, 60_000);

  // the brokers: the image's entrypoint and command, the image's ENV and the service's environment
  const bin = image.entrypoint[1].replace('/opt/webka/node_modules/webka/', path.join(ROOT, 'packages/server/'));
  assert.equal(image.entrypoint[0], 'node');
  const started = new Map<string, CliBroker>();
  await Promise.all(
    brokers.map(async (b) => {
      const run = runCommand(process.execPath, [bin, ...(services[b].command ?? image.cmd)], localEnv(b, { ...image.env, ...services[b].environment }));
      runs.push(run);
      started.set(b, await waitForReady(run, 90_000));
    }),
  );
  const url = (b: string): string => started.get(b)!.url;
  assert.equal(url('webka-2'), `http://127.0.0.1:${ports.get('webka-2:8080')}`, 'the broker listens where compose publishes it');
  const keyFiles = brokers.map((b) => path.join(mounts.get(b)!.get('/data')!, 'initial-admin-key')).filter((f) => fs.existsSync(f));
  assert.equal(keyFiles.length, 1, 'authentication is on: one broker made the admin key');
  const key = /^key=(\S+)$/m.exec(fs.readFileSync(keyFiles[0], 'utf8'))![1];
  const call = async (b: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const r = await fetch(url(b) + p, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(20_000) });
    return { status: r.status, body: await r.json().catch(() => null) };
  };
  assert.equal((await fetch(`${url('webka-1')}/v1/brokers`)).status, 401, 'no credentials, no answer');

  await until(async () => {
    const list = (await call('webka-2', 'GET', '/v1/brokers')).body?.brokers as { nodeId: number; url: string; alive: boolean; controller: boolean }[] | undefined;
    return list?.length === 3 && list.every((x) => x.alive) && list.some((x) => x.controller) ? list : undefined;
  }, 'three live brokers and a controller');

  const created = await call('webka-1', 'POST', '/v1/clusters/default/topics', { name: 'orders', partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const leader = `webka-${created.body.partitionInfo[0].leader as number}`;
  assert.deepEqual([...created.body.partitionInfo[0].replicas].sort(), [1, 2, 3]);
  for (const b of brokers) await until(async () => ((await call(b, 'GET', '/v1/clusters/default/topics/orders')).status === 200 ? true : undefined), `${b} has the topic`);

  const produce = (b: string, value: string): Promise<{ status: number; body: any }> => call(b, 'POST', '/v1/clusters/default/topics/orders/records?acks=all', { records: [{ key: 'k', value }] });
  const values = async (b: string): Promise<string[]> => ((await call(b, 'GET', '/v1/clusters/default/topics/orders/partitions/0/records?offset=0')).body?.records ?? []).map((r: { value: string }) => r.value);
  const first = await produce('webka-1', 'before');
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.deepEqual(await until(async () => ((await values('webka-2')).length === 1 ? values('webka-2') : undefined), 'webka-2 reads the record'), ['before']);

  // kill -9 of the partition's leader: the two left elect another and carry on with acks=all
  const victim = runs[1 + brokers.indexOf(leader)];
  victim.child.kill('SIGKILL');
  await victim.exited;
  const [s1, s2] = brokers.filter((b) => b !== leader);
  await until(async () => ((await produce(s1, 'after')).status === 200 ? true : undefined), `an acks=all produce through ${s1} after ${leader} was killed`, 90_000);
  const view = (await call(s2, 'GET', '/v1/clusters/default/topics/orders')).body.partitionInfo[0];
  assert.notEqual(`webka-${view.leader as number}`, leader, 'another broker leads');
  assert.ok(!(view.isr as number[]).includes(Number(leader.slice(6))), 'the killed broker left the ISR');
  const after_ = await until(async () => {
    const v = await values(s2);
    return v.includes('after') ? v : undefined;
  }, `${s2} reads the record written after the kill`);
  assert.equal(after_[0], 'before');
  assert.equal(after_.filter((v) => v === 'before').length, 1);
});
