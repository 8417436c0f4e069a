/**
 * A cluster's partition moves (docs/replication.md#moving-partitions-and-draining-brokers):
 * `webka partitions reassign|reassignment|reassignments|elect-leaders` and
 * `webka brokers list|drain|drain-status|undrain`. With --wait, a reassignment or a drain is
 * followed until it has finished, printing each change of its progress on stderr.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { DrainStatus, Reassignment } from '@webka/client';
import { action } from '../exit-codes.js';
import { connect, globals } from '../connection.js';
import { printFields, printJson, printTable } from '../output.js';
import { nonNegativeInt } from './parse.js';

function nodeIds(v: string): number[] {
  const ids = v.split(',').map((s) => s.trim());
  if (ids.some((s) => !/^\d+$/.test(s))) throw new InvalidArgumentError('must be node ids separated by commas, e.g. 2,3,4');
  return ids.map(Number);
}

/** Polls `read` every half second until `finished`, printing each new progress line on stderr. */
async function follow<T>(read: () => Promise<T>, line: (v: T) => string, finished: (v: T) => boolean, quiet: boolean): Promise<T> {
  let last = '';
  for (;;) {
    const v = await read();
    const l = line(v);
    if (!quiet && l !== last) process.stderr.write(`${l}\n`);
    last = l;
    if (finished(v)) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * What a command that starts something long (a reassignment, a drain) prints: with wait, its
 * progress until `finished`, else its first answer's line, on stderr; with --json, the last
 * answer on stdout.
 */
async function report<T>(cmd: Command, answer: T, wait: boolean, read: () => Promise<T>, line: (v: T) => string, finished: (v: T) => boolean): Promise<void> {
  const json = globals(cmd).json === true;
  const last = wait ? await follow(read, line, finished, json) : answer;
  if (json) return printJson(last);
  if (!wait) process.stderr.write(`${line(last)}\n`);
}

const reassignmentLine = (r: Reassignment): string =>
  r.inProgress
    ? `reassigning ${r.topic}/${r.partition} to [${r.targetReplicas.join(',')}]: adding ${r.adding.map((a) => `${a.nodeId}${a.inSync ? ' (in sync)' : ' (catching up)'}`).join(', ') || 'none'}; removing ${r.removing.join(',') || 'none'}; leader ${r.leader}`
    : `${r.topic}/${r.partition}: replicas [${r.replicas.join(',')}], isr [${r.isr.join(',')}], leader ${r.leader}`;

const drainLine = (d: DrainStatus): string =>
  `broker ${d.nodeId}: ${d.done ? 'drained, it can be stopped' : d.draining ? 'draining' : 'not draining'}: leads ${d.leaderships}, in sync for ${d.inSyncReplicas}, holds ${d.hostedReplicas} replica(s)${d.blocked.length > 0 ? `; leadership cannot move for ${d.blocked.map((b) => `${b.topic}/${b.partition}`).join(', ')} (no other in-sync replica: drain with --replicas)` : ''}`;

export function replicationCommands(program: Command): void {
  const partitions = program
    .command('partitions')
    .alias('partition')
    .description('A cluster\'s partitions: move replicas, preferred-leader election')
    .addHelpText('after', '\nExamples:\n  webka partitions reassign orders 0 2,3,4 --wait\n  webka partitions reassignments\n  webka partitions elect-leaders orders');

  partitions
    .command('reassign <topic> <partition> <replicas>')
    .description('Move a partition\'s replicas to the node ids given (the first is the preferred leader)')
    .option('--wait', 'follow the move until it has finished')
    .action(
      action(async (topic: string, partition: string, replicas: string, o: { wait?: boolean }, cmd: Command) => {
        const admin = connect(cmd).admin();
        const p = nonNegativeInt(partition);
        const r = await admin.reassignPartition(topic, p, nodeIds(replicas));
        await report(cmd, r, o.wait === true, () => admin.reassignment(topic, p), reassignmentLine, (v) => !v.inProgress);
      }),
    );

  partitions
    .command('reassignment <topic> <partition>')
    .description('Show a partition\'s reassignment (or its replicas when none runs)')
    .action(
      action(async (topic: string, partition: string, _o: unknown, cmd: Command) => {
        const r = await connect(cmd).admin().reassignment(topic, nonNegativeInt(partition));
        if (globals(cmd).json === true) return printJson(r);
        printFields([['partition', `${r.topic}/${r.partition}`], ['in progress', r.inProgress], ['target', r.targetReplicas.join(',')], ['adding', r.adding.map((a) => `${a.nodeId}${a.inSync ? ' (in sync)' : ''}`).join(', ')], ['removing', r.removing.join(',')], ['replicas', r.replicas.join(',')], ['isr', r.isr.join(',')], ['leader', r.leader]]);
      }),
    );

  partitions
    .command('reassignments')
    .description('List every reassignment in progress')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const list = await connect(cmd).admin().listReassignments();
        if (globals(cmd).json === true) return printJson({ reassignments: list });
        printTable(['CLUSTER', 'TOPIC', 'PARTITION', 'TARGET', 'ADDING', 'REMOVING', 'ISR', 'LEADER'], list.map((r) => [r.cluster, r.topic, r.partition, r.targetReplicas.join(','), r.adding.map((a) => `${a.nodeId}${a.inSync ? '*' : ''}`).join(','), r.removing.join(','), r.isr.join(','), r.leader]));
      }),
    );

  partitions
    .command('elect-leaders [topic]')
    .description('Give leadership back to each partition\'s first replica where it is alive and in sync (every topic, or one)')
    .option('--partition <n>', 'only this partition of the topic', nonNegativeInt)
    .action(
      action(async (topic: string | undefined, o: { partition?: number }, cmd: Command) => {
        const list = await connect(cmd).admin().electPreferredLeaders({ topic, partition: o.partition });
        if (globals(cmd).json === true) return printJson({ partitions: list });
        printTable(['CLUSTER', 'TOPIC', 'PARTITION', 'PREFERRED', 'LEADER', 'RESULT'], list.map((r) => [r.cluster, r.topic, r.partition, r.preferredLeader, r.leader, r.result]));
      }),
    );

  const brokers = program
    .command('brokers')
    .alias('broker')
    .description('A cluster\'s brokers: list them, drain one before stopping it')
    .addHelpText('after', '\nExamples:\n  webka brokers list\n  webka brokers drain 3 --wait && systemctl stop webka\n  webka brokers undrain 3');

  brokers
    .command('list')
    .alias('ls')
    .description('List the live brokers and the controller')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const info = await connect(cmd).admin().describeBroker();
        if (globals(cmd).json === true) return printJson({ brokers: info.brokers });
        printTable(['NODE', 'HOST', 'PORT', 'CONTROLLER'], info.brokers.map((b) => [b.brokerId, b.host, b.port, b.controller ? 'yes' : '']));
      }),
    );

  brokers
    .command('drain <nodeId>')
    .description('Move leadership of all the broker\'s partitions elsewhere and take it out of every ISR, so it can be stopped')
    .option('--replicas', 'move its replicas to other brokers too')
    .option('--wait', 'follow the drain until it is done')
    .action(
      action(async (nodeId: string, o: { replicas?: boolean; wait?: boolean }, cmd: Command) => {
        const admin = connect(cmd).admin();
        const id = nonNegativeInt(nodeId);
        const d = await admin.drainBroker(id, { replicas: o.replicas === true });
        await report(cmd, d, o.wait === true, () => admin.drainStatus(id), drainLine, (v) => v.done);
      }),
    );

  brokers
    .command('drain-status <nodeId>')
    .description('Show how far a broker\'s drain has come')
    .action(
      action(async (nodeId: string, _o: unknown, cmd: Command) => {
        const d = await connect(cmd).admin().drainStatus(nonNegativeInt(nodeId));
        if (globals(cmd).json === true) return printJson(d);
        process.stdout.write(`${drainLine(d)}\n`);
      }),
    );

  brokers
    .command('undrain <nodeId>')
    .description('Cancel a drain: the broker may lead and join ISRs again')
    .action(
      action(async (nodeId: string, _o: unknown, cmd: Command) => {
        const d = await connect(cmd).admin().cancelDrain(nonNegativeInt(nodeId));
        if (globals(cmd).json === true) return printJson(d);
        process.stderr.write(`${drainLine(d)}\n`);
      }),
    );
}
