/**
 * Debian packages that tests need (kcat, python3-confluent-kafka): installed by the test command
 * itself, as root, with apt-get, under a lock so that test files running at once do not run
 * apt-get together. needDebianPackages() returns null when they are there (or were installed),
 * else the reason to print when skipping.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

export interface DebianNeed {
  /** The Debian package names to install. */
  packages: string[];
  /** A shell command that exits 0 when what the test needs works. */
  check: string;
}

function works(check: string): boolean {
  return spawnSync('sh', ['-c', check], { stdio: 'ignore', timeout: 60_000 }).status === 0;
}

export function needDebianPackages(need: DebianNeed): string | null {
  if (works(need.check)) return null;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return `${need.packages.join(', ')} missing and not root: apt-get install -y ${need.packages.join(' ')}`;
  if (spawnSync('sh', ['-c', 'command -v apt-get && command -v flock'], { stdio: 'ignore' }).status !== 0) return `${need.packages.join(', ')} missing and this is not a Debian system with apt-get`;
  const lock = path.join(os.tmpdir(), 'webka-apt.lock');
  const install = `(${need.check}) >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${need.packages.join(' ')})`;
  const r = spawnSync('flock', [lock, 'sh', '-c', install], { encoding: 'utf8', timeout: 15 * 60_000 });
  if (works(need.check)) return null;
  return `could not install ${need.packages.join(', ')} (apt-get exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`;
}

/** kcat, Debian's build of the librdkafka command-line client. */
export const KCAT: DebianNeed = { packages: ['kcat'], check: 'command -v kcat' };

/** Debian's python3-confluent-kafka (librdkafka 2.0.2); it loads only in Debian's own python3. */
export const CONFLUENT_KAFKA: DebianNeed = { packages: ['python3-confluent-kafka'], check: '/usr/bin/python3 -c "import confluent_kafka"' };
