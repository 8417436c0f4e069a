/**
 * The Durable Streams page driven as a user would, with auth on: open a stream from the list, read
 * it from the start (a JSON stream value by value, a text stream as text), follow it live while
 * appends arrive until it is closed, and a principal without rights on it is shown nothing.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { consoleForFile } from './support.js';

const { unavailable, get } = consoleForFile('streams browser tests', async ({ cast }) => {
  await stream(cast.admin, cast.url, 'PUT', 'chat/room-1', 'application/json', JSON.stringify([{ m: 'hi' }]));
  await stream(cast.admin, cast.url, 'POST', 'chat/room-1', 'application/json', JSON.stringify({ m: 'two' }));
  await stream(cast.admin, cast.url, 'PUT', 'logs/app', 'text/plain', 'line one\nline two');
});

async function stream(key: string, url: string, method: string, path: string, contentType: string, body: string, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${url}/v1/stream/${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': contentType, ...headers }, body });
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.text()}`);
}

describe('the Durable Streams page', { skip: unavailable }, () => {
  test('reads a stream from the start and follows it live until it is closed', async () => {
    const { page, cast, problems } = get();
    const append = (body: string, headers?: Record<string, string>) => stream(cast.admin, cast.url, 'POST', 'chat/room-1', 'application/json', body, headers);
    await page.getByRole('link', { name: 'Durable Streams' }).click();
    await page.getByRole('table', { name: 'Streams' }).getByRole('link', { name: 'chat/room-1' }).click();
    assert.match(page.url(), /#\/streams\/chat\/room-1$/);
    await page.getByTestId('tail-offset').filter({ hasText: '0000000000000000_0000000000000002' }).waitFor();

    await page.getByRole('form', { name: 'Read stream' }).getByRole('button', { name: 'Read', exact: true }).click();
    const contents = page.getByRole('list', { name: 'Stream contents' });
    await contents.getByRole('listitem').nth(1).waitFor();
    assert.deepEqual(await contents.getByRole('listitem').allTextContents(), ['{"m":"hi"}', '{"m":"two"}']);
    assert.match((await page.getByTestId('read-status').textContent())!, /2 shown, next offset 0000000000000000_0000000000000002, up to date/);

    const status = page.getByTestId('follow-status');
    await page.getByRole('button', { name: 'Follow', exact: true }).click();
    await status.filter({ hasText: /^following, 0 shown, at 0000000000000000_0000000000000002$/ }).waitFor();
    await append(JSON.stringify([{ m: 'three' }, { m: 'four' }]));
    const followed = page.getByRole('list', { name: 'Followed contents' });
    await followed.getByRole('listitem').nth(1).waitFor();
    assert.deepEqual(await followed.getByRole('listitem').allTextContents(), ['{"m":"three"}', '{"m":"four"}']);
    await append('', { 'stream-closed': 'true' });
    await status.filter({ hasText: /^closed, 2 shown, at 0000000000000000_0000000000000004$/ }).waitFor();

    // a text stream reads as its text
    await page.goto(`${cast.url}/console#/streams/logs/app`);
    await page.getByRole('form', { name: 'Read stream' }).getByRole('button', { name: 'Read', exact: true }).click();
    await page.getByRole('list', { name: 'Stream contents' }).getByRole('listitem').first().waitFor();
    assert.equal(await page.getByRole('list', { name: 'Stream contents' }).getByRole('listitem').first().textContent(), 'line one\nline two');
    assert.deepEqual(problems, []);
  });

  test('a principal without rights on a stream is shown nothing of it', async () => {
    const { page, cast, problems } = get();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await get().signIn(cast.alice, '#/streams/chat/room-1');
    await page.getByText('No stream at this path that you may see.').waitFor();
    assert.equal(await page.getByRole('form', { name: 'Read stream' }).count(), 0);
    assert.deepEqual(problems, []);
  });
});
