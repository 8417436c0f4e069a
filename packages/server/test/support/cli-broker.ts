/**
 * Runs the real `webka start` command (the built CLI) as a child process and finds its URL in
 * the "webka is ready" JSON log line, so tests can use port 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');

export interface CliBroker {
  child: ChildProcess;
  url: string;
  /** Every stdout line so far, parsed when JSON. */
  lines: any[];
  stderr(): string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
}

export interface CliRun {
  child: ChildProcess;
  exited: Promise<number | string>;
  stdout(): string;
  stderr(): string;
}

/** Runs the built CLI with args; `exec` is a command prefix to run it under (a test host's). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string, exec: string[] = []): CliRun {
  const [command, ...prefix] = [...exec, process.execPath];
  return runCommand(command, [...prefix, CLI, ...args], { PATH: process.env.PATH, WEBKA_KAFKA_PORT: '0', ...env }, cwd);
}

/**
 * Runs any command (the installed `npx webka`, a single executable) with exactly env. With
 * group, it leads its own process group, so a wrapper's children can be stopped with it.
 */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string, group = false): CliRun {
  const child = spawn(command, args, { env, cwd, detached: group, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, exited, stdout: () => out, stderr: () => err };
}

/**
 * Stops a process group started by runCommand(..., group = true) and waits until none of its
 * processes is left: a wrapper such as npx can exit before the broker it started has finished
 * shutting down (and writing to its data directory). SIGKILL after timeoutMs.
 */
export async function stopGroup(run: { child: ChildProcess }, timeoutMs = 15_000): Promise<void> {
  const pgid = run.child.pid!;
  const alive = (): boolean => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(-pgid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  let killed = false;
  // a zombie left unreaped still answers signal 0: give up 5 s after SIGKILL
  while (alive() && Date.now() < deadline + 5_000) {
    if (!killed && Date.now() > deadline) {
      process.kill(-pgid, 'SIGKILL');
      killed = true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `webka start` with args (on loopback unless args name a --host) and waits for the ready line (or fails with its output). */
export async function startCliBroker(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000, exec: string[] = []): Promise<CliBroker> {
  return waitForReady(runCli(['start', '--host', '127.0.0.1', ...args], env, undefined, exec), timeoutMs);
}

/** Waits for a starting broker's "webka is ready" line (or fails with its output). */
export async function waitForReady(run: CliRun, timeoutMs = 30_000): Promise<CliBroker> {
  const lines: any[] = [];
  let buffered = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      run.child.kill('SIGKILL');
      reject(new Error(`no ready line in ${timeoutMs} ms; stderr: ${run.stderr()}`));
    }, timeoutMs);
    run.child.stdout!.on('data', (d: string) => {
      buffered += d;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let parsed: any = line;
        try {
          parsed = JSON.parse(line);
        } catch {
          // not JSON
        }
        lines.push(parsed);
        if (parsed?.msg === 'webka is ready' && typeof parsed.url === 'string') {
          clearTimeout(timer);
          resolve(parsed.url);
        }
      }
    });
    void run.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`webka exited (${code}) before it was ready; stderr: ${run.stderr()}`));
    });
  });
  return { child: run.child, url, lines, stderr: run.stderr, exited: run.exited };
}
