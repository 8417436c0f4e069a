#!/usr/bin/env node
/**
 * Prints the test files for `npm test`, the longest first. The runner starts files in the order
 * given, a few at a time (--test-concurrency): a long file started last runs on while nothing
 * else does, so the suite lasts as long as that file's tail. Started first, it overlaps the rest.
 * The list below is the longest files of a full run (their time in seconds on 2 cores, a fresh
 * machine: the container image's first build, the CLI's hundred processes, the cluster's fault
 * runs); every other file follows in path order. A file named here that no longer exists is
 * skipped; a new long file belongs here.
 */
import fs from 'node:fs';
import path from 'node:path';

const LONGEST_FIRST = [
  'packages/server/test/packaging/container-image.test.ts', // 330 s (40 s once podman has its caches)
  'packages/server/test/cli/cli.test.ts', // 175
  'packages/server/test/cluster/cluster-exactly-once.test.ts', // 95
  'packages/server/test/cluster/faults.test.ts', // 100
  'packages/server/test/cluster/partition.test.ts', // 70
  'packages/server/test/transactions/exactly-once-pipeline.test.ts', // 70
  'packages/server/test/durable-streams/conformance.test.ts', // 56
  'packages/server/test/cli/auth-cli.test.ts', // 57
  'packages/server/test/packaging/npm-pack.test.ts', // 50
  'packages/server/test/crash/crash.test.ts', // 45
  'packages/server/test/cluster/kafka-cluster-transactions.test.ts', // 40
  'packages/server/test/cluster/kafka-cluster.test.ts', // 40
];

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

function find(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) find(p, out);
    else if (e.name.endsWith('.test.ts') && p.split(path.sep).includes('test')) out.push(path.relative(root, p));
  }
  return out;
}

const all = find(path.join(root, 'packages'), []).sort();
const first = LONGEST_FIRST.filter((f) => all.includes(f));
const rest = all.filter((f) => !first.includes(f));
process.stdout.write([...first, ...rest].join('\n') + '\n');
