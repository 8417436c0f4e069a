/**
 * `npx webka` right after the README's `npm install`: npm links a package's command at install
 * time only if the file it names exists then, and in a fresh clone nothing is built yet. So the
 * command is a committed launcher (bin/webka.js) that runs the compiled CLI in dist/.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../support/start-broker.js';

const SERVER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(SERVER, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
const BIN = pkg.bin.webka;

function gitIndexEntry(file: string): string | undefined {
  try {
    return execFileSync('git', ['ls-files', '--stage', '--', file], { cwd: SERVER, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}
const gitMissing = gitIndexEntry('package.json') ? undefined : 'not a git checkout (the test reads what a fresh clone holds from the git index)';
if (gitMissing) console.log(`# skipped: ${gitMissing}`);

describe('the webka command after npm install', () => {
  test('names a file that a fresh clone holds before any build: committed, executable, a node script', { skip: gitMissing }, () => {
    const entry = gitIndexEntry(BIN);
    assert.ok(entry, `package.json's bin ${BIN} is not committed: npm install cannot link it in a fresh clone (it runs before the build)`);
    assert.match(entry, /^100755 /, `${BIN} must be committed executable`);
    assert.match(fs.readFileSync(path.join(SERVER, BIN), 'utf8'), /^#!\/usr\/bin\/env node\n/);
  });

  test('the lock file links the same file (npm install from the lock links what the lock says)', () => {
    const lock = JSON.parse(fs.readFileSync(path.join(SERVER, '../../package-lock.json'), 'utf8')) as { packages: Record<string, { bin?: Record<string, string> }> };
    assert.deepEqual(lock.packages['packages/server']?.bin, pkg.bin);
  });

  test('runs the built CLI', () => {
    const ran = spawnSync(path.join(SERVER, BIN), ['--version'], { encoding: 'utf8' });
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout.trim(), pkg.version);
  });

  test('says how to build when the CLI is not built', () => {
    const copy = tempDir('webka-bin-');
    fs.mkdirSync(path.join(copy, 'bin'));
    fs.copyFileSync(path.join(SERVER, BIN), path.join(copy, 'bin', 'webka.js'));
    const ran = spawnSync(process.execPath, [path.join(copy, 'bin', 'webka.js'), 'topics', 'list'], { encoding: 'utf8' });
    fs.rmSync(copy, { recursive: true, force: true });
    assert.equal(ran.status, 1);
    assert.match(ran.stderr, /not built yet .*dist\/cli\/main\.js is missing.*npm run build/);
  });
});
