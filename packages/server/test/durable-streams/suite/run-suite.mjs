// Runs the Durable Streams conformance suite (@durable-streams/server-conformance-tests, pinned
// in the root package.json) against the server at CONFORMANCE_TEST_URL. The suite is written
// for vitest, so conformance.test.ts starts Webka and runs this file with the suite's vitest.
// Not a *.test.* file on purpose: node's test runner must not pick it up.
import { describe } from 'vitest';
import { runConformanceTests } from '@durable-streams/server-conformance-tests';

const baseUrl = process.env.CONFORMANCE_TEST_URL;
if (!baseUrl) throw new Error('set CONFORMANCE_TEST_URL to the server under test (http://host:port)');

describe('Webka', () => {
  runConformanceTests({ baseUrl, longPollTimeoutMs: Number(process.env.LONGPOLL_TIMEOUT_MS ?? 20_000) });
});
