import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { UsageError, type CliIO } from '../../src-main/cli/command';
import { loadCommands } from '../../src-main/cli/commands/index';
import importCmd from '../../src-main/cli/commands/import';
import datasetsCmd from '../../src-main/cli/commands/datasets';
import dbCmd from '../../src-main/cli/commands/db';
import { openStore } from '../../src-main/db/store';
import { removeDir, tempDir, writeNoiseImages } from '../db/helpers';

function captureIO() {
  const lines: string[] = [];
  const progress: string[] = [];
  const io: CliIO = { out: (l) => lines.push(l), err: (l) => lines.push(l), progress: (l) => progress.push(l) };
  return { io, lines, progress, text: () => lines.join('\n') };
}

let root: string;
let dataDir: string;
let src: string;
beforeAll(async () => {
  root = tempDir('bgad-cli-');
  dataDir = join(root, 'data');
  src = join(root, 'parts');
  await writeNoiseImages(src, 6, { seed0: 40 });
});
afterAll(() => removeDir(root));

describe('bgad import, datasets and db', () => {
  it('are registered with the other commands', async () => {
    const names = (await loadCommands()).map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['import', 'datasets', 'db']));
  });

  it('import prints the counts it imported, skipped and rejected, into the chosen data folder', async () => {
    const a = captureIO();
    expect(await importCmd.run({ values: { 'data-dir': dataDir, dataset: 'Parts' }, positionals: [src] }, a.io)).toBe(0);
    expect(a.text()).toMatch(/Imported: 6 of 6 images into dataset "Parts"/);
    expect(a.text()).toMatch(/skipped duplicates:\s+0/);
    expect(a.text()).toMatch(/rejected:\s+0/);
    expect(a.progress.some((l) => /6\/6 images/.test(l))).toBe(true);
    expect(existsSync(join(dataDir, 'bgad.sqlite'))).toBe(true);

    const b = captureIO();
    expect(await importCmd.run({ values: { 'data-dir': dataDir, dataset: 'Parts', json: true }, positionals: [src] }, b.io)).toBe(0);
    const summary = JSON.parse(b.text()) as { imported: number; duplicates: unknown[] };
    expect(summary.imported).toBe(0);
    expect(summary.duplicates.length).toBe(6);
  });

  it('datasets lists them as a table and as JSON', async () => {
    const a = captureIO();
    expect(await datasetsCmd.run({ values: { 'data-dir': dataDir }, positionals: [] }, a.io)).toBe(0);
    expect(a.lines[0]).toMatch(/^\s*ID\s+NAME\s+IMAGES/);
    expect(a.lines[1]).toMatch(/1\s+Parts\s+6\s+0\s+0\s+6/);
    const b = captureIO();
    await datasetsCmd.run({ values: { 'data-dir': dataDir, json: true }, positionals: [] }, b.io);
    expect(JSON.parse(b.text())[0]).toMatchObject({ name: 'Parts', imageCount: 6, counts: { unlabelled: 6 } });
  });

  it('db backup writes a copy that opens with the same rows, and db check passes', async () => {
    const out = join(root, 'backup.sqlite');
    const a = captureIO();
    expect(await dbCmd.run({ values: { 'data-dir': dataDir, out }, positionals: ['backup'] }, a.io)).toBe(0);
    const copy = new Database(out, { readonly: true });
    expect(copy.prepare(`SELECT count(*) AS n FROM images`).get()).toEqual({ n: 6 });
    copy.close();
    await expect(dbCmd.run({ values: { 'data-dir': dataDir, out }, positionals: ['backup'] }, captureIO().io)).rejects.toMatchObject({ code: 'CONFLICT' });
    const c = captureIO();
    expect(await dbCmd.run({ values: { 'data-dir': dataDir }, positionals: ['check'] }, c.io)).toBe(0);
    expect(c.text()).toMatch(/integrity:\s+ok/);
    expect(c.text()).toMatch(/OK$/);
  });

  it('db check fails when a referenced mask file is missing', async () => {
    const store = openStore({ dataDir });
    const img = store.db.prepare(`SELECT id FROM images LIMIT 1`).get() as { id: number };
    const t = store.db.prepare(`INSERT INTO defect_types (dataset_id, name, colour, created_at_ms) VALUES (1, 'dent', '#112233', 0) RETURNING id`).get() as { id: number };
    store.db.prepare(`INSERT INTO masks (image_id, defect_type_id, file, width, height, area_px, created_at_ms, updated_at_ms) VALUES (?, ?, 'masks/1/gone.png', 24, 16, 3, 0, 0)`).run(img.id, t.id);
    store.close();
    const c = captureIO();
    expect(await dbCmd.run({ values: { 'data-dir': dataDir, json: true }, positionals: ['check'] }, c.io)).toBe(1);
    expect(JSON.parse(c.text())).toMatchObject({ ok: false, missingFiles: [{ table: 'masks', file: 'masks/1/gone.png' }] });
  });

  it('reject missing or unknown arguments as usage errors', async () => {
    await expect(importCmd.run({ values: {}, positionals: [] }, captureIO().io)).rejects.toBeInstanceOf(UsageError);
    await expect(dbCmd.run({ values: {}, positionals: ['explode'] }, captureIO().io)).rejects.toBeInstanceOf(UsageError);
    await expect(dbCmd.run({ values: { out: 'x' }, positionals: ['check'] }, captureIO().io)).rejects.toBeInstanceOf(UsageError);
  });
});
