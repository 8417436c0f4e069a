/** `webka txn`: list, describe and abort transactions (docs/transactions.md). */
import type { Command } from 'commander';
import type { TransactionDescription } from '@webka/client';
import { action } from '../exit-codes.js';
import { connect, globals } from '../connection.js';
import { printFields, printJson, printTable } from '../output.js';

const partitionsOf = (t: TransactionDescription): string => (t.partitions.length === 0 ? '-' : t.partitions.map((p) => `${p.topic}/${p.partition}`).join(','));

export function txnCommand(program: Command): void {
  const txn = program
    .command('txn')
    .alias('transactions')
    .description('Transactions: list, describe, abort a stuck one')
    .addHelpText('after', '\nExamples:\n  webka txn list\n  webka txn describe orders-enricher\n  webka txn abort orders-enricher');

  txn
    .command('list')
    .alias('ls')
    .description('List transactional ids (those you own; all, for a superuser) with state, partitions and age')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const list = await connect(cmd).admin().listTransactions();
        if (globals(cmd).json === true) return printJson({ transactions: list });
        printTable(
          ['TRANSACTIONAL-ID', 'STATE', 'PRODUCER-ID', 'EPOCH', 'PARTITIONS', 'AGE-MS', 'OWNER'],
          list.map((t) => [t.transactionalId, t.state, t.producerId, t.producerEpoch, partitionsOf(t), t.ageMs ?? '-', t.principal]),
        );
      }),
    );

  txn
    .command('describe <transactionalId>')
    .description("Show a transactional id's state, producer, partitions, pending offsets and age")
    .action(
      action(async (id: string, _o: unknown, cmd: Command) => {
        const t = await connect(cmd).admin().describeTransaction(id);
        if (globals(cmd).json === true) return printJson(t);
        describe(t);
      }),
    );

  txn
    .command('abort <transactionalId>')
    .description('Abort the open transaction and fence its producer (it must initialise again)')
    .action(
      action(async (id: string, _o: unknown, cmd: Command) => {
        const t = await connect(cmd).admin().abortTransaction(id);
        if (globals(cmd).json === true) return printJson(t);
        describe(t);
        process.stderr.write(`aborted ${id}; its producer is fenced\n`);
      }),
    );
}

function describe(t: TransactionDescription): void {
  printFields([
    ['transactional id', t.transactionalId],
    ['state', t.state],
    ['producer id', t.producerId],
    ['epoch', t.producerEpoch],
    ['timeout ms', t.timeoutMs],
    ['started', t.startedAt === null ? '-' : new Date(t.startedAt).toISOString()],
    ['age ms', t.ageMs ?? '-'],
    ['owner', t.principal],
    ['partitions', partitionsOf(t)],
  ]);
  if (t.offsets.length === 0) return;
  process.stdout.write('\n');
  printTable(['GROUP', 'TOPIC', 'PARTITION', 'OFFSET'], t.offsets.map((o) => [o.groupId, o.topic, o.partition, o.offset]));
}
