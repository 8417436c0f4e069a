/**
 * The entry of the single executable (scripts/build-sea.ts bundles this file and everything it
 * imports into one CommonJS script, which Node's single-executable support runs). It hands the
 * embedded files to the broker (console, Swagger UI), then runs the `webka` command as
 * bin/webka.js would.
 */
import sea from 'node:sea';
import { setEmbeddedAssets } from '../embedded-assets.js';

/** The asset build-sea.ts writes: the list of every other asset's key. */
export const MANIFEST_KEY = 'manifest.json';

const keys = JSON.parse(sea.getAsset(MANIFEST_KEY, 'utf8')) as string[];
const known = new Set(keys);
setEmbeddedAssets({
  keys: () => keys,
  get: (key) => (known.has(key) ? Buffer.from(sea.getAsset(key)) : undefined),
});

// after the assets are set: the CLI's modules run when this import does
void import('../cli/main.js');
