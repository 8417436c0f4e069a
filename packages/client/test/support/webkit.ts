/**
 * WebKit, Safari's engine, for the browser tests that run in it too: Debian's WebKitGTK (its
 * MiniBrowser, from libwebkit2gtk-4.1-0) driven over W3C WebDriver by WebKitWebDriver (package
 * webkit2gtk-driver), the driver WebKit itself ships, in a private Xvfb display (package xvfb).
 * The test command installs the packages itself (as root, apt-get, like kcat and firefox-esr).
 * playwright-core drives only its own patched WebKit, downloaded from outside the npm registry,
 * so these tests speak WebDriver through selenium-webdriver instead. It is held at 4.46, the last
 * release that runs on Node 20.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Builder, type WebDriver } from 'selenium-webdriver';
import { needDebianPackages } from '../../../server/test/support/debian-packages.js';
import { freePort } from '../../../server/test/support/etcd.js';

/** MiniBrowser's place under the multiarch library directory, e.g. /usr/lib/x86_64-linux-gnu. */
const MINIBROWSER = 'webkit2gtk-4.1/MiniBrowser';

function miniBrowser(): string | undefined {
  const lib = '/usr/lib';
  if (!fs.existsSync(lib)) return undefined;
  for (const dir of fs.readdirSync(lib)) {
    const candidate = path.join(lib, dir, MINIBROWSER);
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

let checked: { why: string | null } | undefined;

/** Why no WebKit can be had here, for a test to skip with; undefined when one can (installing it on first use). */
export function webkitUnavailable(): string | undefined {
  checked ??= {
    why: needDebianPackages({
      packages: ['webkit2gtk-driver', 'xvfb'],
      check: `command -v WebKitWebDriver && command -v Xvfb && ls /usr/lib/*/${MINIBROWSER}`,
    }),
  };
  return checked.why ?? undefined;
}

export interface LaunchedWebKit {
  readonly driver: WebDriver;
  /** WebKitGTK's version, as the driver reports it. */
  readonly version: string;
  close(): Promise<void>;
}

/** Starts Xvfb on a display it picks itself (-displayfd) and resolves with that display's name. */
function startXvfb(): Promise<{ display: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let said = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdio[3]!.on('data', (d: Buffer) => {
      said += d.toString();
      if (said.includes('\n')) resolve({ display: `:${said.trim()}`, child });
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`Xvfb exited (${code}) before it named its display: ${stderr.trim().split('\n').slice(-2).join(' | ')}`)));
  });
}

async function driverReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const r = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`WebKitWebDriver did not answer at ${url} (exit ${child.exitCode})`);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Starts WebKitGTK's MiniBrowser under WebDriver in a private display, with one window. */
export async function launchWebKit(): Promise<LaunchedWebKit> {
  const why = webkitUnavailable();
  if (why !== undefined) throw new Error(why);
  const binary = miniBrowser();
  if (binary === undefined) throw new Error(`no /usr/lib/*/${MINIBROWSER}`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-webkit-'));
  const children: ChildProcess[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of children.reverse()) await stop(c);
    fs.rmSync(home, { recursive: true, force: true });
  };
  try {
    const xvfb = await startXvfb();
    children.push(xvfb.child);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const driverProcess = spawn('WebKitWebDriver', [`--port=${port}`], {
      stdio: 'ignore',
      // a home of its own: the browser's caches and settings stay out of the user's
      env: { ...process.env, DISPLAY: xvfb.display, HOME: home, XDG_CACHE_HOME: path.join(home, 'cache'), XDG_DATA_HOME: path.join(home, 'data') },
    });
    children.push(driverProcess);
    await driverReady(url, driverProcess);
    const driver = await new Builder()
      .usingServer(url)
      .withCapabilities({ browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary, args: ['--automation'] } })
      .build();
    await driver.manage().window().setRect({ width: 1280, height: 900 });
    const version = (await driver.getCapabilities()).getBrowserVersion() ?? 'unknown';
    return {
      driver,
      version,
      async close() {
        await driver.quit().catch(() => {});
        await cleanup();
      },
    };
  } catch (e) {
    await cleanup();
    throw new Error(`WebKit did not start: ${(e as Error).message}`);
  }
}
