/**
 * The packages as users get them: `npm pack` each publishable package (protocol, client, console,
 * the `webka` broker and CLI), install the tarballs into an empty directory with nothing of the
 * repository around it, then run the installed `npx webka start`, an ESM app importing
 * `@webka/client` that creates a topic, produces a record and reads it back, and
 * `npx webka topics list`. Dependencies come from the npm registry (or npm's cache, preferred).
 * Needs the build (`npm test` builds first).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runCommand, stopGroup, waitForReady, type CliBroker } from '../support/cli-broker.js';

const run = promisify(execFile);
const PACKAGES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PUBLISHED = ['protocol', 'client', 'console', 'server'];

let dir: string;
let app: string;
let env: NodeJS.ProcessEnv;
let broker: CliBroker | undefined;
const manifests = new Map<string, any>();

/** The installed package's manifest, as npm unpacked it from the tarball. */
function installed(name: string): any {
  return JSON.parse(fs.readFileSync(path.join(app, 'node_modules', name, 'package.json'), 'utf8'));
}

describe('npm pack, install into an empty directory, run', () => {
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-pack-'));
    app = path.join(dir, 'app');
    fs.mkdirSync(path.join(dir, 'home'));
    fs.mkdirSync(app);
    // a fresh HOME (no webka contexts), npm's own cache kept so installs need little network
    const cache = (await run('npm', ['config', 'get', 'cache'])).stdout.trim();
    env = { PATH: process.env.PATH, HOME: path.join(dir, 'home'), npm_config_cache: cache, npm_config_update_notifier: 'false', WEBKA_KAFKA_PORT: '0' };
    const tarballs: string[] = [];
    for (const pkg of PUBLISHED) {
      const cwd = path.join(PACKAGES, pkg);
      assert.ok(fs.existsSync(path.join(cwd, 'dist')), `${cwd}/dist is missing: run npm run build`);
      const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd, env });
      const [packed] = JSON.parse(stdout) as Array<{ name: string; filename: string; files: Array<{ path: string }> }>;
      manifests.set(packed.name, packed);
      tarballs.push(path.join(dir, packed.filename));
    }
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'packed-app', private: true, type: 'module' }));
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], { cwd: app, env, maxBuffer: 16 << 20 });
  });

  after(async () => {
    // npx can exit before the broker under it has stopped writing to its data directory
    if (broker !== undefined) await stopGroup(broker);
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  it('packs only what users need: built code, no sources or tests', () => {
    for (const [name, packed] of manifests) {
      const tops = new Set(packed.files.map((f: { path: string }) => f.path.split('/')[0]));
      assert.ok(tops.has('dist'), `${name} packs dist/`);
      for (const top of ['src', 'test', 'tsconfig.json', 'tsconfig.tsbuildinfo', 'scripts']) assert.ok(!tops.has(top), `${name} must not pack ${top}`);
    }
    assert.ok(manifests.get('webka').files.some((f: { path: string }) => f.path === 'bin/webka.js'), 'webka packs bin/webka.js');
  });

  it('each installed manifest has files, exports, engines, types and license, and every target exists', () => {
    for (const name of ['@webka/protocol', '@webka/client', 'webka']) {
      const m = installed(name);
      assert.equal(m.license, 'Apache-2.0', `${name} license`);
      assert.equal(m.type, 'module', `${name} is ESM`);
      assert.equal(m.engines?.node, '>=20', `${name} engines.node`);
      assert.ok(Array.isArray(m.files) && m.files.includes('dist'), `${name} files lists dist`);
      assert.ok(fs.existsSync(path.join(app, 'node_modules', name, m.types)), `${name} types ${m.types} exists`);
      for (const [sub, target] of Object.entries<{ types: string; default: string }>(m.exports)) {
        for (const file of [target.types, target.default]) assert.ok(fs.existsSync(path.join(app, 'node_modules', name, file)), `${name} exports ${sub} -> ${file} exists`);
      }
    }
    const server = installed('webka');
    assert.deepEqual(server.bin, { webka: 'bin/webka.js' });
    assert.ok(fs.readFileSync(path.join(app, 'node_modules/webka/bin/webka.js'), 'utf8').startsWith('#!/usr/bin/env node'));
    const consolePkg = installed('@webka/console');
    assert.equal(consolePkg.private, undefined, '@webka/console is publishable');
    assert.equal(consolePkg.dependencies, undefined, 'the console is prebuilt: it installs nothing');
    assert.ok(fs.existsSync(path.join(app, 'node_modules/@webka/console/dist/index.html')));
  });

  it('npx webka start, an app importing @webka/client produces and reads back, npx webka topics list', async () => {
    broker = await waitForReady(runCommand('npx', ['webka', 'start', '--host', '127.0.0.1', '--port', '0', '--data-dir', 'data'], env, app, true), 60_000);
    assert.ok(fs.existsSync(path.join(app, 'data')), 'the data directory is where --data-dir said');

    fs.writeFileSync(
      path.join(app, 'app.mjs'),
      `import { Webka } from '@webka/client';
import { startServer } from 'webka';
import { Webka as ReExported } from 'webka/client';
if (typeof startServer !== 'function' || ReExported !== Webka) throw new Error('webka and webka/client do not export what they should');
const webka = new Webka({ url: process.argv[2] });
await webka.admin().createTopic({ name: 'packed', partitions: 1 });
const producer = webka.producer();
const { partition, offset } = await producer.send('packed', { key: 'k1', value: 'hello from a packed client' });
await producer.close();
const page = await webka.fetchRecords('packed', partition, { offset });
console.log(JSON.stringify({ partition, offset, key: page.records[0]?.key, value: page.records[0]?.value }));
`,
    );
    const { stdout } = await run(process.execPath, ['app.mjs', broker.url], { cwd: app, env });
    assert.deepEqual(JSON.parse(stdout), { partition: 0, offset: 0, key: 'k1', value: 'hello from a packed client' });

    const list = await run('npx', ['webka', '--url', broker.url, '--json', 'topics', 'list'], { cwd: app, env });
    const topics = JSON.parse(list.stdout);
    const names = (Array.isArray(topics) ? topics : topics.topics).map((t: { name: string }) => t.name);
    assert.ok(names.includes('packed'), `topics list shows the app's topic: ${list.stdout}`);

    const consolePage = await fetch(`${broker.url}/console/`);
    assert.equal(consolePage.status, 200, 'the installed broker serves the console from @webka/console');
    assert.match(await consolePage.text(), /<html/i);
  });
});
