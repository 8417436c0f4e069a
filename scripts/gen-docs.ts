/**
 * Writes the reference tables of the docs from the code's single sources: error codes
 * (@webka/protocol ERROR_CODES), broker settings (CONFIG_KEYS) and topic configs (TOPIC_CONFIGS).
 * `npm run docs` rewrites them; a test fails when a committed table is out of date.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../packages/protocol/src/errors.js';
import { CONFIG_KEYS } from '../packages/server/src/config/config.js';
import { TOPIC_CONFIGS } from '../packages/server/src/catalog/topic-config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function errorsDoc(): string {
  let out = '# Error codes\n\n';
  out += 'Every error answer is `{"error":{"code":"...","message":"..."}}` with the status below; the message says\n';
  out += 'what went wrong and the code never changes once released. The SDK raises `WebkaError` with the same\n';
  out += '`code`, `status` and `retriable`. Generated from `packages/protocol/src/errors.ts` by `npm run docs`.\n\n';
  out += '| code | status | retriable | how to solve |\n|---|---:|:---:|---|\n';
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    out += `| \`${code}\` | ${info.status} | ${info.retriable ? 'yes' : 'no'} | ${info.hint.replace(/\|/g, '\\|')} |\n`;
  }
  return out;
}

export function configDoc(): string {
  let out = '# Configuration\n\n';
  out += 'Sources, lowest precedence first: built-in defaults, the config file (`--config FILE`, `WEBKA_CONFIG`, or\n';
  out += '`./webka.json` when present; a JSON object of the keys below), environment variables, command-line flags\n';
  out += '(`--port`, `--host`, `--data-dir`, `--log-level`). Every value is validated at start; a bad one stops the\n';
  out += 'broker with a message naming the key and its source (exit code 2). The effective configuration is\n';
  out += 'logged at start. Generated from `packages/server/src/config/config.ts` by `npm run docs`.\n\n';
  out += '| key | environment | default | range | meaning |\n|---|---|---|---|---|\n';
  for (const [key, d] of Object.entries(CONFIG_KEYS) as Array<[string, { type: string; default: unknown; min?: number; max?: number; values?: readonly string[]; doc: string }]>) {
    const env = 'WEBKA_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
    const range = d.values ? d.values.join(', ') : d.min !== undefined ? `${d.min} to ${d.max}` : '';
    out += `| \`${key}\` | \`${env}\` | \`${JSON.stringify(d.default)}\` | ${range} | ${d.doc} |\n`;
  }
  out += '\n## Topic configs\n\n';
  out += 'Set per topic (`configs` on create, `PATCH` to change; `null` removes an override) or per cluster\n';
  out += '(`defaults.configs`). A topic without an override follows its cluster, then the default here.\n\n';
  out += '| key | default | allowed | meaning |\n|---|---|---|---|\n';
  for (const [key, d] of Object.entries(TOPIC_CONFIGS)) {
    const allowed = d.values ? d.values.join(', ') : `integer, ${d.min} to ${d.max}`;
    out += `| \`${key}\` | \`${JSON.stringify(d.default)}\` | ${allowed} | ${d.doc} |\n`;
  }
  return out;
}

export const GENERATED: Record<string, () => string> = {
  'docs/errors.md': errorsDoc,
  'docs/configuration.md': configDoc,
};

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [file, make] of Object.entries(GENERATED)) {
    fs.writeFileSync(path.join(root, file), make());
    console.log(`wrote ${file}`);
  }
}
