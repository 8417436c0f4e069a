// Writes a .gz and a .br beside every built file, once at build time, so that the broker serves
// compressed bytes without compressing on any request or at every start.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const dist = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../dist');
const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
for (const file of walk(dist)) {
  if (file.endsWith('.gz') || file.endsWith('.br')) continue;
  const body = fs.readFileSync(file);
  fs.writeFileSync(file + '.gz', zlib.gzipSync(body, { level: 9 }));
  fs.writeFileSync(file + '.br', zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length } }));
}
