/** Catalog.atomically (several changes, one atomic save) and Durable Streams producer ids (stable ids by name, nothing stored). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Catalog } from '../../src/catalog/catalog.js';
import { streamProducerId } from '../../src/durable-streams/stream-producer-id.js';
import type { CatalogState, CatalogStore } from '../../src/catalog/catalog-store.js';

/** A store that keeps the last saved state, as the file store does on disk, and counts saves. */
class MemoryStore implements CatalogStore {
  saved: string | null = null;
  saves = 0;
  load(): CatalogState | null {
    return this.saved === null ? null : (JSON.parse(this.saved) as CatalogState);
  }
  save(state: CatalogState): void {
    this.saves++;
    this.saved = JSON.stringify(state);
  }
}

const limits = { maxPartitionsPerTopic: 10 };

test('atomically saves every change of the batch in one write', () => {
  const store = new MemoryStore();
  const catalog = new Catalog(store, limits);
  const before = store.saves;
  catalog.atomically(() => {
    catalog.createTopic('default', { name: 'a', partitions: 1 });
    catalog.setExtension('owner', { a: true });
    // changes are visible inside the batch
    assert.equal(catalog.findTopic('default', 'a')?.name, 'a');
  });
  assert.equal(store.saves, before + 1);
  const reloaded = new Catalog(store, limits);
  assert.equal(reloaded.findTopic('default', 'a')?.name, 'a');
  assert.deepEqual(reloaded.getExtension('owner'), { a: true });
});

test('a batch that throws keeps nothing, in memory or on disk', () => {
  const store = new MemoryStore();
  const catalog = new Catalog(store, limits);
  const before = store.saves;
  assert.throws(() =>
    catalog.atomically(() => {
      catalog.createTopic('default', { name: 'b', partitions: 1 });
      throw new Error('refused');
    }),
  );
  assert.equal(store.saves, before);
  assert.equal(catalog.findTopic('default', 'b'), undefined);
  // negative control: the same change outside a failing batch is kept
  catalog.createTopic('default', { name: 'b', partitions: 1 });
  assert.equal(new Catalog(store, limits).findTopic('default', 'b')?.name, 'b');
});

test('a Durable Streams producer name gets the same id for ever, distinct names distinct ids, and nothing is stored', () => {
  const store = new MemoryStore();
  const catalog = new Catalog(store, limits);
  const saves = store.saves;
  const a = streamProducerId(catalog, 'writer-a');
  const b = streamProducerId(catalog, 'writer-b');
  assert.notEqual(a, b);
  assert.equal(streamProducerId(catalog, 'writer-a'), a);
  assert.equal(store.saves, saves, 'naming a producer writes nothing to the catalog');
  const native = catalog.allocateProducer();
  assert.ok(native.producerId !== a && native.producerId !== b);
  assert.equal(streamProducerId(new Catalog(store, limits), 'writer-a'), a);
});
