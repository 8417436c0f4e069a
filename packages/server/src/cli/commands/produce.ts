/**
 * `webka produce <topic>`: one record per line of stdin, through the SDK's batching idempotent
 * producer (so a retried request is never written twice). Lines are read as they come; at most
 * MAX_OUTSTANDING records wait for their answer, which bounds memory for any input size.
 * Requests are independent: a failure stops the command, but what earlier requests wrote stays
 * written, and the error says how many records that was. With --atomic, records are grouped into
 * batches of at most --batch-size bytes and each batch goes out as one request per partition,
 * each all or nothing; a bad line drops its whole batch before anything of it is sent.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { WebkaError, type ProducerRecord } from '@webka/client';
import { action, UsageError } from '../exit-codes.js';
import { connect, globals } from '../connection.js';
import { printJson } from '../output.js';
import { Progress } from '../progress.js';
import { nonNegativeInt, positiveInt } from './parse.js';
import { partitionForKey } from '@webka/protocol';

const MAX_OUTSTANDING = 50_000;

interface ProduceOptions {
  keySeparator?: string;
  valueFormat: 'json' | 'text';
  partition?: number;
  header: string[];
  batchSize: number;
  lingerMs: number;
  progress: boolean;
  atomic?: boolean;
}

export function produceCommand(program: Command): void {
  program
    .command('produce <topic>')
    .description('Produce records from stdin, one per line')
    .option('-K, --key-separator <sep>', 'split each line at the first <sep> into key and value')
    .option('--value-format <format>', 'text (the line as it is) or json (each value must be valid JSON)', 'text')
    .option('-p, --partition <n>', 'write every record to this partition', nonNegativeInt)
    .option('-H, --header <key=value>', 'add a header to every record (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--batch-size <bytes>', 'most bytes per request', positiveInt, 1024 * 1024)
    .option('--linger-ms <ms>', 'how long a record waits for its batch to fill', nonNegativeInt, 10)
    .option('--no-progress', 'no progress bar on stderr')
    .option('--atomic', 'one request per partition per batch, each all or nothing; a bad line drops its whole batch')
    .addHelpText(
      'after',
      '\nEmpty lines are skipped; a trailing \\r is removed. Records go out in batches: when one fails, earlier\nbatches stay written (the error says how many records); --atomic makes each partition\'s share of a\nbatch all or nothing.\n\nExamples:\n  seq 1 100000 | webka produce numbers\n  webka produce orders -K : < orders.txt          # customer-1:{"total":42}\n  echo \'{"a":1}\' | webka produce events --value-format json -H source=cli\n  webka produce logs --json < app.log               # prints a JSON summary',
    )
    .action(action(produce));
}

async function produce(topic: string, o: ProduceOptions, cmd: Command): Promise<void> {
  if (o.valueFormat !== 'json' && o.valueFormat !== 'text') throw new UsageError(`--value-format must be json or text, got ${o.valueFormat}`);
  if (o.keySeparator === '') throw new UsageError('--key-separator cannot be empty');
  const headers: Record<string, string> = {};
  for (const h of o.header) {
    const i = h.indexOf('=');
    if (i <= 0) throw new UsageError(`--header "${h}" must be key=value`);
    headers[h.slice(0, i)] = h.slice(i + 1);
  }
  const hasHeaders = o.header.length > 0;
  const webka = connect(cmd);
  if (o.atomic === true) return produceAtomic(topic, o, headers, cmd);
  const producer = webka.producer({ valueFormat: o.valueFormat, batchSize: o.batchSize, lingerMs: o.lingerMs, flushOnPageHide: false });
  let size: number | undefined;
  try {
    const st = fs.fstatSync(0);
    if (st.isFile()) size = st.size;
  } catch {
    // stdin is closed or not a file: no total
  }
  const progress = new Progress(size, process.stderr, o.progress && process.stderr.isTTY === true);

  let lineNo = 0;
  let bytes = 0;
  let produced = 0;
  let outstanding = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const byPartition = new Map<number, number>();
  const settle = (): void => {
    outstanding--;
    if (wake !== undefined && (outstanding < MAX_OUTSTANDING / 2 || failure !== undefined)) {
      wake();
      wake = undefined;
    }
  };

  const emit = (line: string): void => {
    lineNo++;
    const rec = parseLine(line, lineNo, o, hasHeaders ? headers : undefined);
    if (rec === undefined) return;
    outstanding++;
    producer.send(topic, rec).then(
      (m) => {
        produced++;
        byPartition.set(m.partition, (byPartition.get(m.partition) ?? 0) + 1);
        settle();
      },
      (err: unknown) => {
        failure ??= err;
        settle();
      },
    );
  };

  let rest = '';
  process.stdin.setEncoding('utf8');
  try {
    for await (const chunk of process.stdin as AsyncIterable<string>) {
      bytes += Buffer.byteLength(chunk);
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const l of lines) emit(l);
      progress.update(produced, bytes);
      if (failure !== undefined) break;
      if (outstanding >= MAX_OUTSTANDING) await new Promise<void>((r) => (wake = r));
      if (failure !== undefined) break;
    }
    if (failure === undefined && rest.length > 0) emit(rest);
  } catch (err) {
    failure ??= err;
  } finally {
    await producer.close().catch(() => undefined);
    progress.finish(produced, bytes);
  }
  if (failure !== undefined) throw withWritten(failure, produced, '');
  const summary = { topic, records: produced, partitions: Object.fromEntries([...byPartition].sort((a, b) => a[0] - b[0])) };
  if (globals(cmd).json === true) printJson(summary);
  else if (process.stderr.isTTY === true) process.stderr.write(`produced ${produced} records to ${topic}\n`);
}

/** One stdin line as a record; undefined for an empty line. */
function parseLine(line: string, lineNo: number, o: ProduceOptions, headers: Record<string, string> | undefined): ProducerRecord | undefined {
  if (line.endsWith('\r')) line = line.slice(0, -1);
  if (line.length === 0) return undefined;
  let key: string | undefined;
  let text = line;
  if (o.keySeparator !== undefined) {
    const i = line.indexOf(o.keySeparator);
    if (i >= 0) {
      key = line.slice(0, i);
      text = line.slice(i + o.keySeparator.length);
    }
  }
  let value: unknown = text;
  if (o.valueFormat === 'json') {
    try {
      value = JSON.parse(text);
    } catch {
      throw new UsageError(`line ${lineNo}: the value is not valid JSON (use --value-format text to send lines as they are)`);
    }
  }
  return { key, value, partition: o.partition, headers };
}

/** The same error, its message saying how many records were written before it (and what was not). */
function withWritten(err: unknown, written: number, notWritten: string): unknown {
  const note = ` (${written} record${written === 1 ? '' : 's'} written before the error${notWritten})`;
  if (err instanceof UsageError) return new UsageError(err.message + note);
  if (err instanceof WebkaError) return new WebkaError(err.code, err.message + note, { status: err.status, retriable: err.retriable, details: { ...err.details, written }, cause: err });
  return new Error((err as Error).message + note, { cause: err });
}

/**
 * --atomic: batches of at most batchSize bytes of records; each batch is sent as one request per
 * partition (keyed records placed by murmur2 as the broker would, keyless ones in a request of
 * their own that the broker puts on one partition), one after another. A broker's answer is all
 * or nothing per request, so a failure leaves whole requests written or not.
 */
async function produceAtomic(topic: string, o: ProduceOptions, headers: Record<string, string>, cmd: Command): Promise<void> {
  const webka = connect(cmd);
  const partitions = (await webka.admin().describeTopic(topic)).partitions;
  const path = `/v1/clusters/${encodeURIComponent(webka.cluster)}/topics/${encodeURIComponent(topic)}/records`;
  const encoder = new TextEncoder();
  const hasHeaders = o.header.length > 0;
  let batch = new Map<number | 'any', ProducerRecord[]>();
  let batchBytes = 0;
  let batchFirstLine = 0;
  let lineNo = 0;
  let produced = 0;
  let requests = 0;
  let sending = false;
  const byPartition = new Map<number, number>();
  const flush = async (): Promise<void> => {
    const groups = [...batch];
    batch = new Map();
    batchBytes = 0;
    sending = true;
    for (const [, records] of groups) {
      const body = { records, valueFormat: o.valueFormat };
      const answer = await webka.http.json<{ records: Array<{ partition: number }> }>('POST', path, { body });
      requests++;
      produced += answer.records.length;
      for (const r of answer.records) byPartition.set(r.partition, (byPartition.get(r.partition) ?? 0) + 1);
    }
    sending = false;
  };
  const add = async (line: string): Promise<void> => {
    lineNo++;
    const rec = parseLine(line, lineNo, o, hasHeaders ? headers : undefined);
    if (rec === undefined) return;
    const size = Buffer.byteLength(line) + 64;
    if (batchBytes > 0 && batchBytes + size > o.batchSize) await flush();
    if (batchBytes === 0) batchFirstLine = lineNo;
    const p = rec.partition ?? (rec.key === undefined || rec.key === null ? 'any' : partitionForKey(encoder.encode(rec.key), partitions));
    if (typeof p === 'number') rec.partition = p;
    const list = batch.get(p);
    if (list === undefined) batch.set(p, [rec]);
    else list.push(rec);
    batchBytes += size;
  };
  let rest = '';
  process.stdin.setEncoding('utf8');
  try {
    for await (const chunk of process.stdin as AsyncIterable<string>) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const l of lines) await add(l);
    }
    if (rest.length > 0) await add(rest);
    await flush();
  } catch (err) {
    const what = sending ? `; the failed request, for one partition of the batch from line ${batchFirstLine}, wrote nothing` : `; nothing from line ${batchFirstLine} on was sent`;
    throw withWritten(err, produced, what);
  }
  const summary = { topic, records: produced, requests, partitions: Object.fromEntries([...byPartition].sort((a, b) => a[0] - b[0])) };
  if (globals(cmd).json === true) printJson(summary);
  else if (process.stderr.isTTY === true) process.stderr.write(`produced ${produced} records to ${topic} in ${requests} requests\n`);
}
