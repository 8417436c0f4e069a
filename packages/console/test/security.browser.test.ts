/**
 * The Security page driven as a user would, with auth on: a superuser creates a principal with a
 * key (shown once, and it works), grants it an ACL, makes and revokes a second key, removes the
 * ACL and deletes the principal; after a reload the page asks for the superuser's key again (only
 * the token survives). A principal who is not a superuser sees its own access, manages its own API
 * keys (create, list, revoke; after a reload the page asks for its key again) and nothing else, and
 * the broker refuses its token's attempts to manage principals or ACLs anyway, changing nothing
 * (while the same request with the superuser's key is accepted).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { consoleForFile } from './support.js';

const { unavailable, get } = consoleForFile('security browser tests', async () => {});

const whoami = async (key: string): Promise<number> => (await get().cast.call('GET', '/v1/whoami', { key })).status;

/** Reloads the page (the key in memory is gone), offers another principal's key (refused), then the right one. */
async function reloadAndGiveKey(form: string, wrong: string, principal: string, right: string): Promise<void> {
  const { page } = get();
  await page.reload();
  const ask = page.getByRole('form', { name: form });
  await ask.getByLabel('API key').fill(wrong);
  await ask.getByRole('button', { name: 'Use key' }).click();
  await ask.getByRole('alert').filter({ hasText: `API key of ${principal}` }).waitFor();
  await ask.getByLabel('API key').fill(right);
  await ask.getByRole('button', { name: 'Use key' }).click();
}

describe('the Security page', { skip: unavailable }, () => {
  test('a superuser manages principals, keys and ACLs', async () => {
    const { page, cast, problems } = get();
    await page.getByRole('link', { name: 'Security' }).click();
    const principals = page.getByRole('table', { name: 'Principals' });
    await principals.getByRole('row', { name: /carol/ }).waitFor();
    assert.deepEqual((await principals.locator('tbody tr td:first-child').allTextContents()).sort(), ['admin', 'alice', 'bob', 'carol']);

    const create = page.getByRole('form', { name: 'Create principal' });
    await create.getByLabel('Name').fill('dave');
    await create.getByLabel('Kind').selectOption('service');
    await create.getByLabel('Description').fill('billing job');
    await create.getByRole('button', { name: 'Create principal' }).click();
    const firstKey = (await create.getByTestId('new-key').textContent())!;
    assert.match(firstKey, /^wk_/);
    await principals.getByRole('row', { name: /dave/ }).waitFor();
    assert.deepEqual(await cast.call('GET', '/v1/whoami', { key: firstKey }).then((r) => [r.status, r.body.principal]), [200, 'dave']);
    const read = () => cast.call('GET', '/v1/clusters/default/topics/scores/partitions/0/records', { key: firstKey }).then((r) => r.status);
    assert.equal(await read(), 404, 'dave may not read scores yet');

    const add = page.getByRole('form', { name: 'Add ACL' });
    await add.getByLabel('Principal').selectOption('dave');
    await add.getByLabel('Resource name (* for all)').fill('scores');
    await add.getByLabel('In cluster (* for all)').fill('default');
    await add.getByRole('button', { name: 'Add ACL' }).click();
    const acls = page.getByRole('table', { name: 'ACLs' });
    await acls.getByRole('row', { name: /dave/ }).waitFor();
    assert.deepEqual(await acls.getByRole('row', { name: /dave/ }).locator('td').allTextContents().then((t) => t.slice(0, 4)), ['dave', 'allow', 'read', 'topic:default/scores']);
    assert.equal(await read(), 200, 'the ACL made in the console lets dave read');

    await principals.getByRole('button', { name: 'Keys of dave' }).click();
    const keys = page.getByRole('region', { name: 'Keys of dave' });
    await keys.getByRole('table', { name: 'API keys' }).locator('tbody tr').first().waitFor();
    await keys.getByLabel('Key description').fill('second');
    await keys.getByRole('button', { name: 'Create key' }).click();
    const secondKey = (await keys.getByTestId('new-key').textContent())!;
    assert.equal(await whoami(secondKey), 200);
    const second = keys.getByRole('row', { name: /second/ });
    await second.waitFor();
    await second.getByRole('button', { name: /^Revoke key/ }).click();
    await second.waitFor({ state: 'detached' });
    assert.equal(await whoami(secondKey), 401, 'a revoked key is refused at once');
    assert.equal(await whoami(firstKey), 200, 'the other key still works');

    await acls.getByRole('row', { name: /dave/ }).getByRole('button', { name: /^Remove ACL/ }).click();
    await acls.getByRole('row', { name: /dave/ }).waitFor({ state: 'detached' });
    assert.equal(await read(), 404, 'the ACL is gone');

    const row = principals.getByRole('row', { name: /dave/ });
    await row.getByRole('button', { name: 'Delete principal' }).click();
    await row.getByLabel(/Type dave to delete/).fill('dave');
    await row.getByRole('button', { name: 'Delete', exact: true }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal(await whoami(firstKey), 401, 'its keys went with it');
    assert.equal(await principals.getByRole('row', { name: /admin/ }).getByRole('button', { name: 'Delete principal' }).count(), 0, 'the signed-in superuser is not offered its own deletion');

    // a reload keeps the token but not the key: the page asks for the key before managing again
    await reloadAndGiveKey('Superuser key', cast.alice, 'admin', cast.admin);
    await principals.getByRole('row', { name: /carol/ }).waitFor();
    assert.deepEqual(problems, []);
  });

  test('a principal who is not a superuser sees its own access and manages its own keys only, and the broker refuses its attempts', async () => {
    const { page, cast, problems } = get();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await get().signIn(cast.alice, '#/security');
    const mine = page.getByRole('table', { name: 'Your ACLs' });
    await mine.waitFor();
    assert.deepEqual((await mine.locator('tbody tr td:nth-child(4)').allTextContents()).sort(), ['cluster:default', 'topic:default/scores']);
    assert.equal(await page.getByRole('table', { name: 'Principals' }).count(), 0);
    assert.equal(await page.getByRole('form', { name: 'Create principal' }).count(), 0);
    assert.equal(await page.getByRole('form', { name: 'Add ACL' }).count(), 0);
    assert.equal(await page.getByRole('form', { name: 'Superuser key' }).count(), 0);

    // its own keys: the one it signed in with is listed; it makes a second, which works, and revokes it
    const keys = page.getByRole('region', { name: 'Keys of alice' });
    await keys.getByRole('heading', { name: 'Your API keys' }).waitFor();
    const rows = keys.getByRole('table', { name: 'API keys' }).locator('tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1);
    assert.match((await rows.first().textContent())!, /the key you signed in with/);
    await keys.getByLabel('Key description').fill('ci job');
    await keys.getByRole('button', { name: 'Create key' }).click();
    const made = (await keys.getByTestId('new-key').textContent())!;
    assert.deepEqual(await cast.call('GET', '/v1/whoami', { key: made }).then((r) => [r.status, r.body.principal]), [200, 'alice']);
    const row = keys.getByRole('row', { name: /ci job/ });
    await row.getByRole('button', { name: /^Revoke key/ }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal(await whoami(made), 401, 'the revoked key is refused at once');
    assert.equal(await whoami(cast.alice), 200, 'the key signed in with still works');
    // a reload forgets the key: the page asks for alice's own (not another principal's)
    await reloadAndGiveKey('Your key', cast.bob, 'alice', cast.alice);
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1);

    // what the page does not offer, the broker refuses: alice's browser token tries it directly
    const before = cast.snapshot();
    const attempt = (path: string, body: unknown, key?: string) =>
      page.evaluate(
        async ({ path, body, key }) => {
          const res = await fetch(path, { method: 'POST', headers: { authorization: `Bearer ${key ?? sessionStorage.getItem('webka.console.token')}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
          return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code };
        },
        { path, body, key },
      );
    const grab = { principal: 'alice', operations: ['admin'], resource: { type: 'topic', name: '*' } };
    assert.deepEqual(await attempt('/v1/principals', { name: 'mallory', superuser: true, createKey: true }), { status: 403, code: 'FORBIDDEN' });
    assert.deepEqual(await attempt('/v1/acls', grab), { status: 403, code: 'FORBIDDEN' });
    assert.equal(cast.snapshot(), before, 'a refused attempt changes nothing');
    // negative control: the same request with a superuser's key is accepted
    const granted = await attempt('/v1/acls', grab, cast.admin);
    assert.equal(granted.status, 201);
    assert.deepEqual(problems, []);
  });
});
