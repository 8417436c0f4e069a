/**
 * The single executable (scripts/build-sea.ts): built from the repository, copied alone into an
 * empty directory with no Node project around it (no node_modules, no package.json, not even
 * `node` on PATH), then `./webka start`: a topic is created, a record produced and fetched over
 * HTTP, `./webka topics list` (the CLI of the same file) lists it, and the console and the docs
 * page load with their files, which come from the executable's embedded assets. Needs
 * `npm run build` (the console's build is embedded). Skipped, with the reason, only where Node
 * cannot build a single executable.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runCommand, waitForReady, type CliBroker } from '../support/cli-broker.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** Why this platform cannot build one, or null when it can. */
function cannotBuild(): string | null {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 12)) return `Node ${process.versions.node} has no single-executable assets (20.12+)`;
  if (process.platform !== 'linux' && process.platform !== 'darwin') return `single executables are tested on Linux and macOS, not ${process.platform}`;
  if (!fs.readFileSync(process.execPath).includes(FUSE)) return `${process.execPath} was built without the single-executable fuse`;
  return null;
}

const skip = cannotBuild();
if (skip !== null) process.stdout.write(`# skipping the single executable: ${skip}\n`);

describe('the single executable, alone in an empty directory', { skip: skip ?? false }, () => {
  let dir: string;
  let alone: string;
  let env: NodeJS.ProcessEnv;
  let broker: CliBroker | undefined;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-sea-'));
    const build = path.join(dir, 'build');
    await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/build-sea.ts'), '--out', build], { cwd: ROOT, maxBuffer: 16 << 20 });
    alone = path.join(dir, 'alone');
    fs.mkdirSync(alone);
    fs.copyFileSync(path.join(build, 'webka'), path.join(alone, 'webka'));
    fs.chmodSync(path.join(alone, 'webka'), 0o755);
    fs.rmSync(build, { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'home'));
    // nothing of Node or the repository: no PATH to a node, a fresh HOME
    env = { PATH: path.join(dir, 'no-bin'), HOME: path.join(dir, 'home') };
  });

  after(async () => {
    if (broker !== undefined && broker.child.exitCode === null) {
      broker.child.kill('SIGTERM');
      await broker.exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('./webka --version answers without Node or node_modules around it', async () => {
    assert.deepEqual(fs.readdirSync(alone), ['webka']);
    const { stdout } = await run('./webka', ['--version'], { cwd: alone, env });
    assert.match(stdout.trim(), /^\d+\.\d+\.\d+$/);
  });

  it('./webka start serves produce and fetch, the CLI, the console and the docs page', async () => {
    broker = await waitForReady(runCommand('./webka', ['start', '--host', '127.0.0.1', '--port', '0', '--kafka-port', '0', '--data-dir', 'data'], env, alone), 60_000);
    assert.ok(fs.existsSync(path.join(alone, 'data')), 'the data directory is where --data-dir said');
    const url = broker.url;
    const json = async (method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> => {
      const r = await fetch(url + p, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: r.status, body: await r.json() };
    };

    assert.equal((await json('POST', '/v1/clusters/default/topics', { name: 'alone', partitions: 1 })).status, 201);
    const produced = await json('POST', '/v1/clusters/default/topics/alone/records', { records: [{ key: 'k', value: 'from one file' }] });
    assert.equal(produced.status, 200, JSON.stringify(produced.body));
    assert.equal(produced.body.records[0].offset, 0);
    const fetched = await json('GET', '/v1/clusters/default/topics/alone/partitions/0/records?offset=0');
    assert.equal(fetched.status, 200);
    assert.deepEqual(fetched.body.records.map((r: { key: string; value: unknown }) => [r.key, r.value]), [['k', 'from one file']]);

    const list = await run('./webka', ['--url', url, '--json', 'topics', 'list'], { cwd: alone, env });
    const topics = JSON.parse(list.stdout);
    assert.ok((Array.isArray(topics) ? topics : topics.topics).some((t: { name: string }) => t.name === 'alone'), list.stdout);

    // the console: its page and every asset it names, compressed as built
    const page = await fetch(`${url}/console/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<html/i);
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]);
    assert.ok(assets.length >= 2, `the page names its script and style: ${html}`);
    for (const a of assets) {
      const r = await fetch(url + a, { headers: { 'accept-encoding': 'br' } });
      assert.equal(r.status, 200, a);
      assert.ok((await r.arrayBuffer()).byteLength > 0, a);
    }

    // the docs page: the HTML, Swagger UI's script and style, the initializer, the spec
    const docs = await fetch(`${url}/docs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /<title>Webka API<\/title>/);
    for (const [file, type] of [['swagger-ui-bundle.js', /javascript/], ['swagger-ui.css', /css/], ['swagger-initializer.js', /javascript/], ['index.css', /css/]] as const) {
      const r = await fetch(`${url}/docs/static/${file}`);
      assert.equal(r.status, 200, file);
      assert.match(r.headers.get('content-type') ?? '', type, file);
      assert.ok((await r.text()).length > 100, file);
    }
    assert.equal((await fetch(`${url}/docs/static/no-such-file.js`)).status, 404);
    const spec = await json('GET', '/openapi.json');
    assert.equal(spec.body.info.title, 'Webka');
    // every module it loads is inside it: Node warns when the bundle asks for one from disk
    assert.doesNotMatch(broker.stderr(), /only supports loading built-in modules/);
  });
});
