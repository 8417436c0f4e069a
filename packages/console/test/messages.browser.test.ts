/**
 * The Messages page driven as a user would, with auth on: produce a record from the form and see
 * the offset it was written at, browse the partition's latest records and open one (JSON as a
 * tree), and follow the topic live while a producer runs: pause holds the rows shown, resume
 * shows what came meanwhile, and the row cap drops the oldest; a filter by key or by text narrows
 * both the browsed records and the live tail, and Search asks the broker to look through the
 * partition for it.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { consoleForFile, setNumber } from './support.js';

const { unavailable, get } = consoleForFile('messages browser tests', async ({ webka }) => {
  await webka.admin().createTopic({ name: 'events', partitions: 2 });
});

const status = () => get().page.getByTestId('tail-status');

describe('the Messages page', { skip: unavailable }, () => {
  test('a record produced from the form shows its offset, and browsing finds and opens it', async () => {
    const c = get();
    const { page, webka } = c;
    await webka.producer().send('events', [{ partition: 0, value: 'before' }]);
    await page.goto(`${c.cast.url}/console#/c/default/topics/events/messages`);
    const form = page.getByRole('form', { name: 'Produce' });
    await form.getByLabel('Key', { exact: true }).fill('k1');
    await form.getByLabel('Value (JSON, else text)').fill('{"n": 1, "tags": ["a", "b"]}');
    await form.getByLabel('Headers (name=value a line)').fill('source=console');
    await form.getByLabel('Partition').selectOption('0');
    await form.getByRole('button', { name: 'Produce' }).click();
    await page.getByTestId('produced').filter({ hasText: 'Written to partition 0 at offset 1' }).waitFor();

    const browse = page.getByRole('form', { name: 'Browse records' });
    await browse.getByLabel('Partition').selectOption('0');
    await browse.getByRole('button', { name: 'Load' }).click();
    const records = page.getByRole('list', { name: 'Records' });
    await records.getByRole('button', { name: 'Record 0/1' }).click();
    const detail = page.getByRole('region', { name: 'Record 0/1' });
    await detail.waitFor();
    assert.match((await detail.textContent())!, /k1/);
    assert.match((await detail.textContent())!, /source.*console/);
    assert.match((await detail.locator('.json').textContent())!, /"n": 1/);
    assert.equal(await records.getByRole('button').count(), 2);
  });

  test('the live tail follows a running producer, pauses, resumes and keeps at most its cap', async () => {
    const c = get();
    const { page, webka } = c;
    // from the beginning of an empty topic, so no record produced after the click can be missed
    // however long the stream takes to open
    await webka.admin().createTopic({ name: 'live', partitions: 3 });
    await page.goto(`${c.cast.url}/console#/c/default/topics/live/messages`);
    await page.getByRole('region', { name: 'Live tail' }).getByLabel('From').selectOption('earliest');
    await page.getByRole('button', { name: 'Start live tail' }).click();
    await status().filter({ hasText: 'following' }).waitFor();
    const producer = webka.producer();
    const send = (from: number, n: number) => producer.send('live', Array.from({ length: n }, (_, i) => ({ key: `live-${from + i}`, value: { i: from + i } })));
    await send(0, 50);
    await status().filter({ hasText: '50 received, 50 shown' }).waitFor();

    await page.getByRole('button', { name: 'Pause' }).click();
    await send(50, 10);
    await status().filter({ hasText: 'paused, 60 received, 50 shown' }).waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await status().filter({ hasText: '60 received, 60 shown' }).waitFor();

    await page.getByLabel('Keep').selectOption('100');
    await send(60, 90);
    await status().filter({ hasText: '150 received, 100 shown' }).waitFor();
    await producer.close();
    await page.getByRole('button', { name: 'Stop' }).click();
    await status().filter({ hasText: 'stopped' }).waitFor();
    assert.deepEqual(c.problems, []);
  });

  test('a filter by key or by text narrows the browsed records and the live tail', async () => {
    const c = get();
    const { page, webka } = c;
    await webka.admin().createTopic({ name: 'mixed', partitions: 1 });
    const producer = webka.producer();
    await producer.send('mixed', [
      { key: 'user-1', value: { city: 'Paris' } },
      { key: 'user-2', value: 'hello berlin' },
      { key: 'order-1', value: { city: 'Berlin' }, headers: { source: 'paris-app' } },
      { key: null, value: 'no key' },
    ]);
    await page.goto(`${c.cast.url}/console#/c/default/topics/mixed/messages`);
    const filter = page.getByRole('search', { name: 'Filter records' });
    const records = page.getByRole('list', { name: 'Records' });
    const shown = async () => (await records.getByRole('button').evaluateAll((els) => els.map((e) => `Record ${e.getAttribute('data-record')}`))).join(' ');
    await page.getByRole('form', { name: 'Browse records' }).getByRole('button', { name: 'Load' }).click();
    await records.getByRole('button', { name: 'Record 0/3' }).waitFor();

    await filter.getByLabel('In').selectOption('key');
    await filter.getByLabel('Filter').fill('USER');
    await page.getByTestId('browse-matches').filter({ hasText: '2 of 4 loaded records match' }).waitFor();
    assert.equal(await shown(), 'Record 0/0 Record 0/1');
    await filter.getByLabel('Filter').fill('paris');
    await page.getByTestId('browse-matches').filter({ hasText: '0 of 4' }).waitFor();
    assert.equal(await shown(), '');

    await filter.getByLabel('In').selectOption('any');
    await page.getByTestId('browse-matches').filter({ hasText: '2 of 4' }).waitFor();
    assert.equal(await shown(), 'Record 0/0 Record 0/2', 'the value of one, a header of the other');
    await filter.getByLabel('Filter').fill('berlin');
    await page.getByTestId('browse-matches').filter({ hasText: '2 of 4' }).waitFor();
    assert.equal(await shown(), 'Record 0/1 Record 0/2');

    // the live tail shows only the matching rows, while counting every record received
    await filter.getByLabel('In').selectOption('key');
    await filter.getByLabel('Filter').fill('order');
    await page.getByRole('region', { name: 'Live tail' }).getByLabel('From').selectOption('earliest');
    await page.getByRole('button', { name: 'Start live tail' }).click();
    await status().filter({ hasText: '4 received, 4 shown, 1 match' }).waitFor();
    await producer.send('mixed', [{ key: 'order-2', value: 1 }, { key: 'user-3', value: 2 }, { key: 'order-3', value: 3 }]);
    await status().filter({ hasText: '7 received, 7 shown, 3 match' }).waitFor();
    const live = page.getByRole('list', { name: 'Live records' });
    assert.deepEqual(await live.getByRole('button').evaluateAll((els) => els.map((e) => `Record ${e.getAttribute('data-record')}`)), ['Record 0/2', 'Record 0/4', 'Record 0/6']);
    await filter.getByLabel('Filter').fill('');
    await status().filter({ hasText: /7 shown$/ }).waitFor();
    await producer.close();
    await page.getByRole('button', { name: 'Stop' }).click();
    assert.deepEqual(c.problems, []);
  });

  test('Search asks the broker for the records that match the filter, and Search on goes further', async () => {
    const c = get();
    const { page, webka } = c;
    await webka.admin().createTopic({ name: 'haystack', partitions: 1 });
    const producer = webka.producer();
    const needles: Record<number, string> = { 10: 'needle-a', 11_000: 'NEEDLE-b', 11_900: 'a Needle-c' };
    for (let from = 0; from < 12_000; from += 3_000) {
      await producer.send('haystack', Array.from({ length: 3_000 }, (_, i) => ({ key: `hay-${from + i}`, value: needles[from + i] !== undefined ? { text: needles[from + i] } : { i: from + i } })));
    }
    await producer.close();
    await page.goto(`${c.cast.url}/console#/c/default/topics/haystack/messages`);
    const browse = page.getByRole('form', { name: 'Browse records' });
    const records = page.getByRole('list', { name: 'Records' });
    const shown = async () => (await records.getByRole('button').evaluateAll((els) => els.map((e) => e.getAttribute('data-record')))).join(' ');
    const search = browse.getByRole('button', { name: 'Search', exact: true });
    const status = page.getByTestId('search-status');
    await page.getByRole('search', { name: 'Filter records' }).getByLabel('Filter').fill('needle');
    // the latest 20 loaded hold none of them
    await browse.getByRole('button', { name: 'Load' }).click();
    await page.getByTestId('browse-matches').filter({ hasText: '0 of 20 loaded records match' }).waitFor();

    // the latest 500, searched by the broker: the one among them
    await setNumber(browse.getByLabel('N', { exact: true }), '500');
    await search.click();
    await status.filter({ hasText: '1 record with "needle" among 500 searched by the broker, to the end' }).waitFor();
    assert.equal(await shown(), '0/11900');

    // from the earliest: 10,000 a search, then on to the end
    await browse.getByLabel('From').selectOption('earliest');
    await search.click();
    await status.filter({ hasText: '1 record with "needle" among 10,000 searched by the broker, up to offset 9999' }).waitFor();
    assert.equal(await shown(), '0/10');
    // Search on goes on with the search it continues, whatever the filter says meanwhile
    await page.getByRole('search', { name: 'Filter records' }).getByLabel('Filter').fill('needle-b');
    await status.getByRole('button', { name: 'Search on' }).click();
    await status.filter({ hasText: '3 records with "needle" among 12,000 searched by the broker, to the end' }).waitFor();
    await page.getByRole('search', { name: 'Filter records' }).getByLabel('Filter').fill('needle');
    assert.equal(await shown(), '0/10 0/11000 0/11900');
    assert.equal(await status.getByRole('button', { name: 'Search on' }).count(), 0);
    await records.getByRole('button', { name: 'Record 0/11000' }).click();
    assert.match((await page.getByRole('region', { name: 'Record 0/11000' }).textContent())!, /NEEDLE-b/);

    // a Load shows the loaded records again, filtered in the page
    await browse.getByRole('button', { name: 'Load' }).click();
    await page.getByTestId('browse-matches').filter({ hasText: '1 of 100 loaded records match' }).waitFor();
    assert.equal(await status.count(), 0);
    assert.deepEqual(c.problems, []);
  });
});
