/**
 * The console as a user meets it: headless Chromium opens /console on a broker with
 * authentication on, signs in with an API key, and sees the topics that key may see; a reload
 * stays signed in (the browser token in sessionStorage), and the page runs under the broker's
 * strict Content-Security-Policy with no violation. Where no Chromium can be had, the tests skip
 * and print why.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { consoleTestsUnavailable, openConsole, topicNames, type ConsoleUnderTest } from './support.js';

const TOPICS = '#/c/default/topics';

const unavailable = consoleTestsUnavailable('console browser tests');
let c: ConsoleUnderTest;

before(async () => {
  if (unavailable !== undefined) return;
  c = await openConsole();
  await c.cast.call('POST', '/v1/clusters/default/topics', { key: c.cast.admin, body: { name: 'hidden', partitions: 3 } });
});

after(() => c?.close());

describe('the console in Chromium', { skip: unavailable }, () => {
  test('GET / leads to the console, which asks for an API key when auth is on', async () => {
    const res = await c.page.goto(c.cast.url);
    assert.equal(new URL(c.page.url()).pathname, '/console');
    assert.ok(res?.headers()['content-security-policy']?.includes("script-src 'self'"));
    await c.page.getByLabel('API key').waitFor();
  });

  test('signing in with a key lists the topics that key may see, and a reload stays signed in', async () => {
    const { page, cast } = c;
    await c.signIn(cast.alice, TOPICS);
    assert.equal(await page.getByTestId('principal').textContent(), 'alice');
    await page.getByRole('link', { name: 'scores' }).waitFor();
    assert.deepEqual(await topicNames(page), ['scores']);
    // the key is exchanged for a token: only the token is kept, in this tab's sessionStorage
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
    assert.ok(!stored.includes(cast.alice), 'the API key is not stored');
    await page.reload();
    await page.getByRole('link', { name: 'scores' }).waitFor();
    assert.equal(await page.getByTestId('principal').textContent(), 'alice');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await c.signIn(cast.admin, TOPICS);
    await page.getByRole('link', { name: 'hidden' }).waitFor();
    const names = await topicNames(page);
    assert.ok(names.includes('hidden') && names.includes('scores'), names.join(','));
  });

  test('the overview shows the broker and totals over what the principal may see', async () => {
    const { page, cast } = c;
    await page.goto(`${cast.url}/console#/`);
    await page.getByRole('link', { name: 'Overview' }).click();
    const brokers = page.getByRole('table', { name: 'Brokers' });
    await brokers.waitFor();
    assert.deepEqual((await brokers.locator('tbody tr td').allTextContents()).slice(2), ['controller', 'alive']);
    // the admin sees scores and hidden at least (and internal topics)
    assert.ok(Number((await page.getByTestId('stat-topics').textContent())!.replace(/,/g, '')) >= 2);
    assert.equal(await page.getByTestId('stat-offline-partitions').textContent(), '0');
  });

  test('Durable Streams lists the streams with their content type and tail offset', async () => {
    const { page, cast } = c;
    const put = await fetch(`${cast.url}/v1/stream/chat/room-1`, { method: 'PUT', headers: { authorization: `Bearer ${cast.admin}`, 'content-type': 'text/plain' } });
    assert.equal(put.status, 201);
    await page.getByRole('link', { name: 'Durable Streams' }).click();
    const row = page.getByRole('table', { name: 'Streams' }).getByRole('row', { name: /chat\/room-1/ });
    await row.waitFor();
    assert.match((await row.textContent())!, /text\/plain.*open/);
  });

  test('a wrong key is refused with the broker\'s message, and nothing broke the page\'s CSP', async () => {
    const { page } = c;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').fill('wk_not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'UNAUTHENTICATED' }).waitFor();
    assert.deepEqual(c.problems, []);
  });
});
