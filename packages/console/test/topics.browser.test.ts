/**
 * The Topics page driven as a user would, with auth on: pages of 50 with search over many
 * topics, creating a topic from the form and landing on its partitions, offsets that follow what
 * was produced, and a read-only principal who is not offered the form.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Webka } from '@webka/client';
import { consoleTestsUnavailable, openConsole, topicNames, type ConsoleUnderTest } from './support.js';

const TOPICS = '#/c/default/topics';

const unavailable = consoleTestsUnavailable('topics browser tests');
let c: ConsoleUnderTest;

before(async () => {
  if (unavailable !== undefined) return;
  c = await openConsole();
});

after(() => c?.close());

describe('the Topics page', { skip: unavailable }, () => {
  test('many topics: pages of 50, and search narrows the list', async () => {
    const admin = new Webka({ url: c.cast.url, token: c.cast.admin }).admin();
    for (let i = 0; i < 60; i++) await admin.createTopic({ name: `many-${String(i).padStart(2, '0')}` });
    const { page } = c;
    await c.signIn(c.cast.admin, TOPICS);
    await page.getByRole('link', { name: 'many-00' }).waitFor();
    assert.equal((await topicNames(page)).length, 50);
    await page.getByText(/Page 1 of 2/).waitFor();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText(/Page 2 of 2/).waitFor();
    assert.ok((await topicNames(page)).includes('scores'));

    await page.getByLabel('Search topics').fill('many-5');
    await page.getByTestId('topic-count').filter({ hasText: '10 topics' }).waitFor();
    assert.deepEqual(await topicNames(page), Array.from({ length: 10 }, (_, i) => `many-5${i}`));
  });

  test('creating a topic from the form shows its partitions, whose offsets follow produced records', async () => {
    const { page } = c;
    await page.goto(`${c.cast.url}/console#/c/default/topics`);
    await page.getByRole('button', { name: 'New topic' }).click();
    const form = page.getByRole('form', { name: 'Create topic' });
    await form.getByLabel('Name').fill('orders');
    await form.getByLabel('Partitions').fill('3');
    await form.getByRole('button', { name: 'Create topic' }).click();
    const partitions = page.getByRole('table', { name: 'Partitions' });
    await partitions.waitFor();
    assert.match(page.url(), /#\/c\/default\/topics\/orders$/);
    assert.equal(await partitions.locator('tbody tr').count(), 3);

    await new Webka({ url: c.cast.url, token: c.cast.admin }).producer().send('orders', [{ partition: 1, value: 'a' }, { partition: 1, value: 'b' }]);
    await page.reload();
    const row1 = partitions.locator('tbody tr').nth(1);
    await row1.locator('td').nth(2).filter({ hasText: /^2$/ }).waitFor();
    assert.deepEqual((await row1.locator('td').allTextContents()).slice(0, 4), ['1', '0', '2', '2']);

    // a second create of the same name is refused with the broker's code, on the form
    await page.goto(`${c.cast.url}/console#/c/default/topics`);
    await page.getByRole('button', { name: 'New topic' }).click();
    await form.getByLabel('Name').fill('orders');
    await form.getByRole('button', { name: 'Create topic' }).click();
    await form.getByRole('alert').filter({ hasText: 'TOPIC_EXISTS' }).waitFor();
  });

  test('a principal who may not create topics is not offered the form', async () => {
    const { page } = c;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await c.signIn(c.cast.alice, TOPICS);
    await page.getByRole('link', { name: 'scores' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'New topic' }).count(), 0);
    assert.deepEqual(c.problems, []);
  });
});
