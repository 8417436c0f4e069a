// vitest settings for run-suite.mjs. Our own include pattern, because vitest skips
// node_modules (where the suite lives); a test timeout well above the server's long-poll
// timeout, because two tests wait for a long-poll 204 under the global timeout.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['run-suite.mjs'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
