/** `webka context`: named deployments (see ../contexts.ts for the file). */
import type { Command } from 'commander';
import { action, UsageError } from '../exit-codes.js';
import { contextsPath, readContexts, writeContexts } from '../contexts.js';
import { globals } from '../connection.js';
import { printJson, printTable } from '../output.js';

export function contextCommand(program: Command): void {
  const ctx = program
    .command('context')
    .description(`Named deployments, stored in ${contextsPath().replace(process.env.HOME ?? '\0', '~')}`)
    .addHelpText('after', '\nExamples:\n  webka context add prod --url https://webka.example.com\n  webka context use prod\n  webka context list\n  WEBKA_URL=http://localhost:9000 webka topics list   # overrides the context');

  ctx
    .command('add <name>')
    .description('Add or replace a context (its URL comes from --url)')
    .option('--set-token <token>', 'store this token with the context (prefer WEBKA_TOKEN for secrets)')
    .option('--use', 'make it the current context')
    .action(
      action(async (name: string, opts: { setToken?: string; use?: boolean }, cmd: Command) => {
        const g = globals(cmd);
        if (g.url === undefined) throw new UsageError('context add needs --url <url>');
        if (!/^https?:\/\//.test(g.url)) throw new UsageError(`--url must start with http:// or https://, got ${g.url}`);
        const file = readContexts();
        file.contexts[name] = { url: g.url, token: opts.setToken, cluster: g.cluster };
        if (opts.use === true || file.current === undefined) file.current = name;
        writeContexts(file);
        if (g.json === true) printJson({ name, ...file.contexts[name], token: undefined, current: file.current === name });
        else process.stderr.write(`context "${name}" saved${file.current === name ? ' and in use' : ''}\n`);
      }),
    );

  ctx
    .command('use <name>')
    .description('Make a context the current one')
    .action(
      action(async (name: string, _opts: unknown, cmd: Command) => {
        const file = readContexts();
        if (file.contexts[name] === undefined) throw new UsageError(`no context named "${name}"; known: ${Object.keys(file.contexts).join(', ') || 'none'}`);
        file.current = name;
        writeContexts(file);
        if (globals(cmd).json === true) printJson({ current: name });
        else process.stderr.write(`using context "${name}" (${file.contexts[name].url})\n`);
      }),
    );

  ctx
    .command('list')
    .alias('ls')
    .description('List contexts (* marks the current one)')
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const file = readContexts();
        const rows = Object.entries(file.contexts).map(([name, c]) => ({ name, url: c.url, cluster: c.cluster ?? 'default', token: c.token !== undefined, current: name === file.current }));
        if (globals(cmd).json === true) return printJson({ current: file.current ?? null, contexts: rows });
        printTable(['', 'NAME', 'URL', 'CLUSTER'], rows.map((r) => [r.current ? '*' : '', r.name, r.url, r.cluster]));
      }),
    );

  ctx
    .command('remove <name>')
    .alias('rm')
    .description('Remove a context')
    .action(
      action(async (name: string) => {
        const file = readContexts();
        if (file.contexts[name] === undefined) throw new UsageError(`no context named "${name}"`);
        delete file.contexts[name];
        if (file.current === name) file.current = undefined;
        writeContexts(file);
      }),
    );
}
