/**
 * Themes and the keyboard, as a user meets them: the console follows the OS's light or dark
 * preference, the header's Theme picker overrides it and is remembered across a reload
 * (localStorage), the dark theme passes axe-core like the light one (contrast included), and
 * the navigation is reached with Tab and followed with Enter.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { BROWSER, consoleForFile, screenshot, seriousA11yViolations } from './support.js';

const { unavailable, get } = consoleForFile('theme and keyboard browser tests', async ({ webka }) => {
  await webka.admin().createTopic({ name: 'orders', partitions: 1 });
  await webka.producer().send('orders', [{ partition: 0, key: 'o-1', value: { item: 'book', qty: 2, gift: true, note: null } }]);
});

const background = (page: Page): Promise<string> => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
const LIGHT = 'rgb(255, 255, 255)';
const DARK = 'rgb(17, 20, 24)';

describe('themes and keyboard navigation', { skip: unavailable }, () => {
  test('the OS preference picks the theme, the picker overrides it and is remembered', async (t) => {
    const { page, cast } = get();
    await page.goto(`${cast.url}/console#/`);
    const picker = page.getByRole('combobox', { name: 'Theme' });
    await picker.waitFor();
    // Firefox ESR's WebDriver BiDi cannot emulate prefers-color-scheme (it does not know
    // emulation.setMediaFeaturesOverride): there the OS preference stays light, as headless
    // Firefox reports it, and only the picker's part is checked
    const emulates = BROWSER !== 'firefox';
    if (!emulates) t.diagnostic('Firefox: the OS dark preference is not emulated; the picker is checked against a light OS');
    if (emulates) {
      await page.emulateMedia({ colorScheme: 'light' });
      assert.equal(await background(page), LIGHT);
      await page.emulateMedia({ colorScheme: 'dark' });
      assert.equal(await background(page), DARK);
    }

    await picker.selectOption(emulates ? 'light' : 'dark');
    const picked = emulates ? LIGHT : DARK;
    assert.equal(await background(page), picked, 'the pick wins over the OS');
    await page.reload();
    await picker.waitFor();
    assert.equal(await picker.inputValue(), emulates ? 'light' : 'dark');
    assert.equal(await background(page), picked, 'and is remembered');

    await picker.selectOption('system');
    assert.equal(await background(page), emulates ? DARK : LIGHT, 'system follows the OS again');
    if (emulates) await page.emulateMedia({ colorScheme: 'light' });
    await picker.selectOption('dark');
    assert.equal(await background(page), DARK);
    await page.reload();
    await picker.waitFor();
    assert.equal(await background(page), DARK);
  });

  test('the dark theme has no serious accessibility violation', async () => {
    const { page, cast } = get();
    await page.goto(`${cast.url}/console#/c/default/topics/orders/messages`);
    const browse = page.getByRole('form', { name: 'Browse records' });
    await browse.getByLabel('Partition').selectOption('0');
    await browse.getByRole('button', { name: 'Load' }).click();
    await page.getByRole('list', { name: 'Records' }).getByRole('button', { name: 'Record 0/0' }).click();
    await page.getByRole('region', { name: 'Record 0/0' }).waitFor();
    assert.equal(await background(page), DARK);
    console.log(`# dark messages page: screenshot ${await screenshot(page, 'messages-dark')}`);
    assert.deepEqual((await seriousA11yViolations(page)).map((v) => `${v.id} at ${v.nodes.join(', ')}`), []);
    await page.getByRole('combobox', { name: 'Theme' }).selectOption('system');
  });

  test('Tab reaches the navigation and Enter opens a page', async () => {
    const { page, cast, problems } = get();
    await page.goto(`${cast.url}/console#/`);
    await page.getByRole('table', { name: 'Brokers' }).waitFor();
    const focused = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
    const seen: string[] = [];
    for (let i = 0; i < 10 && (await focused()) !== 'Consumer groups'; i++) {
      await page.keyboard.press('Tab');
      seen.push(await focused());
    }
    assert.deepEqual(seen, ['Webka', 'Overview', 'Topics', 'Consumer groups'], 'the brand, then the links in order');
    await page.keyboard.press('Enter');
    await page.getByRole('table', { name: 'Consumer groups' }).waitFor();
    assert.match(page.url(), /#\/c\/default\/groups$/);

    // and on through the links to Topics' first topic, opened with Enter
    await page.goto(`${cast.url}/console#/c/default/topics`);
    await page.getByRole('link', { name: 'orders' }).waitFor();
    for (let i = 0; i < 40 && (await focused()) !== 'orders'; i++) await page.keyboard.press('Tab');
    assert.equal(await focused(), 'orders');
    await page.keyboard.press('Enter');
    await page.getByRole('table', { name: 'Configs' }).waitFor();
    assert.deepEqual(problems, []);
  });
});
