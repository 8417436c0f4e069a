// vitest settings for run-suite.mjs. Our own include pattern, because vitest skips
// node_modules (where the suite lives); a test timeout well above the server's long-poll
// timeout, because two tests wait for a long-poll 204 under the global timeout; one retry of a
// failed test, because the suite's TTL tests allow a few hundred milliseconds between a 2 s TTL
// and the request that must beat it, which a loaded CI machine can miss (conformance.test.ts
// accepts a pass on retry only for those clock-bound groups and prints each).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['run-suite.mjs'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    retry: 1,
  },
});
