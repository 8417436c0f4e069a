/**
 * The Topics page driven as a user would, with auth on: pages of 50 with search over many
 * topics, each page and search asked of the broker (?search&offset&limit=50, never the whole list), creating a topic from the form and landing on its partitions, offsets that follow what
 * was produced; a replication factor and configs in the create form, changing and resetting a
 * config and adding partitions, with the broker's refusals shown on the form and nothing changed;
 * and a read-only principal who is offered none of these forms.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Webka } from '@webka/client';
import { consoleTestsUnavailable, openConsole, setNumber, topicNames, type ConsoleUnderTest } from './support.js';

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
    const asked: URL[] = [];
    const onRequest = (r: { url(): string; method(): string }) => {
      const u = new URL(r.url());
      if (r.method() === 'GET' && u.pathname === '/v1/clusters/default/topics') asked.push(u);
    };
    page.on('request', onRequest);
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
    page.off('request', onRequest);
    // the broker searched and paged: every list request asked for one page of 50
    assert.ok(asked.length >= 3, `list requests: ${asked.join(' ')}`);
    assert.deepEqual(asked.filter((u) => u.searchParams.get('limit') !== '50').map(String), []);
    assert.ok(asked.some((u) => u.searchParams.get('offset') === '50'), 'page 2 asked from offset 50');
    assert.ok(asked.some((u) => u.searchParams.get('search') === 'many-5'), 'the search was sent');
  });

  test('creating a topic from the form shows its partitions, whose offsets follow produced records', async () => {
    const { page } = c;
    await page.goto(`${c.cast.url}/console#/c/default/topics`);
    await page.getByRole('button', { name: 'New topic' }).click();
    const form = page.getByRole('form', { name: 'Create topic' });
    await form.getByLabel('Name').fill('orders');
    await setNumber(form.getByLabel('Partitions'), '3');
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

  test('create with a replication factor and configs, change a config, add partitions', async () => {
    const { page } = c;
    const admin = new Webka({ url: c.cast.url, token: c.cast.admin }).admin();
    await page.goto(`${c.cast.url}/console#/c/default/topics`);
    await page.reload();
    await page.getByRole('button', { name: 'New topic' }).click();
    const form = page.getByRole('form', { name: 'Create topic' });
    await form.getByText('Topic configs, their defaults and what they do').click();
    await form.getByRole('table', { name: 'Topic config docs' }).getByRole('row', { name: /^retention\.ms 604800000/ }).waitFor();
    await form.getByLabel('Name').fill('payments');
    await setNumber(form.getByLabel('Partitions'), '2');
    await setNumber(form.getByLabel('Replication factor'), '2');
    await form.getByLabel('Configs (key=value a line)').fill('retention.ms=3600000\ncleanup.policy=compact');
    await form.getByRole('button', { name: 'Create topic' }).click();
    // one broker: a replication factor of 2 is refused, naming how many brokers are alive
    await form.getByRole('alert').filter({ hasText: 'INVALID_REPLICATION_FACTOR' }).waitFor();
    assert.ok(!(await admin.listTopics()).some((t) => t.name === 'payments'), 'nothing created');
    await setNumber(form.getByLabel('Replication factor'), '1');
    await form.getByRole('button', { name: 'Create topic' }).click();
    const configs = page.getByRole('table', { name: 'Configs' });
    await configs.waitFor();
    const row = (key: string) => configs.getByRole('row', { name: new RegExp(`^${key.replace('.', '\\.')} `) });
    assert.deepEqual(await row('retention.ms').locator('td').allTextContents(), ['retention.ms', '3600000 (1h 0m)', 'topic']);
    assert.deepEqual(await row('cleanup.policy').locator('td').allTextContents(), ['cleanup.policy', 'compact', 'topic']);
    const created = await admin.describeTopic('payments');
    assert.equal(created.replicationFactor, 1);

    const change = page.getByRole('form', { name: 'Change config' });
    await change.getByLabel('Config').selectOption('retention.ms');
    await change.getByLabel('New value').fill('7200000');
    await change.getByRole('button', { name: 'Set' }).click();
    await change.getByRole('status').filter({ hasText: 'retention.ms set to 7200000' }).waitFor();
    await row('retention.ms').filter({ hasText: '7200000 (2h 0m)' }).waitFor();
    assert.equal((await admin.describeTopic('payments')).configs['retention.ms'], 7200000);

    await change.getByLabel('Config').selectOption('cleanup.policy');
    await change.getByRole('button', { name: 'Remove override' }).click();
    await row('cleanup.policy').filter({ hasText: 'default' }).waitFor();
    assert.equal((await admin.describeTopic('payments')).configs['cleanup.policy'], undefined);

    // a value out of range is refused with the broker's code, and nothing changes
    await change.getByLabel('Config').selectOption('retention.ms');
    await change.getByLabel('New value').fill('-5');
    await change.getByRole('button', { name: 'Set' }).click();
    await change.getByRole('alert').filter({ hasText: 'INVALID_CONFIG' }).waitFor();
    assert.equal((await admin.describeTopic('payments')).configs['retention.ms'], 7200000);

    const grow = page.getByRole('form', { name: 'Add partitions' });
    await setNumber(grow.getByLabel('New partition count'), '4');
    await grow.getByRole('button', { name: 'Add partitions' }).click();
    const partitions = page.getByRole('table', { name: 'Partitions' });
    await partitions.locator('tbody tr').nth(3).waitFor();
    assert.equal((await admin.describeTopic('payments')).partitions, 4);
    await setNumber(grow.getByLabel('New partition count'), '3');
    await grow.getByRole('button', { name: 'Add partitions' }).click();
    await grow.getByRole('alert').filter({ hasText: 'INVALID_PARTITIONS' }).waitFor();
    assert.equal((await admin.describeTopic('payments')).partitions, 4);
    assert.equal(await partitions.locator('tbody tr').count(), 4);
  });

  test('a principal who may not create topics is not offered the form', async () => {
    const { page } = c;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await c.signIn(c.cast.alice, TOPICS);
    await page.getByRole('link', { name: 'scores' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'New topic' }).count(), 0);
    // alice may read and write scores but not alter it: no config or partition forms
    await page.getByRole('link', { name: 'scores' }).click();
    await page.getByRole('table', { name: 'Configs' }).waitFor();
    assert.equal(await page.getByRole('form', { name: 'Change config' }).count(), 0);
    assert.equal(await page.getByRole('form', { name: 'Add partitions' }).count(), 0);
    assert.deepEqual(c.problems, []);
  });
});
