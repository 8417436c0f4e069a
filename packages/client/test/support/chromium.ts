/**
 * One headless Chromium for every browser test, found without installing anything by hand:
 * CHROMIUM_PATH if set, else a system Chromium (Debian's /usr/bin/chromium) when present, else
 * the Chromium that the `@sparticuz/chromium` dev dependency ships inside its npm tarball
 * (brotli-compressed; unpacked once into node_modules/.cache). playwright-core drives it over the
 * DevTools protocol. See docs/decisions/0006-chromium-from-npm.md.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress } from 'node:zlib';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const SYSTEM_CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
/** The platform whose Chromium @sparticuz/chromium ships. */
const NPM_PLATFORM = process.platform === 'linux' && process.arch === 'x64';

/** What headless Chromium needs on this machine (root, no GPU, no network beyond loopback). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ChromiumExecutable {
  readonly path: string;
  /** Where it came from, for messages: 'CHROMIUM_PATH', 'system' or '@sparticuz/chromium@<version>'. */
  readonly source: string;
  /** Environment the browser needs (the npm build's fonts). */
  readonly env: Record<string, string>;
}

export interface LaunchedChromium {
  readonly context: BrowserContext;
  /** The context's first page. */
  readonly page: Page;
  readonly executable: ChromiumExecutable;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

let found: Promise<ChromiumExecutable> | undefined;

/** Finds (and on first use unpacks) a Chromium; rejects saying why none could be had. */
export function chromiumExecutable(): Promise<ChromiumExecutable> {
  found ??= findChromium();
  return found;
}

/**
 * Why no Chromium can be had here (no system one, and a platform the npm package does not cover),
 * for a test to skip with; undefined when one can. A Chromium that exists but fails to unpack or
 * start is a test failure, not a skip.
 */
export function chromiumUnavailable(): string | undefined {
  if (process.env.CHROMIUM_PATH || systemChromium() !== undefined || NPM_PLATFORM) return undefined;
  return `no Chromium: none at ${SYSTEM_CHROMIUM.join(' or ')}, CHROMIUM_PATH is not set, and @sparticuz/chromium ships one for Linux x64 only (this is ${process.platform} ${process.arch})`;
}

/** Starts headless Chromium with a fresh profile (a persistent context, so the flags above apply). */
export async function launchChromium(): Promise<LaunchedChromium> {
  const executable = await chromiumExecutable();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: executable.path,
      headless: true,
      args: CHROMIUM_ARGS,
      env: { ...process.env, ...executable.env },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    return {
      context,
      page,
      executable,
      async close() {
        await context.close();
        fs.rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (e) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw new Error(`Chromium (${executable.source}, ${executable.path}) did not start: ${(e as Error).message}`);
  }
}

async function findChromium(): Promise<ChromiumExecutable> {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!fs.existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
    return { path: fromEnv, source: 'CHROMIUM_PATH', env: {} };
  }
  const system = systemChromium();
  if (system !== undefined) return { path: system, source: 'system', env: {} };
  const unavailable = chromiumUnavailable();
  if (unavailable !== undefined) throw new Error(unavailable);
  return unpackNpmChromium();
}

function systemChromium(): string | undefined {
  return SYSTEM_CHROMIUM.find((p) => fs.existsSync(p));
}

/**
 * Unpacks @sparticuz/chromium's browser and fonts into a directory named by its version. Several
 * test processes may start at once: each unpacks into its own temporary directory and renames it
 * into place, so a directory that exists is complete.
 */
async function unpackNpmChromium(): Promise<ChromiumExecutable> {
  const require = createRequire(import.meta.url);
  // The package's entry is <root>/build/cjs/index.cjs; its compressed files are in <root>/bin.
  const root = path.resolve(path.dirname(require.resolve('@sparticuz/chromium')), '..', '..');
  const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const source = `@sparticuz/chromium@${version}`;
  const dir = path.resolve(root, '..', '..', '.cache', `webka-chromium-${version}`);
  const result = { path: path.join(dir, 'chromium'), source, env: { FONTCONFIG_PATH: dir } };
  if (fs.existsSync(dir)) return result;

  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(tmp, { recursive: true });
  try {
    await pipeline(fs.createReadStream(path.join(root, 'bin', 'chromium.br')), createBrotliDecompress(), fs.createWriteStream(path.join(tmp, 'chromium'), { mode: 0o755 }));
    await untarBrotli(path.join(root, 'bin', 'fonts.tar.br'), tmp);
    // The package's own fonts.conf names /tmp/fonts; this one names where the fonts are here.
    fs.writeFileSync(
      path.join(tmp, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n  <dir>${dir}/fonts</dir>\n  <cachedir>${dir}/fonts-cache</cachedir>\n</fontconfig>\n`,
    );
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another process renamed its copy into place first: use that one.
    if (fs.existsSync(dir)) return result;
    throw new Error(`could not unpack ${source} into ${dir}: ${(e as Error).message}`);
  }
  return result;
}

/**
 * Extracts a brotli-compressed tar file into `into` (with the system's tar). The archive is
 * decompressed to a file first: tar stops reading at the end-of-archive blocks, so piping into its
 * stdin could fail with a premature close on the padding that follows.
 */
async function untarBrotli(file: string, into: string): Promise<void> {
  const tarFile = path.join(into, '.fonts.tar');
  await pipeline(fs.createReadStream(file), createBrotliDecompress(), fs.createWriteStream(tarFile));
  const tar = spawn('tar', ['-x', '--no-same-owner', '-f', tarFile, '-C', into], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}: ${stderr.trim()}`))));
  });
  fs.rmSync(tarFile);
}
