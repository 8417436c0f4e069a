// Builds dist/webka.browser.js: the SDK and @webka/protocol in one ES module, for a page that
// loads it without a bundler: <script type="module"> import { Webka } from './webka.browser.js'.
// Run by the root build after tsc has compiled dist/.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [path.join(root, 'dist/index.js')],
  outfile: path.join(root, 'dist/webka.browser.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
