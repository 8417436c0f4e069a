/**
 * The web console (issue targets): the first page's bundle size, gzipped as served (page, script
 * and style sheet; <= 250 KB), and the time from opening the Topics page in headless Chromium to
 * the list of 1,000 topics shown (<= 1 s), on a broker in a child process with auth off; and the
 * Messages page's live tail fed 1,000 records/s for --tail-seconds (60 s by default): the share
 * of the time the page's main thread was idle (1 - the growth of Chrome's TaskDuration metric over
 * the wall time, CDP Performance.getMetrics; target >= 50 %), and the JS heap after a forced GC
 * once the row cap is full (after the first 10 % of the run) and at the end (flat: within 5 MB).
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startBroker } from './lib/children.js';
import { summarize } from './lib/measure.js';
import type { BenchContext, BenchRow } from './lib/types.js';
import type { BrowserContext } from 'playwright-core';
import { chromiumUnavailable, launchChromium } from '../packages/client/test/support/chromium.js';

const TOPICS = 1000;

function firstPageGzipBytes(root: string): number {
  const dist = path.join(root, 'packages/console/dist');
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  const assets = [...html.matchAll(/(?:src|href)="\/console\/(assets\/[^"]+)"/g)].map((m) => m[1]);
  return ['index.html', ...assets].reduce((sum, f) => sum + fs.statSync(path.join(dist, f + '.gz')).size, 0);
}

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const kb = firstPageGzipBytes(ctx.root) / 1024;
  const rows: BenchRow[] = [{ name: 'console: first page, gzipped (page + script + styles)', value: kb, unit: 'KB', target: '<= 250 KB', met: kb <= 250 }];
  const unavailable = chromiumUnavailable();
  if (unavailable !== undefined) {
    ctx.note(`console: time to interactive not measured: ${unavailable}`);
    return rows;
  }
  const broker = await startBroker(ctx, { auth: 'false' });
  const url = `http://127.0.0.1:${broker.port}`;
  const count = ctx.quick ? 100 : TOPICS;
  ctx.log(`creating ${count} topics`);
  for (let i = 0; i < count; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, count - i) }, async (_, j) => {
        const res = await fetch(`${url}/v1/clusters/default/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `t-${i + j}`, partitions: 1 }) });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`creating topic t-${i + j} answered ${res.status}`);
      }),
    );
  }
  const browser = await launchChromium();
  ctx.onCleanup(() => browser.close());
  const shown = `${count.toLocaleString('en-US')} topics`;
  const runs: number[] = [];
  for (let t = 0; t < ctx.trials + 1; t++) {
    // a fresh page each time; the first trial warms the broker and the browser's cache and is dropped
    const page = await browser.context.newPage();
    const start = performance.now();
    await page.goto(`${url}/console#/c/default/topics`);
    await page.getByTestId('topic-count').filter({ hasText: shown }).waitFor();
    await page.getByRole('table', { name: 'Topics' }).locator('tbody tr').first().waitFor();
    if (t > 0) runs.push(performance.now() - start);
    await page.close();
  }
  const s = summarize(runs, 'lower');
  rows.push({ name: `console: Topics page shown with ${count} topics (load to list)`, value: s.value, unit: 'ms', target: '<= 1000 ms', met: s.value <= 1000, spread: s.spread, trials: s.trials });
  rows.push(...(await liveTail(ctx, url, browser.context)));
  return rows;
}

const RATE = 1000;
const TICK_MS = 100;

async function liveTail(ctx: BenchContext, url: string, context: BrowserContext): Promise<BenchRow[]> {
  const seconds = ctx.tailSeconds;
  const res = await fetch(`${url}/v1/clusters/default/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'tail', partitions: 1 }) });
  if (!res.ok) throw new Error(`creating topic tail answered ${res.status}: ${await res.text()}`);
  const page = await context.newPage();
  await page.goto(`${url}/console#/c/default/topics/tail/messages`);
  await page.getByRole('button', { name: 'Start live tail' }).click();
  const status = page.getByTestId('tail-status');
  await status.filter({ hasText: 'following' }).waitFor();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async (): Promise<Record<string, number>> => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  const heapAfterGc = async (): Promise<number> => {
    await cdp.send('HeapProfiler.collectGarbage');
    return (await metrics()).JSHeapUsedSize / 2 ** 20;
  };
  ctx.log(`live tail: ${RATE} records/s for ${seconds} s`);
  const heapStart = await heapAfterGc();
  const perTick = (RATE * TICK_MS) / 1000;
  const ticks = Math.round((seconds * 1000) / TICK_MS);
  const warmTicks = Math.max(1, Math.round(ticks / 10));
  let sent = 0;
  let heapWarm = 0;
  let before: Record<string, number> = {};
  let wallStart = 0;
  const t0 = performance.now();
  for (let t = 0; t < ticks; t++) {
    if (t === warmTicks) {
      heapWarm = await heapAfterGc();
      before = await metrics();
      wallStart = performance.now();
    }
    const records = Array.from({ length: perTick }, (_, i) => ({ key: `k-${(sent + i) % 100}`, value: { n: sent + i, at: Date.now(), text: 'a live-tail record of some ordinary size' } }));
    const r = await fetch(`${url}/v1/clusters/default/topics/tail/records?acks=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ records }) });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`produce answered ${r.status}`);
    sent += perTick;
    const wait = t0 + (t + 1) * TICK_MS - performance.now();
    if (wait > 0) await new Promise((ok) => setTimeout(ok, wait));
  }
  const after = await metrics();
  const wall = (performance.now() - wallStart) / 1000;
  const busy = after.TaskDuration - before.TaskDuration;
  const idle = Math.max(0, 1 - busy / wall) * 100;
  const achieved = sent / ((performance.now() - t0) / 1000);
  const text = async () => (await status.textContent()) ?? '';
  const deadline = performance.now() + 10_000;
  while (!(await text()).includes(`${sent.toLocaleString('en-US')} received`) && !(await text()).includes(`${sent} received`) && performance.now() < deadline) await new Promise((ok) => setTimeout(ok, 100));
  const received = await text();
  const heapEnd = await heapAfterGc();
  await cdp.detach();
  await page.close();
  ctx.note(`console live tail: ${sent} records sent at ${Math.round(achieved)}/s; the page says "${received}"; heap ${heapStart.toFixed(1)} MB before, ${heapWarm.toFixed(1)} MB with the row cap full, ${heapEnd.toFixed(1)} MB at the end (after a GC each)`);
  const growth = heapEnd - heapWarm;
  return [
    { name: `console: live tail at ${RATE} records/s for ${seconds} s, main thread idle`, value: idle, unit: '%', target: '>= 50 %', met: idle >= 50 },
    { name: `console: live tail, JS heap growth from cap full to end (${heapWarm.toFixed(1)} -> ${heapEnd.toFixed(1)} MB)`, value: growth, unit: 'MB', target: '<= 5 MB (flat)', met: growth <= 5 },
  ];
}
