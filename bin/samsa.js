#!/usr/bin/env node
'use strict';
// The `samsa` command. The TypeScript sources are compiled to dist/ by `npm run build`
// (the Makefile does it for every target).
const path = require('path');
const fs = require('fs');
const entry = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('samsa: not built yet; run `make build` (or `npm ci && npm run build`) in the repository first\n');
  process.exit(2);
}
require(entry).main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(String(error && error.message ? error.message : error) + '\n');
  process.exit(1);
});
