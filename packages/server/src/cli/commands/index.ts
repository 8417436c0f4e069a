/**
 * The client commands of `webka` (all but `start`), with the options every one of them shares.
 * Each command talks to the broker through the SDK (@webka/client), never through its own HTTP.
 */
import { Option, type Command } from 'commander';
import { authCommands } from './auth.js';
import { clustersCommand } from './clusters.js';
import { consumeCommand } from './consume.js';
import { contextCommand } from './context.js';
import { groupsCommand } from './groups.js';
import { produceCommand } from './produce.js';
import { replicationCommands } from './replication.js';
import { topicsCommand } from './topics.js';
import { txnCommand } from './txn.js';

export function registerCommands(program: Command): void {
  program
    .addOption(new Option('--url <url>', 'broker URL (default: the current context, else http://localhost:8080)').env('WEBKA_URL'))
    .addOption(new Option('--token <token>', 'sent as Authorization: Bearer <token>').env('WEBKA_TOKEN'))
    .addOption(new Option('--cluster <name>', "cluster (default: the context's, else 'default')").env('WEBKA_CLUSTER'))
    .addOption(new Option('--context <name>', 'use this named context instead of the current one').env('WEBKA_CONTEXT'))
    .option('--json', 'machine-readable JSON output (errors too, on stderr)')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  webka start                                        run a broker on :8080
  webka topics create orders --partitions 3
  seq 1 1000 | webka produce orders
  webka consume orders --group billing --from beginning
  webka context add prod --url https://webka.example.com --use

Exit codes: 0 ok, 1 broker error, 2 usage, 3 not found, 4 conflict (exists, in use),
5 broker unreachable or timed out, 6 not authenticated or not allowed. See docs/cli.md.`,
    )
    // Usage errors exit 2 (commander's default is 1), help and version 0: see main.ts.
    .exitOverride();
  contextCommand(program);
  clustersCommand(program);
  topicsCommand(program);
  produceCommand(program);
  consumeCommand(program);
  groupsCommand(program);
  txnCommand(program);
  replicationCommands(program);
  authCommands(program);
}
