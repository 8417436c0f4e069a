/**
 * The Consumer groups page driven as a user would, with auth on: the list shows a group's total
 * lag, the group's page its offsets per partition, and resetting offsets shows a dry run first
 * (the broker's offsets unchanged) and then applies it; to a given offset as well, where one past
 * the end is refused with the broker's code and nothing changes.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { consoleForFile } from './support.js';

const { unavailable, get } = consoleForFile('groups browser tests', async ({ webka }) => {
  await webka.admin().createTopic({ name: 'jobs', partitions: 1 });
  await webka.producer().send('jobs', Array.from({ length: 10 }, (_, i) => ({ value: i })));
  await webka.admin().commitGroupOffsets('workers', [{ topic: 'jobs', partition: 0, offset: 3 }]);
});

const committed = async (): Promise<number | null> => (await get().webka.admin().groupOffsets('workers')).find((o) => o.topic === 'jobs')!.committed;

describe('the Consumer groups page', { skip: unavailable }, () => {
  test('lists groups with their lag, and resets offsets after a dry run', async () => {
    const { page, problems } = get();
    await page.getByRole('link', { name: 'Consumer groups' }).click();
    const list = page.getByRole('table', { name: 'Consumer groups' });
    await list.getByRole('row', { name: /workers/ }).filter({ hasText: /7$/ }).waitFor();

    await list.getByRole('link', { name: 'workers' }).click();
    await page.getByTestId('group-lag').filter({ hasText: /^7$/ }).waitFor();
    const offsets = page.getByRole('table', { name: 'Offsets' });
    assert.deepEqual(await offsets.locator('tbody tr').first().locator('td').allTextContents(), ['jobs', '0', '3', '10', '7']);

    const form = page.getByRole('form', { name: 'Reset offsets' });
    await form.getByLabel('Reset to').selectOption('earliest');
    await form.getByRole('button', { name: 'Preview (dry run)' }).click();
    const preview = form.getByRole('table', { name: 'Reset preview' });
    await preview.waitFor();
    assert.deepEqual(await preview.locator('tbody tr').first().locator('td').allTextContents(), ['jobs', '0', '3', '0']);
    await form.getByRole('status').filter({ hasText: 'Dry run' }).waitFor();
    assert.equal(await committed(), 3, 'a dry run changes nothing');

    await form.getByRole('button', { name: 'Apply reset' }).click();
    await form.getByRole('status').filter({ hasText: 'Offsets reset' }).waitFor();
    assert.equal(await committed(), 0);
    await page.getByTestId('group-lag').filter({ hasText: /^10$/ }).waitFor();
    assert.deepEqual(problems, []);
  });

  test('resets to a given offset after a dry run, and an offset past the end is refused', async () => {
    const { page, problems } = get();
    await page.reload();
    const form = page.getByRole('form', { name: 'Reset offsets' });
    await form.getByLabel('Reset to').selectOption('offsets');
    await form.getByRole('textbox', { name: 'Offset' }).fill('50');
    await form.getByRole('button', { name: 'Preview (dry run)' }).click();
    await form.getByRole('alert').filter({ hasText: 'INVALID_OFFSET' }).waitFor();
    const before = await committed();

    await form.getByRole('textbox', { name: 'Offset' }).fill('6');
    await form.getByRole('combobox', { name: /^Of/ }).selectOption('jobs/0');
    await form.getByRole('button', { name: 'Preview (dry run)' }).click();
    const preview = form.getByRole('table', { name: 'Reset preview' });
    await preview.waitFor();
    assert.deepEqual(await preview.locator('tbody tr').first().locator('td').allTextContents(), ['jobs', '0', String(before), '6']);
    assert.equal(await committed(), before, 'a dry run changes nothing');
    await form.getByRole('button', { name: 'Apply reset' }).click();
    await form.getByRole('status').filter({ hasText: 'Offsets reset' }).waitFor();
    assert.equal(await committed(), 6);
    await page.getByTestId('group-lag').filter({ hasText: /^4$/ }).waitFor();
    assert.deepEqual(problems, []);
  });

  test('a group\'s page charts its lag per partition, sampled while it is open', async () => {
    const { page, cast, webka, problems } = get();
    await webka.admin().createTopic({ name: 'charted', partitions: 2 });
    await webka.producer().send('charted', [{ partition: 0, value: 'a' }, { partition: 0, value: 'b' }, { partition: 1, value: 'c' }]);
    await webka.admin().commitGroupOffsets('watchers', [{ topic: 'charted', partition: 0, offset: 0 }, { topic: 'charted', partition: 1, offset: 1 }]);
    await page.goto(`${cast.url}/console#/c/default/groups/watchers`);
    const chart = page.getByRole('img', { name: /^Lag per partition/ });
    await chart.waitFor();
    const lags = (id: string) => chart.locator(`polyline[data-partition="${id}"]`);
    assert.equal(await lags('charted/0').getAttribute('data-lags'), '2');
    assert.equal(await lags('charted/1').getAttribute('data-lags'), '0');

    // the producer moves on: the next samples (every 5 s) add points, the legend gives the latest
    await webka.producer().send('charted', [{ partition: 0, value: 'd' }, { partition: 0, value: 'e' }, { partition: 0, value: 'f' }]);
    await page.locator('polyline[data-partition="charted/0"][data-lags$=",5"]').waitFor({ timeout: 15_000 });
    assert.match((await lags('charted/0').getAttribute('data-lags'))!, /^2(,2)*(,5)+$/);
    assert.match((await lags('charted/1').getAttribute('data-lags'))!, /^0(,0)+$/);
    assert.ok(((await lags('charted/0').getAttribute('points')) ?? '').split(' ').length >= 2, 'a line of two points at least');
    assert.deepEqual(await page.getByRole('list', { name: 'Lag legend' }).getByRole('listitem').allTextContents(), ['charted/0 5', 'charted/1 0']);
    assert.match((await chart.getAttribute('aria-label'))!, /up to 5$/);
    assert.deepEqual(problems, []);
  });
});
