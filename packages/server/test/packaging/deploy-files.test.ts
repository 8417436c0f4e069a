/**
 * The operator's files at the repository root: every metric the Grafana dashboard queries is one
 * a running broker's GET /metrics declares, and the Dockerfile and compose file keep their
 * promises (multi-stage, non-root, a data volume, a health check on /health, the installed bin;
 * each broker of compose.yaml keeps its data on a named volume).
 * The image itself is not built here: see docs/deploy.md for what is and is not tested.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { startBroker, type TestBroker } from '../support/start-broker.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');

describe('deploy files', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker.close();
  });

  it('the Grafana dashboard queries only metrics the broker exposes', async () => {
    const res = await fetch(`${broker.url}/metrics`);
    assert.equal(res.status, 200);
    const exposed = new Set<string>();
    for (const m of (await res.text()).matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [, name, type] = m;
      exposed.add(name);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(name + suffix);
      if (type === 'summary') for (const suffix of ['_sum', '_count']) exposed.add(name + suffix);
    }
    const dashboard = JSON.parse(read('deploy/grafana/webka-dashboard.json'));
    const exprs: string[] = dashboard.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr));
    assert.ok(exprs.length >= 10, 'the dashboard has its panels');
    const used = new Set(exprs.flatMap((e) => e.match(/\bwebka_[a-z0-9_]+/g) ?? []));
    const missing = [...used].filter((name) => !exposed.has(name));
    assert.deepEqual(missing, [], `metrics the dashboard uses but /metrics does not declare: ${missing.join(', ')}`);
    // every broker metric of docs/operations.md's table appears on the dashboard
    const broker_ = [...exposed].filter((n) => /^webka_(?!process_|nodejs_)/.test(n) && !/_(bucket|sum|count)$/.test(n));
    const unshown = broker_.filter((n) => ![...used].some((u) => u === n || u.startsWith(n + '_')));
    assert.deepEqual(unshown, [], `broker metrics the dashboard does not show: ${unshown.join(', ')}`);
  });

  it('the Dockerfile: multi-stage, non-root, /data volume, health check on /health, the installed bin', () => {
    const dockerfile = read('Dockerfile');
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
    const user = /^USER (\S+)$/m.exec(dockerfile)?.[1];
    assert.ok(user !== undefined && user !== 'root' && user !== '0', `runs as a non-root user, got ${user}`);
    assert.match(dockerfile, /^VOLUME \["\/data"\]$/m);
    assert.match(dockerfile, /^ {4}WEBKA_DATA_DIR=\/data$/m);
    assert.match(dockerfile, /^HEALTHCHECK [^\n]*\\\n\s+CMD [^\n]*\/health/m);
    const bin = JSON.parse(read('packages/server/package.json')).bin.webka as string;
    assert.ok(dockerfile.includes(`/opt/webka/node_modules/webka/${bin}`), `ENTRYPOINT runs the installed ${bin}`);
    const services = (YAML.parse(read('compose.yaml'), { merge: true }) as { services: Record<string, { build?: string; volumes?: string[] }> }).services;
    const brokers = Object.values(services).filter((s) => s.build !== undefined);
    assert.ok(brokers.length > 0);
    for (const s of brokers) assert.ok(s.volumes?.some((v) => /^[\w-]+:\/data$/.test(v)), `a named volume on /data: ${s.volumes?.join(', ')}`);
  });
});
