#!/usr/bin/env node
// Entry for `npx bgad`: runs the built CLI (npm ci builds it through the "prepare" script).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'bgad.js');
if (!existsSync(cli)) {
  console.error('bgad: the program is not built yet. Run "npm run build" in ' + root + ' and try again.');
  process.exit(2);
}
await import(pathToFileURL(cli).href);
