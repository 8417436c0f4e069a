/**
 * The file layer under the log. Storage talks to the disk only through this interface so that a
 * test can swap in a file system that tears the last write, forgets what was never fsynced or
 * flips a bit (test/support/faulty-fs.ts), and check recovery against a model.
 *
 * Everything is synchronous except `datasync`: writes land in the page cache in microseconds and
 * keeping them synchronous preserves append order without queues, while fsync takes milliseconds
 * and runs on libuv's thread pool so that group commit can gather the appends that arrive meanwhile.
 *
 * Modes: the data directory holds the catalog (with the scrypt hashes of API keys), signing keys
 * and every record, so directories are made 0700 and files 0600 (owner only), whatever the umask
 * would have let through (docs/security.md, "Files").
 */
import fs from 'node:fs';
import path from 'node:path';

export interface FileSystem {
  /** Opens for read and append, creating it when `create` is set. Returns a handle. */
  open(file: string, create: boolean): number;
  close(fd: number): void;
  size(fd: number): number;
  /** Writes all of buf at position (or at the end when position is omitted). */
  write(fd: number, buf: Uint8Array, position: number): void;
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  truncate(fd: number, size: number): void;
  datasync(fd: number): Promise<void>;
  exists(file: string): boolean;
  mkdirp(dir: string): void;
  readdir(dir: string): string[];
  unlink(file: string): void;
  rename(from: string, to: string): void;
  rmrf(dir: string): void;
  /** fsync of a directory, so that a created, renamed or deleted entry survives a power cut. */
  syncDir(dir: string): void;
  readFile(file: string): Buffer;
  /** Writes a whole small file atomically: temp file, fsync, rename, directory fsync. */
  writeFileAtomic(file: string, data: Uint8Array | string): void;
  /**
   * Creates a whole small file under a name that must be free, atomically: temp file, fsync,
   * link to the name (which fails with EEXIST when it is taken), directory fsync. Of several
   * callers racing for one name exactly one succeeds, and no reader ever sees the file partial.
   */
  writeFileExclusive(file: string, data: Uint8Array | string): void;
}

/**
 * Creates dir and its missing parents, fsyncing the parent of each directory it creates, so that
 * the new entries survive a power cut (a directory is durable only once its parent is synced).
 */
export function makeDirDurable(fs: FileSystem, dir: string): void {
  if (fs.exists(dir)) return;
  const parent = path.dirname(dir);
  if (parent !== dir) makeDirDurable(fs, parent);
  fs.mkdirp(dir);
  fs.syncDir(parent);
}

/** Files in the data directory: owner read and write only. */
export const FILE_MODE = 0o600;
/** Directories in the data directory: owner only. */
export const DIR_MODE = 0o700;

/**
 * Takes group and other rights away from an existing data directory and its catalog (made by an
 * older version, or by hand with the default umask). Returns the mode it had when it was looser.
 */
export function restrictDataDir(dir: string): number | null {
  const mode = fs.statSync(dir).mode & 0o777;
  for (const name of ['catalog.json']) {
    const file = path.join(dir, name);
    if (fs.existsSync(file) && (fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, FILE_MODE);
  }
  if ((mode & 0o077) === 0) return null;
  fs.chmodSync(dir, DIR_MODE);
  return mode;
}

export const nodeFileSystem: FileSystem = {
  open(file, create) {
    return fs.openSync(file, create ? fs.constants.O_RDWR | fs.constants.O_CREAT : fs.constants.O_RDWR, FILE_MODE);
  },
  close(fd) {
    fs.closeSync(fd);
  },
  size(fd) {
    return fs.fstatSync(fd).size;
  },
  write(fd, buf, position) {
    let done = 0;
    while (done < buf.length) {
      done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
    }
  },
  read(fd, buf, offset, length, position) {
    return fs.readSync(fd, buf, offset, length, position);
  },
  truncate(fd, size) {
    fs.ftruncateSync(fd, size);
  },
  datasync(fd) {
    return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  },
  exists(file) {
    return fs.existsSync(file);
  },
  mkdirp(dir) {
    fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  },
  readdir(dir) {
    return fs.readdirSync(dir);
  },
  unlink(file) {
    fs.unlinkSync(file);
  },
  rename(from, to) {
    fs.renameSync(from, to);
  },
  rmrf(dir) {
    fs.rmSync(dir, { recursive: true, force: true });
  },
  syncDir(dir) {
    const fd = fs.openSync(dir, fs.constants.O_RDONLY);
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  readFile(file) {
    return fs.readFileSync(file);
  },
  writeFileAtomic(file, data) {
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w', FILE_MODE);
    try {
      // a temp file left by a crash keeps its old mode through open(): set it
      fs.fchmodSync(fd, FILE_MODE);
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } catch (err) {
      // a full disk must not also keep a half-written temp file taking space
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
    this.syncDir(path.dirname(file));
  },
  writeFileExclusive(file, data) {
    // a temp name of this process alone: racing callers never share one
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w', FILE_MODE);
    try {
      try {
        fs.writeFileSync(fd, data);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.linkSync(tmp, file);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    this.syncDir(path.dirname(file));
  },
};
