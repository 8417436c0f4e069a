/**
 * Named contexts: several deployments' URLs (and optionally tokens and clusters) under short
 * names, stored in $XDG_CONFIG_HOME/webka/contexts.json (~/.config/webka/contexts.json):
 *
 *   { "current": "prod",
 *     "contexts": { "prod": { "url": "https://webka.example.com", "cluster": "default" } } }
 *
 * The file is written whole to a temporary file and renamed, so a crash never leaves half of it;
 * it is created with mode 0600 because it may hold tokens.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Context {
  url: string;
  token?: string;
  cluster?: string;
}

export interface ContextFile {
  current?: string;
  contexts: Record<string, Context>;
}

export function contextsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : path.join(env.HOME ?? os.homedir(), '.config');
  return path.join(base, 'webka', 'contexts.json');
}

export function readContexts(file = contextsPath()): ContextFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: {} };
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<ContextFile>;
  return { current: parsed.current, contexts: parsed.contexts ?? {} };
}

export function writeContexts(data: ContextFile, file = contextsPath()): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}
