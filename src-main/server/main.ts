#!/usr/bin/env node
/**
 * dist/server/main.js: browser mode without the rest of the CLI (headless stations).
 * Same options as `bgad serve`: [--port N] [--data-dir DIR] [--open]. A composition root.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isAppError } from '../common/errors';
import { findAppRoot, runServe, startErrorLine } from '../api-host/serve';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, 'data-dir': { type: 'string' }, open: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log('Usage: node dist/server/main.js [--port N] [--data-dir DIR] [--open]');
    return 0;
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    console.error(`--port must be an integer from 0 to 65535, got "${values.port}"`);
    return 2;
  }
  return runServe({ port, dataDir: values['data-dir'], open: values.open, appRoot: findAppRoot(dirname(fileURLToPath(import.meta.url))) });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const line = startErrorLine(e);
    if (line) {
      // a port in use or not allowed: one line, what to do, exit status 2
      console.error(line);
      process.exitCode = 2;
      return;
    }
    console.error(isAppError(e) ? `bgad serve: ${e.describe()}` : e);
    process.exitCode = 1;
  },
);
