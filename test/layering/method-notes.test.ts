/** The method notes the code cites are in the repository: every `bgad/README.md §N` names a section there. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : /\.(ts|svelte)$/.test(e.name) ? [join(dir, e.name)] : []));

describe('method notes', () => {
  it('has a section in src-main/bgad/README.md for every citation in the code, and no citation of a document a clone lacks', () => {
    const notes = readFileSync(join(root, 'src-main', 'bgad', 'README.md'), 'utf8');
    const sections = new Set([...notes.matchAll(/^## §(\d+) /gm)].map((m) => m[1]));
    const cited = new Map<string, string>();
    const outside: string[] = [];
    for (const f of [...walk(join(root, 'src-main')), ...walk(join(root, 'src-renderer')), ...walk(join(root, 'test'))]) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/bgad\/README\.md §(\d+)/g)) cited.set(m[1]!, f);
      if (/bgad-method\.md/.test(text) && !f.endsWith('method-notes.test.ts')) outside.push(f);
    }
    expect(cited.size).toBeGreaterThanOrEqual(4);
    expect([...cited.keys()].filter((n) => !sections.has(n))).toEqual([]);
    expect(outside).toEqual([]);
  });
});
