/**
 * The Dockerfile, built and run with podman (Debian's, as root, runc): the image builds from the
 * repository, starts as the `node` user, answers /health and the Kafka listener on the published
 * ports, takes and serves records, reports healthy by its HEALTHCHECK, stops cleanly on SIGTERM
 * (exit 0) and keeps its records in the /data volume across a restart.
 *
 * No registry is reachable here, so the image's base (the Dockerfile's NODE_IMAGE,
 * node:20-bookworm-slim by default) is stood in for by deploy/debian-node-base.sh's: Debian
 * bookworm (debootstrap) with the Node and npm this test runs on and a `node` user with uid 1000
 * as the official images have, plus this machine's CA bundle (npm reaches the registry through
 * it). It is made once and kept in podman's store. Skipped with the reason where
 * podman, runc or debootstrap cannot be had (not root, not Debian).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { needDebianPackages } from '../support/debian-packages.js';
import { freePort } from '../support/etcd.js';
import { until } from '../support/cluster.js';
import { RawKafka } from '../support/raw-kafka.js';
import { ApiVersions } from '../../src/kafka/messages-core.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const missing = process.platform !== 'linux' || process.getuid?.() !== 0
  ? 'building and running the image needs root on Linux (podman as root)'
  : needDebianPackages({ packages: ['podman', 'runc', 'debootstrap'], check: 'command -v podman && command -v runc && command -v debootstrap' });
if (missing !== null) console.log(`# skipping the container image test: ${missing}`);

// one base for every Node line the suite runs on (made with the first; the Dockerfile's default
// base is Node 20's), so the next line's build finds every layer in podman's cache
const BASE = 'localhost/webka-test-node:bookworm';
const IMAGE = 'localhost/webka-test:latest';
const NAME = `webka-test-${process.pid}`;
const VOLUME = `${NAME}-data`;

/**
 * The image's build and its base take a core for a minute or more: they run at the lowest CPU
 * priority, so that the suite's other files, which run meanwhile and some of which time things
 * (stream TTLs, leases), are not slowed by them.
 */
const LOW_PRIORITY = ['nice', '-n', '19'];

/** podman with runc (crun refuses this machine's hybrid cgroups) and limits within the caller's hard ones. */
function podman(args: string[], timeoutMs = 60_000, prefix: string[] = []): Promise<string> {
  const [cmd, ...rest] = [...prefix, 'podman', '--runtime', 'runc', ...args];
  return new Promise((resolve, reject) => {
    execFile(cmd, rest, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`podman ${args.join(' ')}: ${err.message}\n${stderr.split('\n').slice(-15).join('\n')}`));
      else resolve(stdout.trim());
    });
  });
}

function limits(): string[] {
  const hard = (flag: string): string => execFileSync('sh', ['-c', `ulimit -H${flag}`], { encoding: 'utf8' }).trim();
  const files = hard('n');
  return ['--ulimit', `nofile=${files}:${files}`, '--ulimit', 'nproc=4096:4096'];
}

/** The stand-in for node:*-bookworm-slim, made by deploy/debian-node-base.sh once and kept. */
async function baseImage(): Promise<void> {
  if (await podman(['image', 'exists', BASE]).then(() => true, () => false)) return;
  const ca = '/etc/ssl/certs/ca-certificates.crt';
  await new Promise<void>((resolve, reject) => {
    // its `node` is the one running this test (first on PATH)
    const env = { ...process.env, TAG: BASE, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, ...(fs.existsSync(ca) ? { EXTRA_CA: ca } : {}) };
    execFile(LOW_PRIORITY[0], [...LOW_PRIORITY.slice(1), 'sh', path.join(ROOT, 'deploy/debian-node-base.sh')], { env, timeout: 10 * 60_000, maxBuffer: 64 << 20 }, (err, _out, stderr) => (err ? reject(new Error(`deploy/debian-node-base.sh: ${err.message}\n${stderr.split('\n').slice(-15).join('\n')}`)) : resolve()));
  });
}

after(async () => {
  if (missing !== null) return;
  await podman(['rm', '-f', NAME]).catch(() => undefined);
  await podman(['volume', 'rm', '-f', VOLUME]).catch(() => undefined);
});

test('the Dockerfile builds an image that runs the broker as node, serves both listeners, reports healthy, stops cleanly and keeps its data', { skip: missing ?? false, timeout: 15 * 60_000 }, async () => {
  await baseImage();
  // --format docker keeps the HEALTHCHECK (the OCI format has none)
  await podman(['build', '--format', 'docker', '--network', 'host', ...limits(), '--build-arg', `NODE_IMAGE=${BASE}`, '-t', IMAGE, ROOT], 10 * 60_000, LOW_PRIORITY);

  const [http, kafka] = [await freePort(), await freePort()];
  const start = (): Promise<string> => podman(['run', '-d', '--name', NAME, ...limits(), '-p', `127.0.0.1:${http}:8080`, '-p', `127.0.0.1:${kafka}:9092`, '-v', `${VOLUME}:/data`, IMAGE]);
  const url = `http://127.0.0.1:${http}`;
  const healthy = (): Promise<true | undefined> => fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) }).then((r) => (r.ok ? true : undefined), () => undefined);
  await start();
  await until(healthy, 'the container answers /health on its published port', 60_000);

  assert.equal(await podman(['exec', NAME, 'id', '-un']), 'node', 'the broker runs as the image\'s node user');
  assert.equal(await podman(['exec', NAME, 'sh', '-c', 'stat -c %U /data']), 'node', 'node owns the data volume');
  await podman(['healthcheck', 'run', NAME]); // exits non-zero when unhealthy

  // listening on 0.0.0.0, the broker turns authentication on and writes the first admin key
  const file = await podman(['exec', NAME, 'cat', '/data/initial-admin-key']);
  const key = /^key=(\S+)$/m.exec(file)?.[1];
  assert.ok(key !== undefined, `an admin key in /data/initial-admin-key: ${file.replace(/key=\S+/, 'key=...')}`);
  const auth = { authorization: `Bearer ${key}` };
  const post = async (p: string, body: unknown, headers: Record<string, string> = auth): Promise<Response> => fetch(`${url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  assert.equal((await post('/v1/clusters/default/topics', { name: 'in-a-container', partitions: 1 }, {})).status, 401, 'no credentials: 401');
  assert.equal((await post('/v1/clusters/default/topics', { name: 'in-a-container', partitions: 1 })).status, 201);
  assert.equal((await post('/v1/clusters/default/topics/in-a-container/records', { records: [{ value: 'kept' }, { value: 'across a restart' }] })).status, 200);
  const raw = await RawKafka.connect(kafka);
  try {
    const versions = await raw.call(ApiVersions, 0, {});
    assert.equal(versions.errorCode, 0, 'the Kafka listener answers on its published port');
  } finally {
    raw.close();
  }

  // SIGTERM (podman stop): a clean stop, exit 0, well within the grace period
  await podman(['stop', '-t', '20', NAME], 60_000);
  assert.equal(await podman(['inspect', NAME, '--format', '{{.State.ExitCode}}']), '0');
  await podman(['rm', NAME]);
  await start();
  await until(healthy, 'the restarted container answers /health', 60_000);
  const read = await fetch(`${url}/v1/clusters/default/topics/in-a-container/partitions/0/records?offset=0`, { headers: auth });
  assert.equal(read.status, 200);
  const body = (await read.json()) as { records: { value: unknown }[] };
  assert.deepEqual(body.records.map((r) => r.value), ['kept', 'across a restart'], 'the records are in the volume');
});
