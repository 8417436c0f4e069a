#!/usr/bin/env node
// The `webka` command. The CLI itself is compiled to dist/ by `npm run build`; this file is
// committed so that `npm install` can link the command before that build has run.
import fs from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!fs.existsSync(main)) {
  process.stderr.write(`webka is not built yet (${main.pathname} is missing): run \`npm run build\` in the repository\n`);
  process.exit(1);
}
await import(main.href);
