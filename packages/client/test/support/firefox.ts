/**
 * Headless Firefox for the browser tests that run in Firefox too: Debian's firefox-esr, installed
 * by the test command itself (as root, apt-get, like kcat), or FIREFOX_PATH. playwright-core
 * drives it over WebDriver BiDi (its `moz-firefox` channel), the protocol stock Firefox speaks,
 * so no patched browser is downloaded. playwright-core is held at 1.64: 1.65 sends a BiDi command
 * (emulation.setMediaFeaturesOverride) that Firefox ESR 153 does not know, and every page fails.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { firefox, type Page } from 'playwright-core';
import { needDebianPackages } from '../../../server/test/support/debian-packages.js';

const DEBIAN_FIREFOX = '/usr/bin/firefox-esr';

export interface LaunchedFirefox {
  readonly page: Page;
  close(): Promise<void>;
}

/** needDebianPackages' answer, asked once per process (null: Firefox is here). */
let checked: { why: string | null } | undefined;

/** Why no Firefox can be had here, for a test to skip with; undefined when one can (installing it on first use). */
export function firefoxUnavailable(): string | undefined {
  if (process.env.FIREFOX_PATH) return fs.existsSync(process.env.FIREFOX_PATH) ? undefined : `FIREFOX_PATH=${process.env.FIREFOX_PATH} does not exist`;
  checked ??= { why: needDebianPackages({ packages: ['firefox-esr'], check: `test -x ${DEBIAN_FIREFOX}` }) };
  return checked.why ?? undefined;
}

/** Starts headless Firefox with a fresh profile and one page. */
export async function launchFirefox(): Promise<LaunchedFirefox> {
  const why = firefoxUnavailable();
  if (why !== undefined) throw new Error(why);
  const executablePath = process.env.FIREFOX_PATH || DEBIAN_FIREFOX;
  // Firefox refuses to start as root with a HOME that another user owns: a home of its own
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'webka-firefox-'));
  try {
    const browser = await firefox.launch({ channel: 'moz-firefox', executablePath, headless: true, env: { ...process.env, HOME: home } });
    const page = await browser.newPage();
    return {
      page,
      async close() {
        await browser.close();
        fs.rmSync(home, { recursive: true, force: true });
      },
    };
  } catch (e) {
    fs.rmSync(home, { recursive: true, force: true });
    throw new Error(`Firefox (${executablePath}) did not start: ${(e as Error).message}`);
  }
}
