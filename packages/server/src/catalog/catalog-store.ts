/**
 * Where the catalog lives (DESIGN decision 7). One interface so that a networked store (etcd or
 * PostgreSQL, when brokers form a cluster) can replace the file store without touching callers.
 * A store saves whole states atomically: after a crash at any point, load() returns either the
 * state before a save or the state after it, never a mix.
 */
import path from 'node:path';
import type { FileSystem } from '../storage/file-system.js';
import { WebkaError } from '../errors.js';
import type { ConfigMap } from './topic-config.js';

export interface ClusterRecord {
  name: string;
  description: string;
  createdAt: number;
  defaults: { partitions: number; replicationFactor: number; configs: ConfigMap };
}

export interface TopicRecord {
  id: string;
  cluster: string;
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: ConfigMap;
  createdAt: number;
  internal: boolean;
}

export interface NamedProducer {
  producerId: number;
  producerEpoch: number;
}

export interface CatalogState {
  version: 1;
  clusters: Record<string, ClusterRecord>;
  topics: Record<string, TopicRecord>;
  nextProducerId: number;
  /** Producers that asked for a stable identity by name: a new session bumps the epoch. */
  namedProducers: Record<string, NamedProducer>;
  /**
   * The principal that obtained each producer id (id -> principal), for ids handed out while
   * authentication was on: only it may write with the id (docs/security.md, "Ownership").
   */
  producerOwners?: Record<string, string>;
  /** Producers named by clients that choose their own epochs (Durable Streams' Producer-Id): name -> id. */
  clientProducers?: Record<string, number>;
  /** Free-form sections owned by other modules (auth principals, stream metadata, ...). */
  extensions: Record<string, unknown>;
}

export interface CatalogStore {
  load(): CatalogState | null;
  save(state: CatalogState): void;
}

/**
 * The embedded store: `catalog.json` in the data directory, replaced atomically on every change
 * (temp file, fsync, rename, directory fsync).
 */
export class FileCatalogStore implements CatalogStore {
  readonly file: string;
  #fs: FileSystem;

  constructor(fs: FileSystem, dataDir: string) {
    this.#fs = fs;
    this.file = path.join(dataDir, 'catalog.json');
  }

  load(): CatalogState | null {
    if (!this.#fs.exists(this.file)) return null;
    const text = this.#fs.readFile(this.file).toString('utf8');
    try {
      return JSON.parse(text) as CatalogState;
    } catch (err) {
      throw new Error(`the catalog ${this.file} is not valid JSON (${(err as Error).message}); restore it from a backup`);
    }
  }

  save(state: CatalogState): void {
    try {
      this.#fs.writeFileAtomic(this.file, JSON.stringify(state));
    } catch (err) {
      // a full or failing disk: the client hears a storage error (507), not an internal one
      throw new WebkaError('STORAGE_ERROR', `saving the catalog failed: ${(err as Error).message}; nothing was changed`);
    }
  }
}
