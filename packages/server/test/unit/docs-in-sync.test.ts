import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED } from '../../../../scripts/gen-docs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

for (const [file, make] of Object.entries(GENERATED)) {
  test(`${file} matches the code it documents (run npm run docs after changing it)`, () => {
    const committed = fs.readFileSync(path.join(root, file), 'utf8');
    assert.equal(committed, make());
  });
}
