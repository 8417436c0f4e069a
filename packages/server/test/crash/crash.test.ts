/**
 * Crash test: a broker child process (the real CLI) under concurrent acks=all produce load is
 * killed with SIGKILL at random moments and restarted on the same data directory. After every
 * restart the checker reads every partition back and compares it with what the producers were
 * told: every acknowledged record is there at its offset, partitions have no gap, each producer's
 * records are in order, nothing refused (4xx/5xx) appears, and the idempotent producers, which
 * retry across the crash with the same sequence, have no duplicate.
 *
 * Negative control: with WEBKA_DEBUG_ACK_FROM_MEMORY=1 the broker acknowledges before the batch
 * is even written, and the same checker must report loss.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startCliBroker, type CliBroker } from '../support/cli-broker.js';
import { tempDir } from '../support/start-broker.js';

const TOPIC = 'crash';
const PARTITIONS = 3;
const MAX_MESSAGE_BYTES = 2048;
const TP = `/v1/clusters/default/topics/${TOPIC}`;

const seed = Number(process.env.WEBKA_CRASH_SEED ?? Date.now() % 1_000_000);
let state = seed;
/** A small seeded PRNG (mulberry32) so a failing run can be repeated with WEBKA_CRASH_SEED. */
function random(): number {
  state = (state + 0x6d2b79f5) | 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));

const live: CliBroker[] = [];
const dirs: string[] = [];
/** Set once the file is done: a scenario still running (its test timed out) must start nothing more. */
let finished = false;
const REQUEST_TIMEOUT_MS = 30_000;

function killAll(): void {
  for (const b of live) if (b.child.exitCode === null && b.child.signalCode === null) b.child.kill('SIGKILL');
}

async function launch(args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<CliBroker> {
  if (finished || signal.aborted) throw new Error('the crash test was stopped');
  const b = await startCliBroker(args, env);
  live.push(b);
  if (finished || signal.aborted) {
    killAll();
    throw new Error('the crash test was stopped');
  }
  return b;
}

after(() => {
  finished = true;
  killAll();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Placed {
  partition: number;
  offset: number;
}

/** What the producers know: per record id, acknowledged where, refused, or unknown. */
class Ledger {
  acked = new Map<string, Placed>();
  refused = new Set<string>();
  /** Sent, but the connection died before an answer: may or may not be in the log. */
  uncertain = new Set<string>();
  /** Idempotent requests re-sent after a crash, and how many of those had been written before it. */
  retries = 0;
}

interface Producer {
  name: string;
  idempotent: boolean;
  producerId?: number;
  producerEpoch?: number;
  sequence: number;
  n: number;
  /** An idempotent request whose answer was lost in a crash: re-sent, same sequence, first. */
  pending?: { body: any; ids: string[] };
}

function isConnectionError(err: unknown): boolean {
  return err instanceof TypeError || (err as Error).name === 'AbortError' || /ECONN|socket|fetch failed|terminated/i.test(String((err as Error).message ?? err));
}

async function send(url: string, body: any, ids: string[], ledger: Ledger, idempotent: boolean): Promise<'ok' | 'refused' | 'dead'> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${url}${TP}/records?acks=all`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      // a broker that never answers is a failure of its own, not a crash to retry
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    text = await res.text();
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    for (const id of ids) ledger.uncertain.add(id);
    return 'dead';
  }
  if (res.status === 200) {
    const answer = JSON.parse(text) as { records: Placed[] };
    ids.forEach((id, i) => {
      const placed = { partition: answer.records[i].partition, offset: answer.records[i].offset };
      const before = ledger.acked.get(id);
      // an idempotent retry must be answered with the offsets of the first attempt
      if (before !== undefined) assert.deepEqual(placed, before, `record ${id} acknowledged twice at different places`);
      ledger.acked.set(id, placed);
      ledger.uncertain.delete(id);
    });
    return 'ok';
  }
  if (idempotent && res.status >= 500) {
    // a retriable failure: the idempotent producer will retry the same sequence
    for (const id of ids) ledger.uncertain.add(id);
    return 'dead';
  }
  for (const id of ids) {
    assert.equal(ledger.acked.has(id), false, `record ${id} was acknowledged, then refused: ${res.status} ${text}`);
    ledger.refused.add(id);
    ledger.uncertain.delete(id);
  }
  return 'refused';
}

/** One producer's loop until the broker dies. Plain producers sometimes send a request that must be refused. */
async function runProducer(p: Producer, url: string, ledger: Ledger, stop: { dead: boolean }): Promise<void> {
  if (p.pending !== undefined) {
    const r = await send(url, p.pending.body, p.pending.ids, ledger, true);
    if (r === 'dead') return;
    assert.equal(r, 'ok', `retry of ${p.name} sequence ${p.pending.body.sequence} was refused`);
    p.pending = undefined;
  }
  while (!stop.dead) {
    const count = between(1, 6);
    const ids: string[] = [];
    const records: any[] = [];
    for (let i = 0; i < count; i++) {
      const id = `${p.name}-${p.n++}`;
      ids.push(id);
      const r: any = { value: { id, pad: 'x'.repeat(between(0, 200)) } };
      if (random() < 0.5) r.key = `key-${between(0, 50)}`;
      records.push(r);
    }
    if (p.idempotent) {
      const body = { producerId: p.producerId, producerEpoch: p.producerEpoch, sequence: p.sequence, records };
      const r = await send(url, body, ids, ledger, true);
      if (r === 'dead') {
        p.pending = { body, ids };
        return;
      }
      assert.equal(r, 'ok', `${p.name} sequence ${p.sequence} was refused`);
      p.sequence++;
    } else {
      const poison = random() < 0.1;
      if (poison) {
        // a record too large (or a partition that does not exist) refuses the whole request
        if (random() < 0.5) records[between(0, count - 1)].value.pad = 'y'.repeat(MAX_MESSAGE_BYTES);
        else records[between(0, count - 1)].partition = PARTITIONS + 1;
      }
      const r = await send(url, { records }, ids, ledger, false);
      if (r === 'dead') return;
      assert.equal(r, poison ? 'refused' : 'ok', `${p.name}: unexpected ${r}`);
    }
  }
}

async function readAll(url: string, partition: number): Promise<Array<{ offset: number; id: string }>> {
  const out: Array<{ offset: number; id: string }> = [];
  let offset = 0;
  for (;;) {
    const res = await fetch(`${url}${TP}/partitions/${partition}/records?offset=${offset}&maxRecords=10000&maxBytes=16000000`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = (await res.json()) as any;
    assert.equal(res.status, 200, JSON.stringify(body));
    for (const r of body.records) out.push({ offset: r.offset, id: r.value.id });
    if (body.nextOffset >= body.highWatermark) return out;
    offset = body.nextOffset;
  }
}

/** Compares the log with the ledger; returns the problems found (empty when all is well). */
async function check(url: string, ledger: Ledger): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Map<string, Placed>();
  for (let p = 0; p < PARTITIONS; p++) {
    const records = await readAll(url, p);
    const lastN = new Map<string, number>();
    records.forEach((r, i) => {
      if (r.offset !== i) problems.push(`partition ${p}: offset ${r.offset} at position ${i} (a gap)`);
      if (seen.has(r.id)) problems.push(`duplicate: ${r.id} at ${p}/${r.offset} and ${seen.get(r.id)!.partition}/${seen.get(r.id)!.offset}`);
      seen.set(r.id, { partition: p, offset: r.offset });
      if (ledger.refused.has(r.id)) problems.push(`refused record ${r.id} is in the log at ${p}/${r.offset}`);
      const [producer, n] = [r.id.slice(0, r.id.lastIndexOf('-')), Number(r.id.slice(r.id.lastIndexOf('-') + 1))];
      if ((lastN.get(producer) ?? -1) >= n) problems.push(`partition ${p}: ${r.id} after ${producer}-${lastN.get(producer)} (out of order)`);
      lastN.set(producer, n);
    });
  }
  for (const [id, placed] of ledger.acked) {
    const found = seen.get(id);
    if (found === undefined) problems.push(`lost: ${id} was acknowledged at ${placed.partition}/${placed.offset}`);
    else if (found.partition !== placed.partition || found.offset !== placed.offset) {
      problems.push(`moved: ${id} acknowledged at ${placed.partition}/${placed.offset}, found at ${found.partition}/${found.offset}`);
    }
  }
  for (const id of seen.keys()) {
    if (!ledger.acked.has(id) && !ledger.uncertain.has(id) && !ledger.refused.has(id)) problems.push(`unknown record ${id} in the log`);
  }
  return problems;
}

async function post(url: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const json = await res.json();
  assert.ok(res.status < 300, JSON.stringify(json));
  return json;
}

/**
 * Runs `kills` crash cycles on a fresh data directory. Returns every problem the checker found
 * (prefixed by the cycle) and the number of records acknowledged.
 */
async function scenario(
  kills: number,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<{ problems: string[]; acked: number; cycles: number; refused: number; uncertain: number; retries: number }> {
  const dataDir = tempDir('webka-crash-');
  dirs.push(dataDir);
  const args = ['--port', '0', '--data-dir', dataDir, '--log-level', 'info'];
  const ledger = new Ledger();
  const problems: string[] = [];
  let broker = await launch(args, env, signal);
  await post(broker.url, '/v1/clusters/default/topics', { name: TOPIC, partitions: PARTITIONS, configs: { 'max.message.bytes': MAX_MESSAGE_BYTES, 'segment.bytes': 64 * 1024 } });
  const producers: Producer[] = [];
  for (let i = 0; i < 3; i++) producers.push({ name: `plain${i}`, idempotent: false, sequence: 0, n: 0 });
  for (let i = 0; i < 3; i++) {
    const id = await post(broker.url, '/v1/clusters/default/producers', {});
    producers.push({ name: `idem${i}`, idempotent: true, producerId: id.producerId, producerEpoch: id.producerEpoch, sequence: 0, n: 0 });
  }
  let cycles = 0;
  for (let k = 0; k < kills && !signal.aborted; k++) {
    const stop = { dead: false };
    const loops = producers.map((p) => runProducer(p, broker.url, ledger, stop));
    await new Promise((r) => setTimeout(r, between(30, 300)));
    broker.child.kill('SIGKILL');
    stop.dead = true;
    await broker.exited;
    await Promise.all(loops);
    cycles++;
    broker = await launch(args, env, signal);
    // idempotent producers retry what the crash left unanswered before anything is checked
    for (const p of producers) {
      if (p.pending === undefined) continue;
      ledger.retries++;
      const r = await send(broker.url, p.pending.body, p.pending.ids, ledger, true);
      if (r !== 'ok') problems.push(`cycle ${k}: retry of ${p.name} sequence ${p.pending.body.sequence} answered ${r}`);
      else {
        p.pending = undefined;
        p.sequence++;
      }
    }
    for (const problem of await check(broker.url, ledger)) problems.push(`cycle ${k}: ${problem}`);
    if (problems.length > 0 && env.WEBKA_DEBUG_ACK_FROM_MEMORY === '1') break;
  }
  broker.child.kill('SIGTERM');
  assert.equal(await broker.exited, 0);
  return { problems, acked: ledger.acked.size, cycles, refused: ledger.refused.size, uncertain: ledger.uncertain.size, retries: ledger.retries };
}

test(`SIGKILL under acks=all load loses nothing acknowledged (seed ${seed})`, { timeout: 240_000 }, async (t) => {
  const started = Date.now();
  const { problems, acked, cycles, refused, uncertain, retries } = await scenario(20, {}, t.signal);
  console.log(
    `crash test: seed ${seed}, ${cycles} kills, ${acked} records acknowledged, ${refused} refused, ${uncertain} unanswered (plain producers), ` +
      `${retries} idempotent requests retried across a crash, ${Date.now() - started} ms`,
  );
  assert.ok(cycles >= 20);
  assert.ok(acked > cycles * 10, `too little load to mean anything: ${acked} records acknowledged`);
  assert.ok(retries > 0, 'no idempotent request was cut by a crash: the retry path went untested');
  assert.ok(refused > 0, 'no request was refused: the "nothing refused appears" check went untested');
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems (seed ${seed})`);
});

test('negative control: acknowledging from memory makes the checker report loss', { timeout: 60_000 }, async (t) => {
  const { problems, cycles } = await scenario(6, { WEBKA_DEBUG_ACK_FROM_MEMORY: '1' }, t.signal);
  console.log(`negative control: ${cycles} kills, ${problems.length} problems, first: ${problems[0]}`);
  assert.ok(problems.some((p) => /lost|moved/.test(p)), `the checker saw no loss in ${cycles} kills with acks from memory`);
});
