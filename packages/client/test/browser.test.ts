/**
 * The SDK in a real browser: headless Chromium (a system Chromium, or the one the
 * @sparticuz/chromium dev dependency ships; see support/chromium.ts) loads the SDK bundled by
 * esbuild from a page on another origin (so CORS is on the path), produces, consumes a group
 * through SSE, and carries on after the broker restarts; and a page that is closed with records
 * still queued hands them over with fetch keepalive; the prebuilt bundle (dist/webka.browser.js)
 * loads as is, and a broker that refuses the page's origin is reported naming corsOrigins. Where no Chromium can be had (a platform the
 * npm package does not cover), the tests skip and print why.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import { Webka } from '../src/index.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { chromiumUnavailable, launchChromium, type LaunchedChromium } from './support/chromium.js';

const ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/index.ts');
/** The prebuilt bundle the package ships (npm run build makes it). */
const PREBUILT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/webka.browser.js');

let broker: TestBroker;
let site: http.Server;
let siteUrl: string;
let browser: LaunchedChromium | undefined;
let context: BrowserContext;
let page: Page;

async function serveBundle(): Promise<void> {
  const bundle = await build({ entryPoints: [ENTRY], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
  const js = bundle.outputFiles[0].text;
  site = http.createServer((req, res) => {
    if (req.url === '/webka.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else if (req.url === '/webka.browser.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(fs.readFileSync(PREBUILT));
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>webka sdk</title>');
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
}

const unavailable = chromiumUnavailable();
if (unavailable !== undefined) console.log(`# browser tests skipped: ${unavailable}`);

before(async () => {
  if (unavailable !== undefined) return;
  broker = await startTestBroker({ corsOrigins: '*' });
  await serveBundle();
  browser = await launchChromium();
  ({ context, page } = browser);
  await page.goto(siteUrl);
});

after(async () => {
  await browser?.close();
  if (site !== undefined) await new Promise((r) => site.close(r));
  await broker?.close();
});

describe('the SDK in Chromium', { skip: unavailable }, () => {
  test('produces, consumes a group through SSE, and resumes after the broker restarts', async () => {
    await new Webka({ url: broker.url }).admin().createTopic({ name: 'browser', partitions: 2 });
    const produced = await page.evaluate(async (url) => {
      const { Webka } = await import('/webka.js' as string);
      const webka = new Webka({ url });
      const w = window as unknown as Record<string, unknown>;
      w.webka = webka;
      w.producer = webka.producer({ lingerMs: 5, retryBackoffMs: 50, retryBackoffMaxMs: 300 });
      const meta = await (w.producer as { send(t: string, r: unknown[]): Promise<{ offset: number }[]> }).send(
        'browser',
        Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: { n: i } })),
      );
      // Consume in the background; the test reads window.seen.
      const seen: number[] = [];
      w.seen = seen;
      const consumer = webka.consumer({ groupId: 'browser-group', topics: 'browser', transport: 'sse', autoOffsetReset: 'earliest', retryBackoffMs: 50, retryBackoffMaxMs: 300, autoCommitIntervalMs: 100 });
      w.consumer = consumer;
      w.consuming = (async () => {
        for await (const r of consumer) seen.push((r.value as { n: number }).n);
      })().catch((e: Error) => (w.consumeError = `${e.name}: ${e.message}`));
      return meta.length;
    }, broker.url);
    assert.equal(produced, 100);
    await page.waitForFunction(() => (window as unknown as { seen: number[] }).seen.length >= 100, undefined, { timeout: 15_000 });

    // The broker goes away under the open stream and comes back on the same URL.
    await broker.restart();
    const more = await page.evaluate(async () => {
      const w = window as unknown as { producer: { send(t: string, r: unknown[]): Promise<unknown[]> } };
      return (await w.producer.send('browser', Array.from({ length: 100 }, (_, i) => ({ value: { n: 100 + i } })))).length;
    });
    assert.equal(more, 100);
    await page.waitForFunction(() => (window as unknown as { seen: number[] }).seen.length >= 200, undefined, { timeout: 20_000 });
    const result = await page.evaluate(async () => {
      const w = window as unknown as { seen: number[]; consumer: { close(): Promise<void> }; consuming: Promise<void>; consumeError?: string };
      await w.consumer.close();
      await w.consuming;
      return { seen: w.seen, error: w.consumeError };
    });
    assert.equal(result.error, undefined);
    assert.deepEqual([...result.seen].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i), 'every record exactly once');
  });

  /** Queues 50 records in a page that then closes; answers how many the broker got. */
  async function queueAndClose(topic: string, flushOnPageHide: boolean): Promise<number> {
    const admin = new Webka({ url: broker.url }).admin();
    await admin.createTopic({ name: topic, partitions: 1 });
    const other = await context.newPage();
    await other.goto(siteUrl);
    await other.evaluate(
      async ([url, t, flush]) => {
        const { Webka } = await import('/webka.js' as string);
        // A linger far longer than the page lives: only the page-hide flush can send these.
        const producer = new Webka({ url }).producer({ lingerMs: 600_000, flushOnPageHide: flush });
        for (let i = 0; i < 50; i++) void producer.send(t, { value: { i, pad: 'x'.repeat(100) } }).catch(() => undefined);
      },
      [broker.url, topic, flushOnPageHide] as const,
    );
    await other.close({ runBeforeUnload: true });
    let total = 0;
    for (let i = 0; i < 20 && total < 50; i++) {
      total = (await admin.describeTopic(topic)).partitionInfo[0].highWatermark;
      if (total < 50) await new Promise((r) => setTimeout(r, 50));
    }
    return total;
  }

  test('records still queued when the page goes away are sent with fetch keepalive', async () => {
    assert.equal(await queueAndClose('unload', true), 50);
    // Negative control: without the page-hide flush the same records are lost with the page.
    assert.equal(await queueAndClose('unload-control', false), 0);
  });

  test('the prebuilt bundle loads without a bundler; a broker that refuses the origin is reported naming corsOrigins', async () => {
    const closed = await startTestBroker(); // corsOrigins: none, the default
    try {
      const outcome = await page.evaluate(async (url) => {
        const { Webka } = await import('/webka.browser.js' as string);
        const consumer = new Webka({ url }).consumer({ groupId: 'g', topics: 't', retryBackoffMs: 50, retryBackoffMaxMs: 200, retryBudgetMs: 1_000 });
        try {
          for await (const _ of consumer) return 'got a record';
          return 'ended';
        } catch (e) {
          return `${(e as { code: string }).code}: ${(e as Error).message}`;
        } finally {
          await consumer.close();
        }
      }, closed.url);
      assert.match(outcome, /^NETWORK_ERROR: /);
      assert.match(outcome, /corsOrigins/);
      assert.ok(outcome.includes(siteUrl), `names the page's origin: ${outcome}`);
    } finally {
      await closed.close();
    }
  });
});
