/**
 * A process that races for data-directory locks (data-dir-lock.test.ts starts several): for each
 * directory given, it waits until that round's start time, tries acquireLock once and prints
 * `<round> won` or `<round> lost`. It never releases: a lock is held until the process exits.
 *   node --import tsx lock-contender.ts <roundMs> <dir>...
 * Once loaded it prints `ready` and reads the first round's start time (ms) from stdin. After the
 * last round it prints `end` and stays alive until it is killed: a winner that exited at once
 * would leave its lock stale, and a contender still behind on a loaded machine would rightly take
 * it over, winning the same round a second time.
 */
import { acquireLock } from '../../src/storage/data-dir-lock.js';
import { nodeFileSystem } from '../../src/storage/file-system.js';

const [roundMs, ...dirs] = process.argv.slice(2);
process.stdout.write('ready\n');
let input = '';
for await (const chunk of process.stdin) input += String(chunk);
const startAt = Number(input.trim());
for (const [round, dir] of dirs.entries()) {
  const at = startAt + round * Number(roundMs);
  while (Date.now() < at) {
    // spin: a timer would add milliseconds of skew between the contenders
  }
  let outcome = 'won';
  try {
    acquireLock(nodeFileSystem, dir);
  } catch (err) {
    outcome = /in use/.test((err as Error).message) ? 'lost' : `failed: ${(err as Error).message}`;
  }
  process.stdout.write(`${round} ${outcome}\n`);
}
process.stdout.write('end\n');
setInterval(() => {}, 1 << 30);
