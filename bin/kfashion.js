#!/usr/bin/env node
// Entry point of the `kfashion` command; the TypeScript sources are compiled to dist/ by `npm ci` (prepare).
require('../dist/src/cli/main.js')
  .main(process.argv)
  .catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
