/**
 * The web console (packages/console), served at /console on the HTTP port: the files its build
 * wrote to packages/console/dist (in the single executable: its embedded copy), read into memory once at start (the build is about 60 KB, with a
 * .br and a .gz beside each file, so nothing is compressed per request). Hashed assets are cached
 * for a year; the page itself is revalidated on every load (ETag), so a new build shows at once.
 * Every answer carries a strict Content-Security-Policy: scripts, styles and connections to the
 * broker's own origin only, no inline script or style, no framing. `GET /` redirects here (HOME_PAGE in ../docs-page.ts).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { embeddedAssets, type EmbeddedAssets } from '../../embedded-assets.js';
import { WebkaError } from '../../errors.js';

export const CONSOLE_PREFIX = '/console';

/** What the console's page may load and reach: its own origin, nothing inline, no frames. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

interface ConsoleFile {
  type: string;
  etag: string;
  immutable: boolean;
  bodies: { identity: Buffer; br?: Buffer; gzip?: Buffer };
}

/** Where the console's build is: the @webka/console package's dist/, else the sibling package's. */
export function consoleDistDir(): string {
  try {
    return path.join(path.dirname(createRequire(import.meta.url).resolve('@webka/console/package.json')), 'dist');
  } catch {
    return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../console/dist');
  }
}

/** Where the console's files come from: a directory, or the single executable's embedded assets. */
interface FileSource {
  /** Every file, relative to the console's root, '/'-separated. */
  list(): string[];
  read(rel: string): Buffer | undefined;
  /** Where the page would be, for the message when it is missing. */
  describe(): string;
}

function dirSource(dir: string): FileSource {
  const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  return {
    list: () => (fs.existsSync(dir) ? walk(dir).map((f) => path.relative(dir, f).split(path.sep).join('/')) : []),
    read: (rel) => {
      const file = path.join(dir, ...rel.split('/'));
      return fs.existsSync(file) ? fs.readFileSync(file) : undefined;
    },
    describe: () => path.join(dir, 'index.html'),
  };
}

/** The console's build as the single executable embeds it (scripts/build-sea.ts), under `console/`. */
function embeddedSource(assets: EmbeddedAssets): FileSource {
  const prefix = 'console/';
  return {
    list: () => assets.keys().filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)),
    read: (rel) => assets.get(prefix + rel),
    describe: () => 'the executable\'s embedded console/index.html',
  };
}

/** Every built file by its URL path under /console/ ('' is the page); empty when not built. */
function loadFiles(source: FileSource): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  const all = source.list();
  if (!all.includes('index.html')) return files;
  for (const rel of all) {
    const type = TYPES[path.extname(rel)];
    if (type === undefined) continue;
    const identity = source.read(rel)!;
    files.set(rel === 'index.html' ? '' : rel, {
      type,
      etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}"`,
      immutable: rel.startsWith('assets/'),
      bodies: { identity, br: source.read(rel + '.br'), gzip: source.read(rel + '.gz') },
    });
  }
  return files;
}

/** br, then gzip, then none: what the client accepts (q=0 refuses) and the build has. */
function pickEncoding(accept: string | undefined, f: ConsoleFile): 'br' | 'gzip' | undefined {
  if (accept === undefined) return undefined;
  const accepted = new Set(
    accept
      .split(',')
      .map((part) => part.trim().split(';'))
      .filter(([, ...params]) => !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p)))
      .map(([name]) => name.trim().toLowerCase()),
  );
  if (f.bodies.br !== undefined && accepted.has('br')) return 'br';
  if (f.bodies.gzip !== undefined && accepted.has('gzip')) return 'gzip';
  return undefined;
}

export async function consoleRoutes(app: FastifyInstance, opts: { dir?: string }): Promise<void> {
  // the executable's embedded build, unless a directory is given; else the package's dist/
  const embedded = embeddedAssets();
  const source = opts.dir === undefined && embedded !== null ? embeddedSource(embedded) : dirSource(opts.dir ?? consoleDistDir());
  const files = loadFiles(source);

  const send = (request: FastifyRequest, reply: FastifyReply, rel: string) => {
    const f = files.get(rel);
    if (f === undefined) {
      if (files.size === 0) throw new WebkaError('NOT_FOUND', `the console is not built (no ${source.describe()}): run npm run build`);
      throw new WebkaError('NOT_FOUND', `no console file ${CONSOLE_PREFIX}/${rel}`);
    }
    reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('vary', 'accept-encoding')
      .header('etag', f.etag)
      .header('cache-control', f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .type(f.type);
    if (request.headers['if-none-match'] === f.etag) return reply.code(304).send();
    const encoding = pickEncoding(request.headers['accept-encoding'], f);
    if (encoding !== undefined) reply.header('content-encoding', encoding);
    return reply.send(encoding === undefined ? f.bodies.identity : f.bodies[encoding]);
  };

  const hide = { schema: { hide: true } };
  // The page at /console and /console/ alike (its assets are named by absolute paths).
  app.get(CONSOLE_PREFIX, hide, async (request, reply) => send(request, reply, ''));
  app.get(`${CONSOLE_PREFIX}/`, hide, async (request, reply) => send(request, reply, ''));
  app.get(`${CONSOLE_PREFIX}/*`, hide, async (request, reply) => send(request, reply, (request.params as { '*': string })['*']));
}
