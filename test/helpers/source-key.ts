/**
 * Keys for test caches kept in the system temp folder: a sha256 over the given recipe and every
 * source file under the named `src-main/` folders, so a cache built by other code or another
 * recipe is never reused (a fresh machine and a developer's machine run the same tests).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function sourceKey(sourceDirs: string[], recipe: unknown): string {
  const h = createHash('sha256').update(JSON.stringify(recipe));
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  for (const d of [...sourceDirs].sort()) {
    for (const f of walk(join(REPO_ROOT, 'src-main', d)).sort()) h.update(f.slice(REPO_ROOT.length)).update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}
