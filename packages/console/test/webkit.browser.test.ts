/**
 * The console in WebKit, Safari's engine: WebKitGTK's MiniBrowser over W3C WebDriver (see
 * client/test/support/webkit.ts), against a real broker with auth on. playwright-core cannot
 * drive a stock WebKit, so the other console files do not run here; this one walks a user's first
 * hour through the engine's own code paths: signing in (the token in sessionStorage across a
 * reload), the overview, creating a topic from the form, producing from the form and browsing to
 * the record, the live tail over Server-Sent Events with pause and resume, reading and following
 * a Durable Stream, and a wrong key refused with the broker's message. Errors and CSP violations
 * are collected in the page from each load on; a screenshot of each page is saved as an artefact.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { By, type WebDriver, type WebElement } from 'selenium-webdriver';
import { Webka } from '@webka/client';
import { startSecureBroker, type Cast } from '../../server/test/security/secure-broker.js';
import { launchWebKit, webkitUnavailable, type LaunchedWebKit } from '../../client/test/support/webkit.js';
import { ARTIFACTS_DIR } from './support.js';

const unavailable = webkitUnavailable();
if (unavailable !== undefined) console.log(`# WebKit console tests skipped: ${unavailable}`);

let cast: Cast;
let webkit: LaunchedWebKit;
let driver: WebDriver;
let webka: Webka;

before(async () => {
  if (unavailable !== undefined) return;
  cast = await startSecureBroker();
  try {
    webkit = await launchWebKit();
  } catch (e) {
    await cast.broker.close();
    throw e;
  }
  driver = webkit.driver;
  webka = new Webka({ url: cast.url, token: cast.admin });
  console.log(`# WebKitGTK ${webkit.version}`);
});

after(async () => {
  await webkit?.close();
  await cast?.broker.close();
});

const WAIT_MS = 15_000;

/** An XPath string literal for any text (XPath 1.0 has no escapes: concat() around quotes). */
function literal(s: string): string {
  if (!s.includes("'")) return `'${s}'`;
  return `concat('${s.split("'").join(`', "'", '`)}')`;
}

/** XPath of the form, region, list or table whose accessible name is given by aria-label. */
const named = (name: string): string => `//*[@aria-label=${literal(name)}]`;
/** XPath of the field whose <label> starts with `label` (the console wraps each field in its label). */
const field = (label: string, within = ''): string =>
  `${within}//label[normalize-space(text()[1])=${literal(label)}]//*[self::input or self::select or self::textarea] | ${within}//*[self::input or self::select or self::textarea][@aria-label=${literal(label)}]`;
const button = (name: string, within = ''): string => `${within}//button[normalize-space(.)=${literal(name)} or @aria-label=${literal(name)}]`;
const link = (name: string, within = ''): string => `${within}//a[normalize-space(.)=${literal(name)}]`;
const testId = (id: string): string => `//*[@data-testid=${literal(id)}]`;

/** The element at `xpath` once it is shown. */
async function shown(xpath: string): Promise<WebElement> {
  let last: unknown;
  const found = await driver.wait(
    async () => {
      try {
        for (const e of await driver.findElements(By.xpath(xpath))) if (await e.isDisplayed()) return e;
      } catch (e) {
        last = e; // the element went away as the page re-rendered: look again
      }
      return null;
    },
    WAIT_MS,
    `nothing shown at ${xpath}${last ? ` (${String(last)})` : ''}`,
  );
  return found as WebElement;
}

/** The text at `xpath` once it matches `want`. */
async function textOf(xpath: string, want: RegExp): Promise<string> {
  let seen = '';
  await driver.wait(
    async () => {
      try {
        seen = await (await shown(xpath)).getText();
      } catch {
        return false;
      }
      return want.test(seen);
    },
    WAIT_MS,
    `${xpath} never read ${want} (last: ${JSON.stringify(seen)})`,
  );
  return seen;
}

const click = async (xpath: string): Promise<void> => (await shown(xpath)).click();

/** Types into a field, replacing what it held. */
async function fill(xpath: string, text: string): Promise<void> {
  const e = await shown(xpath);
  await e.clear();
  if (text !== '') await e.sendKeys(text);
}

/** Picks the option whose value is `value` (an option without a value attribute: its text) in a <select>. */
async function choose(xpath: string, value: string): Promise<void> {
  const select = await shown(xpath);
  const options = await select.findElements(By.xpath(`./option[@value=${literal(value)} or (not(@value) and normalize-space(.)=${literal(value)})]`));
  assert.ok(options.length === 1, `no option ${value} in ${await select.getAttribute('outerHTML')}`);
  await options[0]!.click();
}

/**
 * The page's problems from the last load on: uncaught errors, unhandled rejections and CSP
 * violations, gathered by listeners put in after the load (WebKit's WebDriver offers no log).
 */
const COLLECT = `
  if (!window.__webkaProblems) {
    const problems = (window.__webkaProblems = []);
    window.addEventListener('error', (e) => problems.push('error: ' + e.message));
    window.addEventListener('unhandledrejection', (e) => problems.push('unhandled rejection: ' + String(e.reason)));
    document.addEventListener('securitypolicyviolation', (e) => problems.push('CSP: ' + e.violatedDirective + ' ' + e.blockedURI));
  }`;
const problems: string[] = [];

async function gather(): Promise<void> {
  problems.push(...((await driver.executeScript('return (window.__webkaProblems || []).splice(0)')) as string[]));
}

/** Loads a console URL (a full load) and starts collecting its problems. */
async function open(route: string): Promise<void> {
  await gather().catch(() => {});
  await driver.get(`${cast.url}/console${route}`);
  await driver.executeScript(COLLECT);
}

async function reload(): Promise<void> {
  await gather();
  await driver.navigate().refresh();
  await driver.executeScript(COLLECT);
}

async function signIn(key: string, route = ''): Promise<void> {
  await open(route);
  await fill(field('API key'), key);
  await click(button('Sign in'));
  await shown(testId('principal'));
}

async function signOut(): Promise<void> {
  await click(button('Sign out'));
  await shown(field('API key'));
}

async function screenshot(name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS_DIR, `webkit-${name}.png`), Buffer.from(await driver.takeScreenshot(), 'base64'));
}

const topicNames = async (): Promise<string[]> => {
  const cells = await driver.findElements(By.xpath(`${named('Topics')}//tbody/tr/td[1]`));
  return Promise.all(cells.map((c) => c.getText()));
};

describe('the console in WebKit', { skip: unavailable }, () => {
  test('GET / leads to the console; a key signs in, shows what it may see, and a reload stays signed in', async () => {
    await driver.get(cast.url);
    await driver.executeScript(COLLECT);
    assert.equal(new URL(await driver.getCurrentUrl()).pathname, '/console');
    await shown(field('API key'));
    await screenshot('sign-in');

    await signIn(cast.alice, '#/c/default/topics');
    assert.equal(await (await shown(testId('principal'))).getText(), 'alice');
    await shown(link('scores', named('Topics')));
    assert.deepEqual(await topicNames(), ['scores']);
    const stored = (await driver.executeScript('return JSON.stringify({ ...sessionStorage, ...localStorage })')) as string;
    assert.ok(!stored.includes(cast.alice), 'the API key is not stored');
    await reload();
    await shown(link('scores', named('Topics')));
    assert.equal(await (await shown(testId('principal'))).getText(), 'alice');
    await signOut();
  });

  test('the overview shows the broker', async () => {
    await signIn(cast.admin, '#/');
    await click(link('Overview'));
    await textOf(`${named('Brokers')}//tbody/tr`, /controller.*alive|alive.*controller/s);
    assert.equal(await (await shown(testId('stat-offline-partitions'))).getText(), '0');
    await screenshot('overview');
  });

  test('creating a topic from the form shows its partitions', async () => {
    await open('#/c/default/topics');
    await click(button('New topic'));
    const form = named('Create topic');
    await fill(field('Name', form), 'orders');
    await fill(field('Partitions', form), '3');
    await click(button('Create topic', form));
    await shown(named('Partitions'));
    assert.match(await driver.getCurrentUrl(), /#\/c\/default\/topics\/orders$/);
    assert.equal((await driver.findElements(By.xpath(`${named('Partitions')}//tbody/tr`))).length, 3);
    await screenshot('topic');
  });

  test('a record produced from the form shows its offset, and browsing finds and opens it', async () => {
    await open('#/c/default/topics/orders/messages');
    const form = named('Produce');
    await fill(field('Key', form), 'k1');
    await fill(field('Value (JSON, else text)', form), '{"n": 1, "tags": ["a", "b"]}');
    await fill(field('Headers (name=value a line)', form), 'source=console');
    await choose(field('Partition', form), '0');
    await click(button('Produce', form));
    await textOf(testId('produced'), /Written to partition 0 at offset 0/);

    const browse = named('Browse records');
    await choose(field('Partition', browse), '0');
    await click(button('Load', browse));
    await click(`${named('Records')}//button[@data-record='0/0']`);
    const detail = await textOf(named('Record 0/0'), /k1/);
    assert.match(detail, /source.*console/s);
    assert.match(await (await shown(`${named('Record 0/0')}//*[contains(@class, 'json')]`)).getText(), /"n": 1/);
    await screenshot('messages');
  });

  test('the live tail follows a running producer over SSE, pauses and resumes', async () => {
    await webka.admin().createTopic({ name: 'live', partitions: 3 });
    await open('#/c/default/topics/live/messages');
    await choose(field('From', named('Live tail')), 'earliest');
    await click(button('Start live tail'));
    const status = testId('tail-status');
    await textOf(status, /following/);
    const producer = webka.producer();
    const send = (from: number, n: number) => producer.send('live', Array.from({ length: n }, (_, i) => ({ key: `live-${from + i}`, value: { i: from + i } })));
    await send(0, 50);
    await textOf(status, /50 received, 50 shown/);
    await click(button('Pause'));
    await send(50, 10);
    await textOf(status, /paused, 60 received, 50 shown/);
    await click(button('Resume'));
    await textOf(status, /60 received, 60 shown/);
    await screenshot('live-tail');
    await producer.close();
    await click(button('Stop'));
    await textOf(status, /stopped/);
  });

  test('a Durable Stream is read from the start and followed live until it is closed', async () => {
    const append = async (method: string, body: string, headers: Record<string, string> = {}): Promise<void> => {
      const r = await fetch(`${cast.url}/v1/stream/chat/room-1`, { method, body, headers: { authorization: `Bearer ${cast.admin}`, 'content-type': 'application/json', ...headers } });
      assert.ok(r.ok, `${method} ${r.status} ${await r.text()}`);
    };
    await append('PUT', '');
    await append('POST', JSON.stringify([{ m: 'hi' }, { m: 'two' }]));
    await open('#/streams/chat/room-1');
    await click(button('Read', named('Read stream')));
    const entries = (list: string) => driver.findElements(By.xpath(`${named(list)}/li`)).then((els) => Promise.all(els.map((e) => e.getText())));
    await textOf(testId('read-status'), /2 shown, next offset \S+, up to date/);
    assert.deepEqual(await entries('Stream contents'), ['{"m":"hi"}', '{"m":"two"}']);

    const status = testId('follow-status');
    await click(button('Follow'));
    await textOf(status, /^following, 0 shown/);
    await append('POST', JSON.stringify([{ m: 'three' }, { m: 'four' }]));
    await textOf(status, /^following, 2 shown/);
    assert.deepEqual(await entries('Followed contents'), ['{"m":"three"}', '{"m":"four"}']);
    await append('POST', '', { 'stream-closed': 'true' });
    await textOf(status, /^closed, 2 shown/);
    await screenshot('stream');
  });

  test("a wrong key is refused with the broker's message, and no page met an error or a CSP violation", async () => {
    await signOut();
    await fill(field('API key'), 'wk_not-a-real-key');
    await click(button('Sign in'));
    await textOf('//*[@role="alert"]', /UNAUTHENTICATED/);
    await gather();
    // negative control: an inline script, which the console's CSP forbids, is reported
    await driver.executeScript("const s = document.createElement('script'); s.textContent = 'window.ran = true'; document.body.append(s);");
    await driver.wait(async () => ((await driver.executeScript('return window.__webkaProblems.length')) as number) > 0, WAIT_MS, 'the blocked inline script was not reported');
    const control = (await driver.executeScript('return window.__webkaProblems.splice(0)')) as string[];
    assert.match(control.join(' '), /^CSP: script-src/);
    assert.equal(await driver.executeScript('return window.ran === true'), false, 'the inline script did not run');
    assert.deepEqual(problems, []);
  });
});
