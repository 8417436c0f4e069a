/**
 * One broker per data directory: a `.lock` file holding the owner's pid. A lock left by a
 * process that no longer runs (killed with SIGKILL, say) is taken over.
 */
import path from 'node:path';
import type { FileSystem } from './file-system.js';

export interface DataDirLock {
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireLock(fs: FileSystem, dataDir: string): DataDirLock {
  const file = path.join(dataDir, '.lock');
  if (fs.exists(file)) {
    const pid = Number(fs.readFile(file).toString('utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new Error(`the data directory ${dataDir} is in use by process ${pid}; stop it or choose another --data-dir`);
    }
  }
  fs.writeFileAtomic(file, String(process.pid));
  return {
    release() {
      try {
        fs.unlink(file);
      } catch {
        // already gone
      }
    },
  };
}
