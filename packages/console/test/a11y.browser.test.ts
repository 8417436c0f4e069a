/**
 * Every page of the console, with data on it, checked by axe-core for accessibility (no serious
 * or critical violation) and saved as a screenshot (test artefacts: the directory is printed).
 * The sign-in page is checked before signing in; the others signed in as the admin.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { ARTIFACTS_DIR, consoleForFile, screenshot, seriousA11yViolations } from './support.js';

const { unavailable, get } = consoleForFile('accessibility browser tests', async ({ webka, cast, page }) => {
  await webka.admin().createTopic({ name: 'orders', partitions: 2 });
  await webka.producer().send('orders', [
    { partition: 0, key: 'o-1', value: { item: 'book', qty: 2 }, headers: { source: 'shop' } },
    { partition: 0, key: 'o-2', value: 'plain text' },
  ]);
  await webka.admin().commitGroupOffsets('billing', [{ topic: 'orders', partition: 0, offset: 1 }]);
  const put = await fetch(`${cast.url}/v1/stream/chat/room-1`, { method: 'PUT', headers: { authorization: `Bearer ${cast.admin}`, 'content-type': 'application/json' }, body: JSON.stringify([{ m: 'hi' }]) });
  assert.equal(put.status, 201);
  // the sign-in page, the only one seen signed out
  await page.goto(`${cast.url}/console`);
  await page.getByLabel('API key').waitFor();
  await check(page, 'sign-in');
});

/** Each page: its route, and what shows once its data is in. */
const PAGES: { name: string; route: string; ready(page: Page): Promise<void> }[] = [
  { name: 'overview', route: '#/', ready: (p) => p.getByRole('table', { name: 'Brokers' }).locator('tbody tr').first().waitFor() },
  { name: 'topics', route: '#/c/default/topics', ready: (p) => p.getByRole('link', { name: 'orders' }).waitFor() },
  { name: 'topic', route: '#/c/default/topics/orders', ready: (p) => p.getByRole('table', { name: 'Configs' }).waitFor() },
  {
    name: 'messages',
    route: '#/c/default/topics/orders/messages',
    async ready(p) {
      const browse = p.getByRole('form', { name: 'Browse records' });
      await browse.getByLabel('Partition').selectOption('0');
      await browse.getByRole('button', { name: 'Load' }).click();
      await p.getByRole('list', { name: 'Records' }).getByRole('button', { name: 'Record 0/0' }).click();
      await p.getByRole('region', { name: 'Record 0/0' }).waitFor();
    },
  },
  { name: 'groups', route: '#/c/default/groups', ready: (p) => p.getByRole('table', { name: 'Consumer groups' }).getByRole('link', { name: 'billing' }).waitFor() },
  { name: 'group', route: '#/c/default/groups/billing', ready: (p) => p.getByRole('table', { name: 'Offsets' }).locator('tbody tr').first().waitFor() },
  { name: 'streams', route: '#/streams', ready: (p) => p.getByRole('table', { name: 'Streams' }).getByRole('link', { name: 'chat/room-1' }).waitFor() },
  { name: 'stream', route: '#/streams/chat/room-1', ready: (p) => p.getByTestId('tail-offset').filter({ hasText: /_/ }).waitFor() },
  { name: 'security', route: '#/security', ready: (p) => p.getByRole('table', { name: 'Principals' }).getByRole('row', { name: /alice/ }).waitFor() },
];

const found = new Map<string, string[]>();

async function check(page: Page, name: string): Promise<void> {
  const file = await screenshot(page, name);
  const violations = await seriousA11yViolations(page);
  found.set(name, violations.map((v) => `${v.id} (${v.impact}: ${v.help}) at ${v.nodes.join(', ')}`));
  console.log(`# ${name}: screenshot ${file}`);
}

describe('accessibility and screenshots of every page', { skip: unavailable }, () => {
  test('the sign-in page has no serious accessibility violation', () => {
    assert.deepEqual(found.get('sign-in'), []);
  });

  for (const p of PAGES) {
    test(`${p.name} (${p.route}) has no serious accessibility violation`, async () => {
      const { page, cast } = get();
      await page.goto(`${cast.url}/console${p.route}`);
      await p.ready(page);
      await check(page, p.name);
      assert.deepEqual(found.get(p.name), []);
    });
  }

  test('the pages ran without errors, and the screenshots are saved', () => {
    console.log(`# console screenshots in ${ARTIFACTS_DIR}`);
    assert.deepEqual(get().problems, []);
  });
});
