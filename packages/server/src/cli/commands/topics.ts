/** `webka topics`: list, create, describe, alter, delete. */
import type { Command } from 'commander';
import { action, UsageError } from '../exit-codes.js';
import { connect, globals } from '../connection.js';
import { printFields, printJson, printTable } from '../output.js';
import { parseConfigs, positiveInt } from './parse.js';

const collect = (v: string, acc: string[]): string[] => [...acc, v];

export function topicsCommand(program: Command): void {
  const topics = program
    .command('topics')
    .alias('topic')
    .description('Topics: create, list, describe, alter, delete')
    .addHelpText(
      'after',
      '\nExamples:\n  webka topics create orders --partitions 6 --config retention.ms=604800000\n  webka topics list --json\n  webka topics describe orders\n  webka topics alter orders --partitions 12 --config segment.bytes=\n  webka topics delete orders',
    );

  topics
    .command('list')
    .alias('ls')
    .description('List the cluster\'s topics')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const list = await connect(cmd).admin().listTopics();
        if (globals(cmd).json === true) return printJson({ topics: list });
        printTable(['NAME', 'PARTITIONS', 'REPLICATION', 'CONFIGS'], list.map((t) => [t.name, t.partitions, t.replicationFactor, Object.entries(t.configs).map(([k, v]) => `${k}=${v}`).join(',')]));
      }),
    );

  topics
    .command('create <name>')
    .description('Create a topic (unset options take the cluster\'s defaults)')
    .option('-p, --partitions <n>', 'number of partitions', positiveInt)
    .option('-r, --replication-factor <n>', 'replication factor', positiveInt)
    .option('-c, --config <key=value>', 'topic config, e.g. retention.ms=86400000 (repeatable)', collect, [] as string[])
    .option('--if-not-exists', 'succeed when the topic exists already')
    .action(
      action(async (name: string, o: { partitions?: number; replicationFactor?: number; config: string[]; ifNotExists?: boolean }, cmd: Command) => {
        const admin = connect(cmd).admin();
        const configs = o.config.length > 0 ? parseConfigs(o.config) : undefined;
        let t;
        try {
          t = await admin.createTopic({ name, partitions: o.partitions, replicationFactor: o.replicationFactor, configs });
        } catch (err) {
          if (o.ifNotExists !== true || (err as { code?: string }).code !== 'TOPIC_EXISTS') throw err;
          const existing = await admin.describeTopic(name);
          const differences = differencesFrom(existing, { partitions: o.partitions, replicationFactor: o.replicationFactor, configs });
          if (globals(cmd).json === true) return printJson({ ...existing, existed: true, differences });
          const how = differences.length === 0 ? '' : `; it differs from what was asked: ${differences.map((d) => `${d.setting} is ${d.actual}, not ${d.asked}`).join(', ')} (topics alter changes it)`;
          process.stderr.write(`topic ${existing.name} exists already (${existing.partitions} partitions), left as it is${how}\n`);
          return;
        }
        if (globals(cmd).json === true) return printJson(t);
        process.stderr.write(`created topic ${t.name} (${t.partitions} partitions)\n`);
      }),
    );

  topics
    .command('describe <name>')
    .description('Show a topic: configs and, per partition, offsets, size and segments')
    .action(
      action(async (name: string, _o: unknown, cmd: Command) => {
        const t = await connect(cmd).admin().describeTopic(name);
        if (globals(cmd).json === true) return printJson(t);
        printFields([
          ['topic', t.name],
          ['cluster', t.cluster],
          ['partitions', t.partitions],
          ['replication', t.replicationFactor],
          ['created', new Date(t.createdAt).toISOString()],
        ]);
        process.stdout.write('\n');
        printTable(['CONFIG', 'VALUE', 'SOURCE'], Object.entries(t.effectiveConfigs).map(([k, v]) => [k, v.value, v.source]));
        process.stdout.write('\n');
        printTable(
          ['PARTITION', 'LOG-START', 'HIGH-WATERMARK', 'RECORDS', 'BYTES', 'SEGMENTS', 'STATUS'],
          t.partitionInfo.map((p) => [p.partition, p.logStartOffset, p.highWatermark, p.highWatermark - p.logStartOffset, p.sizeBytes, p.segments, p.offline ?? 'online']),
        );
      }),
    );

  topics
    .command('alter <name>')
    .description('Change configs (key= removes an override) or add partitions')
    .option('-p, --partitions <n>', 'new partition count (can only grow)', positiveInt)
    .option('-c, --config <key=value>', 'set a config; key= removes the override (repeatable)', collect, [] as string[])
    .action(
      action(async (name: string, o: { partitions?: number; config: string[] }, cmd: Command) => {
        if (o.partitions === undefined && o.config.length === 0) throw new UsageError('alter needs --partitions or --config');
        const t = await connect(cmd)
          .admin()
          .alterTopic(name, { partitions: o.partitions, configs: o.config.length > 0 ? parseConfigs(o.config) : undefined });
        if (globals(cmd).json === true) return printJson(t);
        process.stderr.write(`altered topic ${t.name}\n`);
      }),
    );

  topics
    .command('delete <name>')
    .alias('rm')
    .description('Delete a topic and its data')
    .action(
      action(async (name: string, _o: unknown, cmd: Command) => {
        await connect(cmd).admin().deleteTopic(name);
        if (globals(cmd).json === true) return printJson({ deleted: name });
        process.stderr.write(`deleted topic ${name}\n`);
      }),
    );
}

interface Difference {
  setting: string;
  asked: string | number | null;
  actual: string | number | null;
}

/** What an existing topic has that differs from what `create` asked for (only what was asked). */
function differencesFrom(
  t: { partitions: number; replicationFactor: number; effectiveConfigs: Record<string, { value: unknown }> },
  asked: { partitions?: number; replicationFactor?: number; configs?: Record<string, number | string | null> },
): Difference[] {
  const out: Difference[] = [];
  if (asked.partitions !== undefined && asked.partitions !== t.partitions) out.push({ setting: 'partitions', asked: asked.partitions, actual: t.partitions });
  if (asked.replicationFactor !== undefined && asked.replicationFactor !== t.replicationFactor) out.push({ setting: 'replication factor', asked: asked.replicationFactor, actual: t.replicationFactor });
  for (const [k, v] of Object.entries(asked.configs ?? {})) {
    const actual = t.effectiveConfigs[k]?.value;
    if (v !== null && String(actual) !== String(v)) out.push({ setting: k, asked: v, actual: actual === undefined ? null : (actual as string | number | null) });
  }
  return out;
}
