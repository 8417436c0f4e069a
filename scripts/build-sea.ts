/**
 * Builds `webka` as one executable file (Node's single-executable applications): the broker and
 * CLI bundled by esbuild into one CommonJS script (what Node 20's single executables run), the
 * console's build and Swagger UI's files embedded as assets (node:sea getAsset), injected into a
 * copy of the Node binary running this script with postject.
 *
 *   npm run build && npm run build:sea                 -> build/sea/webka
 *   node --import tsx scripts/build-sea.ts --out DIR   -> DIR/webka
 *
 * Not embedded: the native addons @node-rs/crc32 and lz4-napi (the executable uses the broker's
 * own CRC-32C tables and refuses lz4-compressed Kafka batches). See docs/deploy.md.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
/** The sentinel Node's binary carries for the blob (the same on every Node with SEA support). */
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function fail(message: string): never {
  process.stderr.write(`build-sea: ${message}\n`);
  process.exit(1);
}

/** Every file under dir, relative to it, '/'-separated, skipping source maps. */
function files(dir: string): string[] {
  const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  return walk(dir)
    .filter((f) => !f.endsWith('.map'))
    .map((f) => path.relative(dir, f).split(path.sep).join('/'));
}

export async function buildSea(outDir: string): Promise<string> {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 12)) fail(`Node ${process.versions.node} cannot embed assets in a single executable: use Node 20.12 or newer`);
  if (!['linux', 'darwin', 'win32'].includes(process.platform)) fail(`single executables are not built on ${process.platform}`);
  if (!fs.readFileSync(process.execPath).includes(FUSE)) fail(`${process.execPath} has no single-executable fuse (a Node built without it, e.g. some distributions' packages): use a Node from nodejs.org`);

  const consoleDist = path.join(root, 'packages/console/dist');
  if (!fs.existsSync(path.join(consoleDist, 'index.html'))) fail(`${consoleDist}/index.html is missing: run npm run build first`);
  const swaggerStatic = path.join(path.dirname(require.resolve('@fastify/swagger-ui/package.json', { paths: [path.join(root, 'packages/server')] })), 'static');

  fs.mkdirSync(outDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(outDir, '.sea-'));
  try {
    // 1. one CommonJS script
    const script = path.join(work, 'webka.cjs');
    await esbuild.build({
      entryPoints: [path.join(root, 'packages/server/src/sea/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: `node${major}`,
      outfile: script,
      logLevel: 'warning',
      // import.meta.url is empty in CommonJS: the executable's own path stands in (createRequire
      // then finds nothing beside it, so native addons fall back as when they are not installed)
      define: { 'import.meta.url': '__webkaImportMetaUrl' },
      banner: { js: 'var __webkaImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
      plugins: [
        {
          // optional modules the dependencies try in a try/catch (ws's native helpers, debug's
          // colours): bundled as modules that are not found, as when they are not installed
          // (left as require() calls, the executable would warn that it loads only built-ins)
          name: 'optional-absent',
          setup(build) {
            build.onResolve({ filter: /^(bufferutil|utf-8-validate|supports-color)$/ }, (args) => ({ path: args.path, namespace: 'absent' }));
            build.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
              contents: `throw Object.assign(new Error("${args.path} is not in the single executable"), { code: "MODULE_NOT_FOUND" });`,
              loader: 'js',
            }));
          },
        },
        {
          // Swagger UI serves its files with @fastify/static from its package directory: here
          // from the embedded assets instead
          name: 'swagger-ui-embedded-static',
          setup(build) {
            build.onResolve({ filter: /^@fastify\/static$/ }, (args) =>
              args.importer.includes(`${path.sep}@fastify${path.sep}swagger-ui${path.sep}`) ? { path: path.join(root, 'packages/server/src/http/embedded-static.ts') } : undefined,
            );
          },
        },
      ],
    });

    // 2. the blob: the script and the assets
    const assets: Record<string, string> = {};
    for (const f of files(consoleDist)) assets[`console/${f}`] = path.join(consoleDist, f);
    for (const f of files(swaggerStatic)) assets[`swagger-ui/${f}`] = path.join(swaggerStatic, f);
    const manifest = path.join(work, 'manifest.json');
    fs.writeFileSync(manifest, JSON.stringify(Object.keys(assets)));
    assets['manifest.json'] = manifest;
    const blob = path.join(work, 'sea-prep.blob');
    const config = path.join(work, 'sea-config.json');
    fs.writeFileSync(config, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false, assets }, null, 2));
    execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'inherit' });

    // 3. a copy of this Node with the blob injected
    const exe = path.join(outDir, process.platform === 'win32' ? 'webka.exe' : 'webka');
    fs.rmSync(exe, { force: true });
    fs.copyFileSync(process.execPath, exe);
    fs.chmodSync(exe, 0o755);
    if (process.platform === 'darwin') execFileSync('codesign', ['--remove-signature', exe]);
    const { inject } = require('postject') as { inject(file: string, name: string, data: Buffer, opts: { sentinelFuse: string; machoSegmentName?: string }): Promise<void> };
    await inject(exe, 'NODE_SEA_BLOB', fs.readFileSync(blob), { sentinelFuse: FUSE, machoSegmentName: process.platform === 'darwin' ? 'NODE_SEA' : undefined });
    if (process.platform === 'darwin') execFileSync('codesign', ['--sign', '-', exe]);
    return exe;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const out = i > 0 ? path.resolve(process.argv[i + 1] ?? fail('--out needs a directory')) : path.join(root, 'build/sea');
  const exe = await buildSea(out);
  process.stdout.write(`built ${exe} (${(fs.statSync(exe).size / 1e6).toFixed(0)} MB)\n`);
}
