/**
 * Dependencies point one way (STYLE.md): http -> core (broker, groups, partitions, catalog, auth)
 * -> storage. This test reads every source file's imports and fails on an edge that points the
 * wrong way or on an import cycle, as Kafka's import-control does for its storage module.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const IMPORT = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function imports(file: string, { typesToo = true } = {}): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    if (!typesToo && /^(?:import|export)\s+type\s/.test(m[0])) continue;
    out.push(m[1] ?? m[2] ?? m[3]);
  }
  return out;
}

function resolve(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const p = path.resolve(path.dirname(from), spec).replace(/\.js$/, '.ts');
  return fs.existsSync(p) ? p : fs.existsSync(path.join(p.replace(/\.ts$/, ''), 'index.ts')) ? path.join(p.replace(/\.ts$/, ''), 'index.ts') : null;
}

const serverSrc = path.join(root, 'packages/server/src');
const rel = (f: string): string => path.relative(serverSrc, f);
const area = (f: string): string => {
  const r = rel(f);
  return r.includes(path.sep) ? r.split(path.sep)[0] : r.replace(/\.ts$/, '');
};

/** For each area, the areas it must never import. */
const FORBIDDEN: Record<string, string[]> = {
  storage: ['catalog', 'partitions', 'groups', 'http', 'cli', 'broker', 'server', 'auth', 'durable-streams', 'metrics', 'config', 'kafka'],
  catalog: ['partitions', 'groups', 'http', 'cli', 'broker', 'server', 'durable-streams', 'kafka'],
  partitions: ['groups', 'transactions', 'http', 'cli', 'broker', 'server', 'durable-streams', 'kafka', 'replication', 'cluster'],
  groups: ['http', 'cli', 'server', 'durable-streams', 'kafka'],
  transactions: ['http', 'cli', 'server', 'durable-streams', 'kafka'],
  broker: ['http', 'cli', 'server', 'durable-streams', 'groups', 'transactions', 'kafka', 'replication'],
  auth: ['http', 'cli', 'server', 'durable-streams', 'kafka'],
  config: ['http', 'cli', 'server', 'broker', 'storage', 'partitions', 'groups', 'kafka'],
  http: ['cli', 'kafka'],
  'durable-streams': ['kafka'],
  kafka: ['http', 'cli', 'server', 'durable-streams'],
  cluster: ['http', 'cli', 'server', 'durable-streams', 'kafka', 'broker', 'groups', 'transactions', 'auth', 'replication'],
  replication: ['http', 'cli', 'server', 'durable-streams', 'kafka', 'groups', 'transactions', 'auth'],
};

test('server source folders import only downward', () => {
  const problems: string[] = [];
  for (const file of sources(serverSrc)) {
    const from = area(file);
    for (const spec of imports(file)) {
      if (spec === 'fastify' || spec.startsWith('@fastify/')) {
        if (!['http', 'server', 'durable-streams', 'auth', 'metrics', 'cli'].includes(from)) problems.push(`${rel(file)} imports ${spec}: only the HTTP layer knows HTTP`);
        continue;
      }
      const target = resolve(file, spec);
      if (target === null || !target.startsWith(serverSrc)) continue;
      if ((FORBIDDEN[from] ?? []).includes(area(target))) problems.push(`${rel(file)} (${from}) imports ${rel(target)} (${area(target)})`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the server has no import cycles (type-only imports aside: they vanish at run time)', () => {
  const graph = new Map<string, string[]>();
  for (const file of sources(serverSrc)) {
    graph.set(file, imports(file, { typesToo: false }).map((s) => resolve(file, s)).filter((t): t is string => t !== null && t.startsWith(serverSrc)));
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, stack: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'visiting') {
      cycles.push([...stack.slice(stack.indexOf(f)), f].map(rel).join(' -> '));
      return;
    }
    state.set(f, 'visiting');
    for (const t of graph.get(f) ?? []) visit(t, [...stack, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  assert.deepEqual(cycles, []);
});

test('the protocol package uses no Node APIs and the SDK imports nothing from the server', () => {
  const problems: string[] = [];
  for (const file of sources(path.join(root, 'packages/protocol/src'))) {
    for (const spec of imports(file)) if (spec.startsWith('node:') || spec === 'webka') problems.push(`${path.relative(root, file)} imports ${spec}`);
  }
  for (const file of sources(path.join(root, 'packages/client/src'))) {
    for (const spec of imports(file)) {
      if (spec.startsWith('node:') || spec === 'webka' || spec.includes('packages/server') || spec.includes('../server')) problems.push(`${path.relative(root, file)} imports ${spec}`);
    }
  }
  assert.deepEqual(problems, []);
});
