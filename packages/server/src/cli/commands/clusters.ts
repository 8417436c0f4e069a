/** `webka clusters`: list, create, describe, alter, delete. */
import type { Command } from 'commander';
import { action } from '../exit-codes.js';
import { connect, globals } from '../connection.js';
import { printFields, printJson, printTable } from '../output.js';
import { parseConfigs, positiveInt } from './parse.js';

export function clustersCommand(program: Command): void {
  const clusters = program
    .command('clusters')
    .alias('cluster')
    .description('Clusters: named groups of topics with their own defaults')
    .addHelpText('after', '\nExamples:\n  webka clusters list\n  webka clusters create analytics --partitions 6 --config retention.ms=86400000\n  webka --cluster analytics topics list');

  clusters
    .command('list')
    .alias('ls')
    .description('List clusters')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const list = await connect(cmd).admin().listClusters();
        if (globals(cmd).json === true) return printJson({ clusters: list });
        printTable(['NAME', 'TOPICS', 'NEW-TOPIC-PARTITIONS', 'DESCRIPTION'], list.map((c) => [c.name, c.topics, c.defaults.partitions, c.description]));
      }),
    );

  clusters
    .command('create <name>')
    .description('Create a cluster')
    .option('--description <text>', 'what it is for')
    .option('--partitions <n>', 'default partitions of its new topics', positiveInt)
    .option('--replication-factor <n>', 'default replication factor', positiveInt)
    .option('--config <key=value>', 'default topic config (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(
      action(async (name: string, o: { description?: string; partitions?: number; replicationFactor?: number; config: string[] }, cmd: Command) => {
        const c = await connect(cmd)
          .admin()
          .createCluster(name, { description: o.description, defaults: { partitions: o.partitions, replicationFactor: o.replicationFactor, configs: o.config.length > 0 ? parseConfigs(o.config) : undefined } });
        if (globals(cmd).json === true) return printJson(c);
        process.stderr.write(`created cluster ${c.name}\n`);
      }),
    );

  clusters
    .command('describe <name>')
    .description('Show a cluster and its defaults')
    .action(
      action(async (name: string, _o: unknown, cmd: Command) => {
        const c = await connect(cmd).admin().describeCluster(name);
        if (globals(cmd).json === true) return printJson(c);
        printFields([['name', c.name], ['description', c.description], ['topics', c.topics], ['created', new Date(c.createdAt).toISOString()], ['defaults', c.defaults]]);
      }),
    );

  clusters
    .command('alter <name>')
    .description('Change a cluster\'s description or defaults')
    .option('--description <text>', 'new description')
    .option('--partitions <n>', 'default partitions of new topics', positiveInt)
    .option('--config <key=value>', 'default topic config; key= removes it (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(
      action(async (name: string, o: { description?: string; partitions?: number; config: string[] }, cmd: Command) => {
        const defaults = o.partitions !== undefined || o.config.length > 0 ? { partitions: o.partitions, configs: o.config.length > 0 ? parseConfigs(o.config) : undefined } : undefined;
        const c = await connect(cmd).admin().alterCluster(name, { description: o.description, defaults });
        if (globals(cmd).json === true) return printJson(c);
        process.stderr.write(`altered cluster ${c.name}\n`);
      }),
    );

  clusters
    .command('delete <name>')
    .alias('rm')
    .description('Delete an empty cluster')
    .action(
      action(async (name: string, _o: unknown, cmd: Command) => {
        await connect(cmd).admin().deleteCluster(name);
        if (globals(cmd).json === true) return printJson({ deleted: name });
        process.stderr.write(`deleted cluster ${name}\n`);
      }),
    );
}
