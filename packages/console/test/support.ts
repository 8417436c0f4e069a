/**
 * What every console browser test starts from: a real broker with auth on (the security tests'
 * cast: an admin key, alice with read/write on topic "scores" only, bob with no ACL), headless
 * Chromium (the client tests' launcher), and a sign-in as a user would do it. `problems` collects
 * the page's uncaught errors and console errors (a CSP violation is one) for a test to assert
 * none; Chromium's "Failed to load resource" lines for HTTP error answers (a 401 before sign-in, a
 * refused create) are the API at work and are left out.
 */
import { before, after } from 'node:test';
import type { Page } from 'playwright-core';
import { Webka } from '@webka/client';
import { startSecureBroker, type Cast } from '../../server/test/security/secure-broker.js';
import { chromiumUnavailable, launchChromium, type LaunchedChromium } from '../../client/test/support/chromium.js';

export interface ConsoleUnderTest {
  cast: Cast;
  /** A client of the same broker with the admin key, for setting up what the page should show. */
  webka: Webka;
  page: Page;
  problems: string[];
  /** Opens /console (at `route`, a hash: the overview by default) and signs in with `key`; resolves once the shell shows the principal. */
  signIn(key: string, route?: string): Promise<void>;
  close(): Promise<void>;
}

/** Why these tests cannot run here (printed once per file), or undefined. */
export function consoleTestsUnavailable(file: string): string | undefined {
  const why = chromiumUnavailable();
  if (why !== undefined) console.log(`# ${file} skipped: ${why}`);
  return why;
}

export async function openConsole(): Promise<ConsoleUnderTest> {
  const cast = await startSecureBroker();
  let browser: LaunchedChromium;
  try {
    browser = await launchChromium();
  } catch (e) {
    await cast.broker.close();
    throw e;
  }
  const page = browser.page;
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded') && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
  return {
    cast,
    webka: new Webka({ url: cast.url, token: cast.admin }),
    page,
    problems,
    async signIn(key, route = '') {
      await page.goto(`${cast.url}/console${route}`);
      await page.getByLabel('API key').fill(key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('principal').waitFor();
    },
    async close() {
      await browser.close();
      await cast.broker.close();
    },
  };
}

/** The names in the Topics table, in the order shown. */
export const topicNames = (page: Page): Promise<string[]> => page.getByRole('table', { name: 'Topics' }).locator('tbody tr td:first-child').allTextContents();

/**
 * A test file's console: opened before its tests (then `setup`, then signed in as the admin), and
 * closed after; `unavailable` says why the file's tests skip, if they do.
 */
export function consoleForFile(what: string, setup: (c: ConsoleUnderTest) => Promise<void>): { unavailable: string | undefined; get(): ConsoleUnderTest } {
  const unavailable = consoleTestsUnavailable(what);
  let c: ConsoleUnderTest | undefined;
  before(async () => {
    if (unavailable !== undefined) return;
    c = await openConsole();
    await setup(c);
    await c.signIn(c.cast.admin);
  });
  after(() => c?.close());
  return { unavailable, get: () => c! };
}
