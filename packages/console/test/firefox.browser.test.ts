/**
 * The console in Firefox: every console browser test file run again, each in a process of its
 * own with WEBKA_TEST_BROWSER=firefox, so that support.ts drives Debian's firefox-esr (installed by
 * this test when missing, as root) over WebDriver BiDi instead of Chromium. A file passes when its
 * run fails nothing, skips nothing and passes at least one test.
 *
 * Where the tool cannot do in Firefox what a test asks, the test says so itself (the theme test
 * cannot emulate the OS's dark preference there); support.ts documents the two quirks it works
 * around (fill() on number inputs, the screenshot's style blocked by the page's CSP).
 * Safari's engine has a file of its own (webkit.browser.test.ts, over WebDriver), left out here.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { firefoxUnavailable } from '../../client/test/support/firefox.js';
import { runCollecting } from '../../server/test/support/run-child.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const self = path.basename(fileURLToPath(import.meta.url));
const files = fs.readdirSync(here).filter((f) => f.endsWith('.browser.test.ts') && f !== self && f !== 'webkit.browser.test.ts').sort();

const unavailable = firefoxUnavailable();
if (unavailable !== undefined) console.log(`# console tests in Firefox skipped: ${unavailable}`);

function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...rest } = env;
  return rest;
}

function runInFirefox(file: string): Promise<{ code: number | null; output: string }> {
  // (without NODE_TEST_CONTEXT: set by the runner that started this file, it would make the
  // child report to that runner in its own format instead of printing TAP here)
  return runCollecting(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', path.join(here, file)], {
    cwd: here,
    env: { ...withoutTestContext(process.env), WEBKA_TEST_BROWSER: 'firefox' },
  });
}

const count = (output: string, what: string): number => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(output)?.[1] ?? NaN);

test('there are console browser test files to run in Firefox', () => {
  assert.ok(files.length >= 5, `found only ${files.join(', ')}`);
});

// two files at a time: each runs its own broker and browser
describe('the console browser tests in Firefox', { concurrency: 2 }, () => {
  for (const file of files) {
    test(`${file} passes in Firefox`, { skip: unavailable, timeout: 240_000 }, async (t) => {
      const { code, output } = await runInFirefox(file);
      const failures = output.split('\n').filter((l) => /^\s*not ok /.test(l));
      const [pass, fail, skipped] = [count(output, 'pass'), count(output, 'fail'), count(output, 'skipped')];
      t.diagnostic(`${file} in Firefox: ${pass} passed, ${fail} failed, ${skipped} skipped`);
      for (const d of output.split('\n').filter((l) => /^\s*# Firefox/.test(l))) t.diagnostic(d.trim().slice(2));
      assert.equal(code, 0, `${file} failed in Firefox:\n${failures.join('\n')}\n${output.slice(-3000)}`);
      assert.equal(fail, 0);
      assert.equal(skipped, 0, 'nothing may skip in Firefox');
      assert.ok(pass > 0, `${file} ran no test in Firefox:\n${output.slice(-2000)}`);
    });
  }
});
