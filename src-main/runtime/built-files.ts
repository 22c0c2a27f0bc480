/**
 * Where the built engine scripts (`dist/engine/*.js`, see scripts/build.mjs) are, from a
 * bundle in dist/ (cli, engine, app) or from the sources under src-main/ (tests).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The path of `dist/engine/<name>`, or null when it has not been built. */
export function findEngineScript(name: string): string | null {
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '..', 'engine', name), join(here, '..', '..', 'dist', 'engine', name), join(process.cwd(), 'dist', 'engine', name)];
  return candidates.find((p) => existsSync(p)) ?? null;
}
