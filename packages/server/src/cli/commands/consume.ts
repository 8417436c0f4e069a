/**
 * `webka consume <topic>`: one partition (--partition), every partition merged (neither), or a
 * group (--group), printed with a template (--format) or as JSON lines (--json). Without --follow
 * it stops at the end: a partition at the high watermark it finds; a group once every assigned
 * partition has reached the high watermarks seen at the start, or when nothing arrived for
 * --idle-ms. `-o -<n>` starts each partition n records before its high watermark (kcat's -o -n).
 */
import type { Command } from 'commander';
import type { ConsumerRecord, PartitionInfo, StartPosition, Webka } from '@webka/client';
import { action, UsageError } from '../exit-codes.js';
import { connect, globals } from '../connection.js';
import { compileFormat } from '../record-format.js';
import { nonNegativeInt, parsePosition, positiveInt, type Position } from './parse.js';

interface ConsumeOptions {
  partition?: number;
  group?: string;
  from?: Position;
  fromBeginning?: boolean;
  follow?: boolean;
  format?: string;
  maxRecords?: number;
  transport: string;
  idleMs: number;
  valueFormat?: string;
  match?: string;
  matchIn?: string;
}

export function consumeCommand(program: Command): void {
  program
    .command('consume <topic>')
    .description('Print records of one partition, of every partition merged, or of a consumer group')
    .option('-p, --partition <n>', 'read only this partition (no group; without -p and -g: every partition, merged)', nonNegativeInt)
    .option('-g, --group <group>', 'read as a member of this consumer group, committing as it goes')
    .option('-o, --from <position>', 'where to start: beginning, end, an offset, -<n> (the last n of each partition), @<ms since epoch> or an ISO time (a group: beginning or end, for partitions without a committed offset)', parsePosition)
    .option('--from-beginning', 'same as --from beginning')
    .option('-f, --follow', 'keep waiting for new records (stop with Ctrl-C)')
    .option('-F, --format <template>', 'output template: %t topic, %p partition, %o offset, %T timestamp, %k key, %s value, %K/%S key/value length, %h headers, %%, \\n \\t', '%s\\n')
    .option('-n, --max-records <n>', 'stop after this many records', positiveInt)
    .option('--transport <transport>', 'sse or long-poll', 'long-poll')
    .option('--idle-ms <ms>', 'without --follow, a group stops when no record arrived for this long', nonNegativeInt, 3_000)
    .option('--value-format <format>', 'how values are shown: text (the template\'s default; JSON values as their text), json, binary (base64); with --json, as produced unless given')
    .option('--match <text>', 'only records whose key, value or headers contain this text, ignoring case; the broker searches (no group; long-poll transport)')
    .option('--match-in <where>', 'where --match looks: key, value, headers or any (default any)')
    .addHelpText(
      'after',
      '\nExamples:\n  webka consume orders                            # every partition, merged, from the beginning\n  webka consume orders -o -2                      # the last two records of each partition\n  webka consume orders --partition 0 --from-beginning\n  webka consume orders -p 0 -o 1200 -n 10 --format \'%o\\t%k\\t%s\\n\'\n  webka consume orders -p 2 --from 2026-01-31T00:00:00Z --follow\n  webka consume orders --group billing --from beginning --follow --json\n  webka consume orders --match customer-42 --match-in key   # searched by the broker',
    )
    .action(action(consume));
}

async function consume(topic: string, o: ConsumeOptions, cmd: Command): Promise<void> {
  const json = globals(cmd).json === true;
  if (o.partition !== undefined && o.group !== undefined) throw new UsageError('give --partition or --group, not both');
  if (o.transport !== 'sse' && o.transport !== 'long-poll') throw new UsageError('--transport must be sse or long-poll');
  if (o.matchIn !== undefined && o.match === undefined) throw new UsageError('--match-in goes with --match (the text to search for)');
  const match = o.match === undefined ? {} : { match: o.match, matchIn: (o.matchIn ?? 'any') as 'any' | 'key' | 'value' | 'headers' };
  if (o.match !== undefined) {
    if (o.group !== undefined) throw new UsageError('--match reads partitions without a group: give --partition or neither, not --group');
    if (o.transport === 'sse' && o.follow === true) throw new UsageError('--match needs --transport long-poll: the broker searches in fetches, not in SSE streams');
    if (o.match === '' || o.match.length > 256) throw new UsageError('--match takes 1 to 256 characters');
  }
  if (!['any', 'key', 'value', 'headers'].includes(o.matchIn ?? 'any')) throw new UsageError('--match-in must be key, value, headers or any');
  // --json: each value as it was produced (docs/values.md); a template: the stored text
  const valueFormat = o.valueFormat ?? (json ? undefined : 'text');
  if (valueFormat !== undefined && valueFormat !== 'json' && valueFormat !== 'text' && valueFormat !== 'binary') throw new UsageError('--value-format must be text, json or binary');
  const from: Position = o.fromBeginning === true ? 'earliest' : (o.from ?? (o.group !== undefined ? 'latest' : 'earliest'));
  const format = json ? (r: ConsumerRecord) => JSON.stringify(r) + '\n' : compileFormat(o.format ?? '%s\\n');
  const webka = connect(cmd);
  const out = new Output();
  const max = o.maxRecords ?? Infinity;
  let count = 0;

  if (o.group === undefined) {
    // one partition, or every partition read side by side and merged as the records arrive
    const infos = (await webka.admin().describeTopic(topic)).partitionInfo;
    const chosen = o.partition === undefined ? infos : infos.filter((p) => p.partition === o.partition);
    if (chosen.length === 0) throw new UsageError(`topic ${topic} has no partition ${o.partition} (it has ${infos.length})`);
    const transport = o.transport;
    const readers = chosen.map((p) => webka.consumer({ topic, partition: p.partition, from: startOf(from, p), follow: o.follow === true, transport, valueFormat, ...match }));
    const stop = (): void => readers.forEach((r) => r.close());
    process.once('SIGINT', stop);
    try {
      await Promise.all(
        readers.map(async (reader) => {
          for await (const r of reader) {
            if (count >= max) break;
            await out.write(format(r));
            if (++count >= max) return stop();
          }
        }),
      );
    } finally {
      process.off('SIGINT', stop);
      stop();
    }
    await out.end();
    return;
  }

  if (typeof from === 'object') throw new UsageError('a group starts from its committed offsets: --from takes beginning or end with --group (use "webka groups reset-offsets" to move them)');
  const consumer = webka.consumer({ groupId: o.group!, topics: topic, autoOffsetReset: from, transport: o.transport, valueFormat });
  const ends = o.follow === true ? undefined : await highWatermarks(webka, topic);
  const positions = new Map<number, number>();
  let idle: ReturnType<typeof setTimeout> | undefined;
  const armIdle = (): void => {
    clearTimeout(idle);
    if (ends !== undefined) idle = setTimeout(() => void consumer.close(), o.idleMs);
  };
  const stop = (): void => void consumer.close();
  process.once('SIGINT', stop);
  armIdle();
  try {
    for await (const r of consumer) {
      armIdle();
      await out.write(format(r));
      positions.set(r.partition, r.offset + 1);
      if (++count >= max) break;
      if (ends !== undefined && caughtUp(consumer.assignment, positions, ends)) break;
    }
  } finally {
    clearTimeout(idle);
    process.off('SIGINT', stop);
    await consumer.close();
  }
  await out.end();
}

/** Where a partition read starts: `{ last: n }` is n records before the high watermark, not before the log start. */
function startOf(from: Position, p: PartitionInfo): StartPosition {
  if (typeof from === 'object' && 'last' in from) return { offset: Math.max(p.logStartOffset, p.highWatermark - from.last) };
  return from;
}

async function highWatermarks(webka: Webka, topic: string): Promise<number[]> {
  const t = await webka.admin().describeTopic(topic);
  return t.partitionInfo.map((p) => p.highWatermark);
}

function caughtUp(assignment: { partition: number }[] | undefined, positions: Map<number, number>, ends: number[]): boolean {
  if (assignment === undefined || assignment.length === 0) return false;
  return assignment.every((a) => (ends[a.partition] ?? 0) === 0 || (positions.get(a.partition) ?? -1) >= ends[a.partition]);
}

/** Buffered stdout that respects backpressure and ends quietly when the reader goes (| head). */
class Output {
  #buf = '';
  #timer: ReturnType<typeof setTimeout> | undefined;
  async write(s: string): Promise<void> {
    this.#buf += s;
    if (this.#buf.length >= 64 * 1024) await this.#flush();
    // A follower sees each record promptly, while a fast catch-up still writes in large chunks.
    else this.#timer ??= setTimeout(() => void this.#flush(), 20);
  }
  async #flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const b = this.#buf;
    this.#buf = '';
    if (b.length === 0) return;
    if (!process.stdout.write(b)) await new Promise<void>((r) => process.stdout.once('drain', r));
  }
  async end(): Promise<void> {
    await this.#flush();
  }
}
