/**
 * The audit trail of admin changes: who (principal and how it authenticated), what (action and
 * its target, never a key or token), when, and from where. One JSON object per line in
 * `<dataDir>/audit.log` (appended synchronously, so a change is on record before its answer) and
 * the same object on the logger under `audit: true`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { redactDeep } from './secrets.js';

export interface AuditEntry {
  principal: string;
  via: string;
  action: string;
  target?: Record<string, unknown>;
  outcome: 'success' | 'failure';
  status?: number;
  requestId?: string;
  address?: string;
}

export class AuditLog {
  #fd: number | null;
  #log: (entry: Record<string, unknown>) => void;

  constructor(dataDir: string, log: (entry: Record<string, unknown>) => void) {
    this.#fd = fs.openSync(path.join(dataDir, 'audit.log'), 'a', 0o600);
    this.#log = log;
  }

  record(raw: AuditEntry): void {
    // a target quotes request params and body fields: a key pasted into one never reaches the log
    const entry = redactDeep(raw);
    if (this.#fd !== null) fs.writeSync(this.#fd, JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n');
    this.#log({ ...entry });
  }

  close(): void {
    if (this.#fd !== null) fs.closeSync(this.#fd);
    this.#fd = null;
  }
}
