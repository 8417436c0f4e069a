/**
 * Runs real Kafka clients against a test broker: kcat (librdkafka's command-line client) and
 * Debian's python3 with confluent-kafka. Each call is a child process with a deadline; the
 * output is returned, never parsed here.
 */
import { spawn } from 'node:child_process';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], input = '', timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** kcat against the broker at 127.0.0.1:port, with any extra arguments. */
export function kcat(port: number, args: string[], input = '', timeoutMs = 30_000): Promise<Run> {
  return run('kcat', ['-b', `127.0.0.1:${port}`, ...args], input, timeoutMs);
}

/** A Python program run by Debian's python3 (where confluent_kafka lives), with argv. */
export function python(program: string, args: string[], timeoutMs = 60_000): Promise<Run> {
  return run('/usr/bin/python3', ['-c', program, ...args], '', timeoutMs);
}
