/**
 * The console as a user meets it: headless Chromium (support/chromium.ts in the client's tests)
 * opens /console on a broker with authentication on, signs in with an API key, and sees the
 * topics that key may see; a reload stays signed in (the browser token in sessionStorage), and the
 * page runs under the broker's strict Content-Security-Policy with no violation. Where no Chromium
 * can be had, the tests skip and print why.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startSecureBroker, type Cast } from '../../server/test/security/secure-broker.js';
import { chromiumUnavailable, launchChromium, type LaunchedChromium } from '../../client/test/support/chromium.js';

let cast: Cast;
let browser: LaunchedChromium | undefined;
let page: Page;
const problems: string[] = [];

const unavailable = chromiumUnavailable();
if (unavailable !== undefined) console.log(`# console browser tests skipped: ${unavailable}`);

before(async () => {
  if (unavailable !== undefined) return;
  cast = await startSecureBroker();
  await cast.call('POST', '/v1/clusters/default/topics', { key: cast.admin, body: { name: 'hidden', partitions: 3 } });
  browser = await launchChromium();
  page = browser.page;
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
});

after(async () => {
  await browser?.close();
  await cast?.broker.close();
});

async function signIn(key: string): Promise<void> {
  await page.goto(`${cast.url}/console`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('principal').waitFor();
}

const topicNames = (): Promise<string[]> => page.getByRole('table', { name: 'Topics' }).locator('tbody tr td:first-child').allTextContents();

describe('the console in Chromium', { skip: unavailable }, () => {
  test('GET / leads to the console, which asks for an API key when auth is on', async () => {
    const res = await page.goto(cast.url);
    assert.equal(new URL(page.url()).pathname, '/console');
    assert.ok(res?.headers()['content-security-policy']?.includes("script-src 'self'"));
    await page.getByLabel('API key').waitFor();
  });

  test('signing in with a key lists the topics that key may see, and a reload stays signed in', async () => {
    await signIn(cast.alice);
    assert.equal(await page.getByTestId('principal').textContent(), 'alice');
    await page.getByRole('link', { name: 'scores' }).waitFor();
    assert.deepEqual(await topicNames(), ['scores']);
    // the key is exchanged for a token: only the token is kept, in this tab's sessionStorage
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
    assert.ok(!stored.includes(cast.alice), 'the API key is not stored');
    await page.reload();
    await page.getByRole('link', { name: 'scores' }).waitFor();
    assert.equal(await page.getByTestId('principal').textContent(), 'alice');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(cast.admin);
    await page.getByRole('link', { name: 'hidden' }).waitFor();
    const names = await topicNames();
    assert.ok(names.includes('hidden') && names.includes('scores'), names.join(','));
  });

  test('a wrong key is refused with the broker\'s message, and nothing broke the page\'s CSP', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').fill('wk_not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'UNAUTHENTICATED' }).waitFor();
    // The refused sign-in's 401 is logged by Chromium as a failed resource; nothing else may be.
    assert.deepEqual(problems.filter((p) => !/status of 401/.test(p)), []);
  });
});
