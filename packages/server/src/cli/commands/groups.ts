/** `webka groups`: list, describe (with lag), reset-offsets, delete. */
import type { Command } from 'commander';
import type { ResetOffsets } from '@webka/client';
import { action, UsageError } from '../exit-codes.js';
import { connect, globals } from '../connection.js';
import { printFields, printJson, printTable } from '../output.js';
import { parsePosition, type Position } from './parse.js';

export function groupsCommand(program: Command): void {
  const groups = program
    .command('groups')
    .alias('group')
    .description('Consumer groups: list, describe with lag, reset offsets, delete')
    .addHelpText(
      'after',
      '\nExamples:\n  webka groups list\n  webka groups describe billing\n  webka groups reset-offsets billing --topic orders --to beginning --dry-run\n  webka groups reset-offsets billing --topic orders --to 2026-01-31T00:00:00Z\n  webka groups delete billing',
    );

  groups
    .command('list')
    .alias('ls')
    .description('List consumer groups')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const admin = connect(cmd).admin();
        // total lag per group, as kafka-consumer-groups and rpk show it (one describe per group)
        const list = await Promise.all(
          (await admin.listGroups()).map(async (g) => ({ ...g, totalLag: await admin.describeGroup(g.group).then((d) => d.totalLag, () => null) })),
        );
        if (globals(cmd).json === true) return printJson({ groups: list });
        printTable(['GROUP', 'STATE', 'MEMBERS', 'GENERATION', 'LAG'], list.map((g) => [g.group, g.state, g.members, g.generation, g.totalLag ?? '-']));
      }),
    );

  groups
    .command('describe <group>')
    .description('Show a group\'s state, members and, per partition, committed offset and lag')
    .action(
      action(async (group: string, _o: unknown, cmd: Command) => {
        const g = await connect(cmd).admin().describeGroup(group);
        if (globals(cmd).json === true) return printJson(g);
        printFields([['group', g.group], ['state', g.state], ['generation', g.generation], ['strategy', g.assignmentStrategy ?? '-'], ['members', g.members.length], ['total lag', g.totalLag]]);
        const owner = new Map<string, string>();
        for (const m of g.members) for (const a of m.assignment) owner.set(`${a.topic}/${a.partition}`, m.memberId);
        process.stdout.write('\n');
        printTable(
          ['TOPIC', 'PARTITION', 'COMMITTED', 'HIGH-WATERMARK', 'LAG', 'MEMBER'],
          g.offsets.map((o) => [o.topic, o.partition, o.committed, o.highWatermark, o.lag, owner.get(`${o.topic}/${o.partition}`) ?? '-']),
        );
      }),
    );

  groups
    .command('reset-offsets <group>')
    .description('Move an empty group\'s committed offsets')
    .requiredOption('--to <position>', 'beginning, end, @<ms since epoch> or an ISO time; or an offset with --partition', parsePosition)
    .option('-t, --topic <topic>', 'reset every partition of this topic (repeatable; default: the partitions with committed offsets)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('-p, --partition <n>', 'with --to <offset>: the partition to set (needs one --topic)', (v: string) => Number(v))
    .option('--dry-run', 'show what would be set, change nothing')
    .action(
      action(async (group: string, o: { to: Position; topic: string[]; partition?: number; dryRun?: boolean }, cmd: Command) => {
        const reset = toReset(o);
        const r = await connect(cmd).admin().resetGroupOffsets(group, reset);
        if (globals(cmd).json === true) return printJson(r);
        printTable(['TOPIC', 'PARTITION', 'PREVIOUS', 'NEW'], r.offsets.map((x) => [x.topic, x.partition, x.previous, x.offset]));
        if (r.dryRun) process.stderr.write('dry run: nothing was changed\n');
      }),
    );

  groups
    .command('delete <group>')
    .alias('rm')
    .description('Delete an empty group and its committed offsets')
    .action(
      action(async (group: string, _o: unknown, cmd: Command) => {
        await connect(cmd).admin().deleteGroup(group);
        if (globals(cmd).json === true) return printJson({ deleted: group });
        process.stderr.write(`deleted group ${group}\n`);
      }),
    );
}

function toReset(o: { to: Position; topic: string[]; partition?: number; dryRun?: boolean }): ResetOffsets {
  const topics = o.topic.length > 0 ? o.topic : undefined;
  const dryRun = o.dryRun === true;
  if (o.to === 'earliest' || o.to === 'latest') return { to: o.to, topics, dryRun };
  if ('last' in o.to) throw new UsageError('--to takes beginning, end, an offset or a time (-<n> is for consume)');
  if ('timestamp' in o.to) return { to: 'timestamp', timestamp: o.to.timestamp, topics, dryRun };
  if (o.topic.length !== 1 || o.partition === undefined || !Number.isInteger(o.partition) || o.partition < 0) {
    throw new UsageError('--to <offset> needs exactly one --topic and a --partition');
  }
  return { to: 'offsets', offsets: [{ topic: o.topic[0], partition: o.partition, offset: o.to.offset }], dryRun };
}
