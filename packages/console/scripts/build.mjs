// Builds the console into dist/ with esbuild (see docs/decisions/0008-console-preact-esbuild.md):
// one HTML page, one hashed script and one hashed style sheet under assets/ (the broker caches
// those for a year), no inline script or style (the page's CSP forbids both), base /console/.
// Then compress.mjs writes .gz and .br beside each file.
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/main.tsx'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  outdir: 'dist/assets',
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

const outputs = Object.keys(result.metafile.outputs).map((p) => path.relative(path.join(root, 'dist'), path.join(root, p)));
const js = outputs.find((p) => p.endsWith('.js'));
const css = outputs.find((p) => p.endsWith('.css'));
const html = fs
  .readFileSync(path.join(root, 'index.html'), 'utf8')
  .replace('<!-- styles -->', css === undefined ? '' : `<link rel="stylesheet" href="/console/${css}" />`)
  .replace('<!-- script -->', `<script type="module" src="/console/${js}"></script>`);
fs.writeFileSync(path.join(dist, 'index.html'), html);
