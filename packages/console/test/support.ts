/**
 * What every console browser test starts from: a real broker with auth on (the security tests'
 * cast: an admin key, alice with read/write on topic "scores" only, bob with no ACL), headless
 * Chromium (the client tests' launcher), and a sign-in as a user would do it. `problems` collects
 * the page's uncaught errors and console errors (a CSP violation is one) for a test to assert
 * none; Chromium's "Failed to load resource" lines for HTTP error answers (a 401 before sign-in, a
 * refused create) are the API at work and are left out.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { Webka } from '@webka/client';
import { startSecureBroker, type Cast } from '../../server/test/security/secure-broker.js';
import { chromiumUnavailable, launchChromium } from '../../client/test/support/chromium.js';
import { firefoxUnavailable, launchFirefox } from '../../client/test/support/firefox.js';

/**
 * The browser the console tests drive: Chromium, or Firefox when WEBKA_TEST_BROWSER=firefox
 * (firefox.browser.test.ts runs every console test file so, in a process of its own).
 */
export const BROWSER = process.env.WEBKA_TEST_BROWSER === 'firefox' ? 'firefox' : 'chromium';

/**
 * The hash of the <style> that playwright-core puts into the page for a screenshot: in Firefox
 * (WebDriver BiDi) the page's CSP blocks it and Firefox logs the violation, naming this hash
 * (a screenshot alone, on a page that logged nothing before, adds exactly this line). It is the
 * test tool's style, not the console's: the line is left out of `problems` in Firefox only.
 */
const PLAYWRIGHT_SCREENSHOT_STYLE = 'sha256-YjaKGiklmzC6wjXA513HAMmzus8VE61XCOT+SmwNZWA=';

/**
 * Sets a number input. playwright-core's fill() appends to a number input's value in Firefox
 * (BiDi) rather than replacing it ("1" then fill("3") gives 13): cleared first, it replaces.
 */
export async function setNumber(input: Locator, value: string): Promise<void> {
  await input.clear();
  await input.fill(value);
}

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
  const why = BROWSER === 'firefox' ? firefoxUnavailable() : chromiumUnavailable();
  if (why !== undefined) console.log(`# ${file} skipped: ${why}`);
  return why;
}

export async function openConsole(): Promise<ConsoleUnderTest> {
  const cast = await startSecureBroker();
  let browser: { page: Page; close(): Promise<void> };
  try {
    browser = BROWSER === 'firefox' ? await launchFirefox() : await launchChromium();
  } catch (e) {
    await cast.broker.close();
    throw e;
  }
  const page = browser.page;
  const problems: string[] = [];
  // (Firefox reports a CSP violation as a page error, Chromium as a console error)
  const report = (text: string): void => {
    if (BROWSER === 'firefox' && text.includes(PLAYWRIGHT_SCREENSHOT_STYLE)) return;
    problems.push(text);
  };
  page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded') && report(m.text()));
  page.on('pageerror', (e) => report(e.message));
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

/**
 * Where the browser tests save their screenshots: WEBKA_TEST_ARTIFACTS if set, else
 * test-results/console at the repository's root (git-ignored). Created on first use.
 */
export const ARTIFACTS_DIR = process.env.WEBKA_TEST_ARTIFACTS ?? path.resolve(fileURLToPath(new URL('../../../test-results/console', import.meta.url)));

/** Saves a full-page screenshot as `<name>.png` in ARTIFACTS_DIR; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core (WCAG 2 A/AA rules and best practices) over the page as it is now and returns
 * its serious and critical violations, each with the selectors of the elements at fault. axe is
 * evaluated through the DevTools protocol, which the page's Content-Security-Policy does not
 * govern, so the page is checked under its real CSP.
 */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
