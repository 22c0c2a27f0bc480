import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Violation { file: string; line: number; specifier: string; rule: string; message: string }
interface LayersModule {
  checkLayers(
    root: string,
    options?: { rootExceptions?: { from: string; to: string; why: string }[]; knownCycles?: { files: string[]; why: string }[] },
  ): { files: number; violations: Violation[] };
  LAYERS: string[][];
  findImports(text: string, isSvelte?: boolean): { specifier: string; line: number }[];
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const script = join(repoRoot, 'scripts', 'check-layers.mjs');
let layers: LayersModule;
let fake: string;

/** A minimal tree with one planted violation per rule, plus look-alikes that must pass. */
const FAKE_TREE: Record<string, string> = {
  'src-main/common/errors.ts': 'export class E {}\n',
  'src-main/common/c.ts': "import { E } from './errors';\nimport { y } from '../bgad/y';\n",
  'src-main/bgad/x.ts': [
    "// import fs from 'node:fs' (a comment, ignored)",
    "import fs from 'node:fs';",
    "import { E } from '../common/errors';",
    "import { a } from '../db/database';",
    "import sharp from 'sharp';",
    'const s = "import \'fs\'"; const kinds = \'import\' | \'export\';',
    "/* import path from 'node:path'; */ export const x = 1;",
  ].join('\n'),
  'src-main/metrics/m.ts': "import protobuf from 'protobufjs';\nimport path from 'path';\nimport { E } from '../common/errors';\n",
  'src-main/db/database.ts': "import Database from 'better-sqlite3';\nimport { main } from '../cli/run';\n",
  'src-main/cli/bgad.ts': "import { a } from './command';\nimport { z } from '../server/http';\nexport const main = 1;\n",
  'src-main/cli/commands/serve.ts': "import { runServe } from '../../server/serve';\n",
  'src-main/server/serve.ts': "import { E } from '../common/errors';\nimport { d } from '../db/database';\n",
  'src-main/preload/preload.ts': [
    "import { contextBridge } from 'electron';",
    "import type { Api } from '../common/api';",
    "import { s } from '../services/s';",
    "const fs = require('node:fs');",
  ].join('\n'),
  'src-main/services/s.ts': "import { app } from 'electron';\nimport { d } from '../db/database';\n",
  'src-renderer/lib/a.ts': [
    'import {',
    '  db,',
    "} from '../../src-main/db/database';",
    "import type { Api } from '../../src-main/common/api';",
    "import { ipcRenderer } from 'electron';",
    "export { v } from '../../src-main/common/validate';",
  ].join('\n'),
  'src-renderer/App.svelte': [
    '<script lang="ts">',
    "  import { onMount } from 'svelte';",
    "  import x from '../src-main/services/s';",
    '</script>',
    "<!-- import y from '../src-main/db/database' -->",
  ].join('\n'),
  'src-renderer/lazy.ts': "export const load = () => import('../src-main/inspection/run');\n",
  // the layer order: an upward import, a peer import, a folder missing from the table
  'src-main/training/t.ts': "import { E } from '../common/errors';\nexport const t = 1;\n",
  'src-main/images/img.ts': "import { E } from '../common/errors';\nimport { t } from '../training/t';\n",
  'src-main/inspection/i.ts': "import { d } from '../db/database';\nimport { t } from '../training/t';\n",
  'src-main/widgets/w.ts': "import { E } from '../common/errors';\n",
  // a folder cycle (no file cycle): lib -> views -> lib
  'src-renderer/lib/u.ts': 'export const u = 1;\n',
  'src-renderer/lib/w.ts': "import { v } from '../views/v';\nexport const w = v;\n",
  'src-renderer/views/v.ts': "import { u } from '../lib/u';\nexport const v = u;\n",
  // a file cycle inside one folder: p -> q -> p (type-only imports count)
  'src-main/synth/p.ts': "import type { Q } from './q';\nexport interface P { q: Q }\n",
  'src-main/synth/q.ts': "import { E } from '../common/errors';\nimport type { P } from './p.ts';\nexport interface Q { p: P }\n",
};

const EXPECTED = [
  'src-main/bgad/x.ts:2:pure-node',
  'src-main/bgad/x.ts:4:pure-outside',
  'src-main/bgad/x.ts:5:pure-package',
  'src-main/cli/bgad.ts:2:root-import',
  'src-main/cli/commands/serve.ts:1:root-import',
  'src-main/common/c.ts:2:common-outside',
  'src-main/db/database.ts:2:root-import',
  'src-main/images/img.ts:2:layer-order',
  'src-main/inspection/i.ts:2:layer-peer',
  'src-main/metrics/m.ts:2:pure-node',
  'src-main/preload/preload.ts:3:preload-only',
  'src-main/preload/preload.ts:4:preload-only',
  'src-main/services/s.ts:1:electron-only',
  'src-main/synth/p.ts:1:file-cycle',
  'src-main/widgets/w.ts:1:layer-unplaced',
  'src-renderer/App.svelte:3:renderer-main',
  'src-renderer/lazy.ts:1:renderer-main',
  'src-renderer/lib/a.ts:3:renderer-main',
  'src-renderer/lib/a.ts:5:renderer-node',
  'src-renderer/lib/w.ts:1:folder-cycle',
];

beforeAll(async () => {
  layers = (await import(pathToFileURL(script).href)) as LayersModule;
  fake = mkdtempSync(join(tmpdir(), 'bgad-layers-'));
  for (const [rel, text] of Object.entries(FAKE_TREE)) {
    mkdirSync(dirname(join(fake, rel)), { recursive: true });
    writeFileSync(join(fake, rel), text);
  }
});

afterAll(() => {
  if (fake) rmSync(fake, { recursive: true, force: true });
});

describe('the layering check', () => {
  it('finds no wrong-way import in the real tree', () => {
    const { files, violations } = layers.checkLayers(repoRoot);
    expect(files).toBeGreaterThan(10);
    expect(violations.map((v) => `${v.file}:${v.line} [${v.rule}] ${v.specifier}`)).toEqual([]);
  });

  it('reports every planted violation with its file, line and rule, and nothing else', () => {
    const { violations } = layers.checkLayers(fake);
    expect(violations.map((v) => `${v.file}:${v.line}:${v.rule}`).sort()).toEqual(EXPECTED);
  });

  it('reports a Node builtin in pure code and a renderer import of src-main/db', () => {
    const { violations } = layers.checkLayers(fake);
    expect(violations).toContainEqual(expect.objectContaining({ file: 'src-main/bgad/x.ts', specifier: 'node:fs', rule: 'pure-node' }));
    expect(violations).toContainEqual(expect.objectContaining({ file: 'src-renderer/lib/a.ts', specifier: '../../src-main/db/database', rule: 'renderer-main' }));
  });

  it('reports an upward import, a folder cycle and a file cycle with their paths', () => {
    const { violations } = layers.checkLayers(fake);
    const one = (rule: string) => violations.filter((v) => v.rule === rule);
    expect(one('layer-order')).toEqual([expect.objectContaining({ file: 'src-main/images/img.ts', line: 2, specifier: '../training/t' })]);
    expect(one('layer-order')[0]!.message).toMatch(/src-main\/images \(level \d+\) imports src-main\/training \(level \d+\), a higher level/);
    expect(one('folder-cycle')[0]!.message).toContain('folder cycle src-renderer/lib -> src-renderer/views -> src-renderer/lib (src-renderer/lib/w.ts:1, src-renderer/views/v.ts:1)');
    expect(one('file-cycle')[0]!.message).toContain('file cycle src-main/synth/p.ts -> src-main/synth/q.ts -> src-main/synth/p.ts');
    expect(one('layer-unplaced')[0]!.message).toContain('src-main/widgets is not in LAYERS');
  });

  it('lets a known cycle through, and only that one', () => {
    const knownCycles = [{ files: ['src-main/synth/q.ts', 'src-main/synth/p.ts'], why: 'test' }];
    const rules = layers.checkLayers(fake, { knownCycles }).violations.map((v) => v.rule);
    expect(rules).not.toContain('file-cycle');
    expect(rules).toContain('folder-cycle');
  });

  it('places every folder of src-main once, and only folders that exist', () => {
    const placed = layers.LAYERS.flat();
    expect(new Set(placed).size).toBe(placed.length);
    const folders = readdirSync(join(repoRoot, 'src-main'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect([...placed].sort()).toEqual(folders.sort());
  });

  it('lets an explicit root exception through and nothing more', () => {
    const rootExceptions = [{ from: 'src-main/cli', to: 'src-main/server/serve', why: 'test' }];
    const rules = layers.checkLayers(fake, { rootExceptions }).violations.map((v) => `${v.file}:${v.line}:${v.rule}`);
    expect(rules).not.toContain('src-main/cli/commands/serve.ts:1:root-import');
    expect(rules).toContain('src-main/cli/bgad.ts:2:root-import');
  });

  it('reads multi-line, dynamic, re-export and require imports but not comments or strings', () => {
    const found = layers.findImports(FAKE_TREE['src-renderer/lib/a.ts']).map((i) => `${i.line}:${i.specifier}`);
    expect(found).toEqual(['3:../../src-main/db/database', '4:../../src-main/common/api', '5:electron', '6:../../src-main/common/validate']);
    expect(layers.findImports(FAKE_TREE['src-main/bgad/x.ts']).map((i) => i.specifier)).toEqual(['node:fs', '../common/errors', '../db/database', 'sharp']);
    expect(layers.findImports(FAKE_TREE['src-main/preload/preload.ts']).map((i) => i.specifier)).toContain('node:fs');
  });

  it('exits 0 on the real tree when run as a script', () => {
    const ok = spawnSync(process.execPath, [script], { cwd: repoRoot, encoding: 'utf8' });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/no wrong-way imports/);
  });

  it('exits 1 and lists file:line and rule on a planted violation when run as a script', () => {
    const bad = spawnSync(process.execPath, [script, fake], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('src-main/bgad/x.ts:2: [pure-node]');
    expect(bad.stderr).toContain('src-renderer/lib/a.ts:3: [renderer-main]');
  });
});
