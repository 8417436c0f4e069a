/** Runs a child process to its end and answers its exit code with its stdout and stderr together, in order of arrival. */
import { spawn, type SpawnOptions } from 'node:child_process';

export function runCollecting(command: string, args: string[], options: Pick<SpawnOptions, 'cwd' | 'env'>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
