#!/usr/bin/env node
/**
 * `npm test`'s runner: every test file, the longest first, a few at a time, reported as TAP (the
 * same on every Node line), exit code 1 when a test fails. `node --test` sorts the files it is
 * given by path, so a long file late in path order started last and ran on while nothing else
 * did (the container image's first build: five minutes alone at the end of a fresh machine's
 * run); node:test's run() keeps the order given. The list below is the longest files of a full
 * run (their time in seconds on 2 cores, a fresh machine: the container image's first build, the
 * CLI's hundred processes, the cluster's fault runs); every other file follows in path order. A
 * file named here that no longer exists is skipped; a new long file belongs here.
 *
 *   node --import tsx scripts/run-tests.mjs                 every test file
 *   node --import tsx scripts/run-tests.mjs FILE...         these (build first: npm run build)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from 'node:test';
import { tap } from 'node:test/reporters';

const LONGEST_FIRST = [
  'packages/server/test/packaging/container-image.test.ts', // 330 (115 once podman has its caches)
  'packages/server/test/cli/cli.test.ts', // 115-175
  'packages/server/test/cluster/faults.test.ts', // 100
  'packages/server/test/cluster/cluster-exactly-once.test.ts', // 95
  'packages/server/test/cluster/partition.test.ts', // 70
  'packages/server/test/transactions/exactly-once-pipeline.test.ts', // 70
  'packages/server/test/durable-streams/conformance.test.ts', // 60
  'packages/console/test/firefox.browser.test.ts', // 60-110
  'packages/server/test/cli/auth-cli.test.ts', // 55
  'packages/server/test/crash/crash.test.ts', // 50
  'packages/server/test/packaging/npm-pack.test.ts', // 30-50
  'packages/server/test/cluster/kafka-cluster-transactions.test.ts', // 40
  'packages/server/test/cluster/kafka-cluster.test.ts', // 40
];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

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
const given = process.argv.slice(2);
const files = (given.length > 0 ? given : [...first, ...rest]).map((f) => path.resolve(given.length > 0 ? process.cwd() : root, f));

// the test files run in child processes started with this process's flags (--import tsx)
const stream = run({ files, concurrency: 3 });
stream.on('test:fail', (data) => {
  // (a failing test marked todo does not fail the run, as with node --test)
  if (data.todo === undefined || data.todo === false) process.exitCode = 1;
});
stream.compose(tap).pipe(process.stdout);
