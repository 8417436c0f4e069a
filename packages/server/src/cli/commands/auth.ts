/**
 * `webka principals`, `webka keys`, `webka acls` and `webka tokens`: who may do what
 * (docs/security.md). A new API key or token is the only thing printed on stdout, so a script
 * can capture it (KEY=$(webka keys create billing)); it is shown once and never again.
 */
import type { Command } from 'commander';
import { SecurityAdmin, type TokenGrant } from '@webka/client';
import { action, UsageError } from '../exit-codes.js';
import { connect, globals } from '../connection.js';
import { printFields, printJson, printTable } from '../output.js';
import { formatResource, parseGrant, parseOperationList, parseResource, parseTtl } from './auth-parse.js';

const security = (cmd: Command): SecurityAdmin => new SecurityAdmin(connect(cmd).http);
const when = (ms: number): string => new Date(ms).toISOString();
const json = (cmd: Command): boolean => globals(cmd).json === true;

export function authCommands(program: Command): void {
  principalsCommand(program);
  keysCommand(program);
  aclsCommand(program);
  tokensCommand(program);
}

function principalsCommand(program: Command): void {
  const principals = program
    .command('principals')
    .alias('principal')
    .description('Users and service accounts (needs a superuser\'s API key)')
    .addHelpText('after', '\nExamples:\n  webka principals create billing --kind service --key\n  webka principals list\n  webka principals describe billing\n  webka principals delete billing');

  principals
    .command('list')
    .alias('ls')
    .description('List principals')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const list = await security(cmd).listPrincipals();
        if (json(cmd)) return printJson({ principals: list });
        printTable(['NAME', 'KIND', 'SUPERUSER', 'CREATED', 'DESCRIPTION'], list.map((p) => [p.name, p.kind, p.superuser ? 'yes' : 'no', when(p.createdAt), p.description]));
      }),
    );

  principals
    .command('create <name>')
    .description('Create a principal; with --key also its first API key, printed once on stdout')
    .option('--kind <kind>', 'user or service', 'user')
    .option('--superuser', 'may do everything, including managing principals and ACLs')
    .option('--description <text>', 'what it is for')
    .option('--key', 'also create an API key and print it (shown only this once)')
    .action(
      action(async (name: string, o: { kind: string; superuser?: boolean; description?: string; key?: boolean }, cmd: Command) => {
        if (o.kind !== 'user' && o.kind !== 'service') throw new UsageError('--kind is user or service');
        const r = await security(cmd).createPrincipal({ name, kind: o.kind, superuser: o.superuser === true, description: o.description, createKey: o.key === true });
        if (json(cmd)) return printJson(r);
        process.stderr.write(`created ${r.principal.kind} ${r.principal.name}${r.principal.superuser ? ' (superuser)' : ''}\n`);
        if (r.key !== undefined) {
          process.stderr.write(`API key ${r.key.id} (shown only now; store it safely):\n`);
          process.stdout.write(r.key.key + '\n');
        }
      }),
    );

  principals
    .command('describe <name>')
    .description('Show a principal with its key ids and ACLs')
    .action(
      action(async (name: string, _o: unknown, cmd: Command) => {
        const d = await security(cmd).describePrincipal(name);
        if (json(cmd)) return printJson(d);
        printFields([
          ['principal', d.principal.name],
          ['kind', d.principal.kind],
          ['superuser', d.principal.superuser ? 'yes' : 'no'],
          ['created', when(d.principal.createdAt)],
          ['description', d.principal.description],
        ]);
        process.stdout.write('\n');
        printTable(['KEY-ID', 'CREATED', 'DESCRIPTION'], d.keys.map((k) => [k.id, when(k.createdAt), k.description]));
        process.stdout.write('\n');
        printTable(['ACL-ID', 'EFFECT', 'OPERATIONS', 'RESOURCE'], d.acls.map((a) => [a.id, a.effect, a.operations.join(','), formatResource(a.resource)]));
      }),
    );

  principals
    .command('delete <name>')
    .alias('rm')
    .description('Delete a principal with its keys and ACLs (its tokens stop working too)')
    .action(
      action(async (name: string, _o: unknown, cmd: Command) => {
        await security(cmd).deletePrincipal(name);
        if (json(cmd)) return printJson({ deleted: name });
        process.stderr.write(`deleted principal ${name}\n`);
      }),
    );
}

function keysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .alias('key')
    .description('API keys of a principal (a superuser\'s, or the principal\'s own key)')
    .addHelpText('after', '\nExamples:\n  KEY=$(webka keys create billing --description "billing service, prod")\n  webka keys list billing\n  webka keys revoke billing 3f2a9c0d1e4b5a67');

  keys
    .command('create <principal>')
    .description('Create an API key; the key is printed once on stdout and cannot be shown again')
    .option('--description <text>', 'where the key is used')
    .action(
      action(async (principal: string, o: { description?: string }, cmd: Command) => {
        const k = await security(cmd).createKey(principal, o.description);
        if (json(cmd)) return printJson(k);
        process.stderr.write(`created API key ${k.id} for ${k.principal} (shown only now; store it safely)\n`);
        process.stdout.write(k.key + '\n');
      }),
    );

  keys
    .command('list <principal>')
    .alias('ls')
    .description('List a principal\'s keys (ids and descriptions, never the keys)')
    .action(
      action(async (principal: string, _o: unknown, cmd: Command) => {
        const list = await security(cmd).listKeys(principal);
        if (json(cmd)) return printJson({ keys: list });
        printTable(['KEY-ID', 'PRINCIPAL', 'CREATED', 'DESCRIPTION'], list.map((k) => [k.id, k.principal, when(k.createdAt), k.description]));
      }),
    );

  keys
    .command('revoke <principal> <key-id>')
    .alias('delete')
    .description('Revoke a key: its next request gets 401')
    .action(
      action(async (principal: string, keyId: string, _o: unknown, cmd: Command) => {
        await security(cmd).revokeKey(principal, keyId);
        if (json(cmd)) return printJson({ revoked: keyId, principal });
        process.stderr.write(`revoked API key ${keyId} of ${principal}\n`);
      }),
    );
}

function aclsCommand(program: Command): void {
  const acls = program
    .command('acls')
    .alias('acl')
    .description('Allow or deny principal x resource x operations; deny wins (needs a superuser\'s API key)')
    .addHelpText(
      'after',
      `
Resources: topic:<name>, group:<name>, cluster:<name>; [<cluster>/] before a topic or group
name limits it to one cluster (default: every cluster); a name ending in * is a prefix; * alone
is every name. Operations: read, write, create, delete, alter, describe, admin.

Examples:
  webka acls add billing read,write topic:orders
  webka acls add billing read group:billing-*
  webka acls add analytics read topic:prod/events.*
  webka acls add '*' describe cluster:default
  webka acls add intern write topic:orders --deny
  webka acls list --principal billing
  webka acls remove 3f2a9c0d1e4b5a67`,
    );

  acls
    .command('list')
    .alias('ls')
    .description('List ACLs')
    .option('--principal <name>', 'only this principal\'s')
    .action(
      action(async (o: { principal?: string }, cmd: Command) => {
        const list = await security(cmd).listAcls(o.principal);
        if (json(cmd)) return printJson({ acls: list });
        printTable(['ACL-ID', 'PRINCIPAL', 'EFFECT', 'OPERATIONS', 'RESOURCE'], list.map((a) => [a.id, a.principal, a.effect, a.operations.join(','), formatResource(a.resource)]));
      }),
    );

  acls
    .command('add <principal> <operations> <resource>')
    .description('Add an ACL (allow unless --deny); prints its id')
    .option('--deny', 'deny instead of allow (a deny wins over every allow)')
    .action(
      action(async (principal: string, operations: string, resource: string, o: { deny?: boolean }, cmd: Command) => {
        const a = await security(cmd).addAcl({ principal, effect: o.deny === true ? 'deny' : 'allow', operations: parseOperationList(operations), resource: parseResource(resource) });
        if (json(cmd)) return printJson(a);
        process.stderr.write(`added ACL: ${a.effect} ${a.principal} ${a.operations.join(',')} on ${formatResource(a.resource)}\n`);
        process.stdout.write(a.id + '\n');
      }),
    );

  acls
    .command('remove <acl-id>')
    .alias('rm')
    .description('Remove an ACL (see acls list for ids)')
    .action(
      action(async (id: string, _o: unknown, cmd: Command) => {
        await security(cmd).removeAcl(id);
        if (json(cmd)) return printJson({ removed: id });
        process.stderr.write(`removed ACL ${id}\n`);
      }),
    );
}

function tokensCommand(program: Command): void {
  const tokens = program
    .command('tokens')
    .alias('token')
    .description('Short-lived browser tokens carrying a subset of the caller\'s rights')
    .addHelpText(
      'after',
      `
Examples:
  webka tokens create --grant read:topic:scores --ttl 15m
  webka tokens create --grant read,describe:topic:default/scores --grant read:group:web-* --json

A browser uses the token where it cannot set headers: ?access_token=<token> on EventSource and
WebSocket URLs, or the webka_token cookie. Minting needs an API key (a token cannot mint).`,
    );

  tokens
    .command('create')
    .description('Mint a token; prints it on stdout (--json adds expiresAt and grants)')
    .requiredOption('-g, --grant <ops:resource>', 'what the token may do, e.g. read:topic:scores (repeatable)', parseGrant)
    .option('--ttl <duration>', 'lifetime: seconds, or 90s, 15m, 2h (default 15m, at most tokenMaxTtlSeconds)', parseTtl)
    .action(
      action(async (o: { grant?: TokenGrant[]; ttl?: number }, cmd: Command) => {
        if (o.grant === undefined || o.grant.length === 0) throw new UsageError('tokens create needs at least one --grant');
        const t = await security(cmd).createToken({ grants: o.grant, ttlSeconds: o.ttl });
        if (json(cmd)) return printJson(t);
        process.stderr.write(`token expires at ${when(t.expiresAt)}\n`);
        process.stdout.write(t.token + '\n');
      }),
    );
}
