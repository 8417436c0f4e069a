/**
 * The first start with authentication on makes a superuser "admin" and one API key for it. The
 * key must reach the operator once without entering shared logs (which are often shipped to a
 * log service), so it is written to `<dataDir>/initial-admin-key` with mode 0600 and only that
 * path is logged. The operator reads it, stores it in a secret manager, and deletes the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AuthStore } from './auth-store.js';
import { WebkaError } from '../errors.js';

export const INITIAL_KEY_FILE = 'initial-admin-key';

export async function bootstrapAdmin(store: AuthStore, dataDir: string): Promise<string | null> {
  if (store.listPrincipals().length > 0) return null;
  let admin;
  try {
    admin = await store.createPrincipal({ name: 'admin', kind: 'user', superuser: true, description: 'Created at first start' });
  } catch (err) {
    // another broker of the cluster, starting at the same time, made it first
    if (err instanceof WebkaError && err.code === 'PRINCIPAL_EXISTS') return null;
    throw err;
  }
  const { key, id } = await store.createKey(admin.name, 'initial admin key');
  const file = path.join(dataDir, INITIAL_KEY_FILE);
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    fs.writeSync(fd, `# Webka initial admin credential (key id ${id}). Store it safely, then delete this file.\nprincipal=admin\nkey=${key}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** Reads the key from an initial-admin-key file (used by the CLI and tests). */
export function readInitialKey(dataDir: string): string {
  const text = fs.readFileSync(path.join(dataDir, INITIAL_KEY_FILE), 'utf8');
  const m = /^key=(\S+)$/m.exec(text);
  if (m === null) throw new Error(`${INITIAL_KEY_FILE} holds no key`);
  return m[1];
}
