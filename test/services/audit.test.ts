/**
 * The `audit` group over a real data folder: actions taken through the API are listed with
 * each filter and in pages, newest first, and written as CSV (formula-looking cells
 * neutralised; an existing file refused unless overwrite).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHandlers } from '../../src-main/common/api';
import { dispatch } from '../../src-main/api-host/dispatch';
import { createModelVersion } from '../../src-main/db/model-versions';
import { openStore, type Store } from '../../src-main/db/store';
import { parseCsv } from '../../src-main/reports/csv';
import { createApiHandlers, JobHub, SettingsStore } from '../../src-main/services';

let dir: string;
let store: Store;
let h: ApiHandlers;
let tiles: number;
let evil: number;
let imageIds: number[];
let modelId: number;
let tBefore: number;
let tMiddle: number;

function addImage(datasetId: number, rel: string): number {
  const r = store.db.prepare(`INSERT INTO images (dataset_id, path, sha256, width, height, channels, bit_depth, format, bytes, label, source, created_at_ms, updated_at_ms)
    VALUES (?, ?, ?, 4, 3, 1, 8, 'png', 10, 'unlabelled', ?, 0, 0) RETURNING id`).get(datasetId, join(dir, rel), rel.padEnd(64, '0').slice(0, 64).replace(/[^0-9a-f]/g, 'a'), rel) as { id: number };
  return r.id;
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-audit-'));
  store = openStore({ dataDir: join(dir, 'data') });
  const jobs = new JobHub({ progressIntervalMs: 0 });
  const settings = new SettingsStore(join(dir, 'settings.json'), { dataDir: store.layout.root, executionProvider: 'cpu', threads: 0 });
  h = createApiHandlers({ store, dataDir: store.layout.root, jobs, settings, mode: 'browser', version: '1.0.0', canChangeDataDir: false });
  tBefore = Date.now() - 1;
  tiles = (await h['datasets.create']({ name: 'Tiles' })).id;
  imageIds = [addImage(tiles, 'train/good/000.png'), addImage(tiles, 'test/crack/001.png')];
  await h['images.setLabel']({ imageIds: [imageIds[0]!], label: 'good' });
  await h['images.setLabel']({ imageIds: [imageIds[1]!], label: 'defect' });
  const crack = await h['defectTypes.create']({ datasetId: tiles, name: 'crack' });
  await h['masks.save']({ imageId: imageIds[1]!, defectTypeId: crack.id, width: 4, height: 3, data: Uint8Array.from([0, 255, 255, 0, 0, 255, 0, 0, 0, 0, 0, 0]) });
  // a model version without a bundle file: its threshold lives in its row alone
  modelId = createModelVersion(store, { datasetId: tiles, backboneId: 'b', backboneHash: 'h', threshold: 1 }).id;
  await sleep(5);
  tMiddle = Date.now();
  await sleep(5);
  await h['models.setThreshold']({ modelId, threshold: 1.5 });
  await h['models.activate']({ modelId });
  // a dataset named like a spreadsheet formula, then deleted (its name is the event's subject)
  evil = (await h['datasets.create']({ name: '=HYPERLINK("http://x","y")' })).id;
  await h['datasets.delete']({ datasetId: evil, confirmName: '=HYPERLINK("http://x","y")' });
});

afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('audit.list', () => {
  it('lists every audited action newest first, with its kind, subject and detail', async () => {
    const page = await h['audit.list']({});
    expect(page.total).toBe(6);
    expect(page.rows.map((r) => r.kind)).toEqual(['dataset.delete', 'model_version.activate', 'model_version.threshold', 'mask.mask_create', 'image.label', 'image.label']);
    const ids = page.rows.map((r) => r.id);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    const label = page.rows.find((r) => r.kind === 'image.label' && r.entityId === imageIds[1]);
    expect(label).toMatchObject({ datasetId: tiles, datasetName: 'Tiles', subject: 'test/crack/001.png', actor: null, detail: 'label: unlabelled → defect' });
    expect(page.rows.find((r) => r.kind === 'model_version.threshold')).toMatchObject({ subject: 'model v1', detail: 'threshold: 1 → 1.5' });
    expect(page.rows[0]).toMatchObject({ kind: 'dataset.delete', subject: '=HYPERLINK("http://x","y")', datasetName: '=HYPERLINK("http://x","y")', datasetId: evil });
    expect(page.rows[0]!.detail).toMatch(/^was: name =HYPERLINK/);
  });

  it('filters by kind, dataset, time range and text, and pages', async () => {
    const all = await h['audit.list']({});
    const labels = await h['audit.list']({ kinds: ['image.label'] });
    expect(labels.total).toBe(2);
    expect(labels.rows.every((r) => r.kind === 'image.label')).toBe(true);
    expect((await h['audit.list']({ kinds: ['image.label', 'mask.mask_create'] })).total).toBe(3);
    expect((await h['audit.list']({ kinds: [] })).total).toBe(all.total);
    expect((await h['audit.list']({ datasetId: evil })).rows.map((r) => r.kind)).toEqual(['dataset.delete']);
    expect((await h['audit.list']({ datasetId: tiles })).total).toBe(all.total - 1);
    const later = await h['audit.list']({ fromMs: tMiddle });
    expect(later.rows.map((r) => r.kind)).toEqual(['dataset.delete', 'model_version.activate', 'model_version.threshold']);
    expect((await h['audit.list']({ fromMs: tBefore, toMs: tMiddle })).total).toBe(all.total - 3);
    expect((await h['audit.list']({ search: '001.png' })).rows.map((r) => r.kind).sort()).toEqual(['image.label', 'mask.mask_create']);
    expect((await h['audit.list']({ search: 'hyperlink' })).total).toBe(1);
    expect((await h['audit.list']({ search: '%' })).total).toBe(0); // a wildcard is text, not a pattern
    const p1 = await h['audit.list']({ limit: 2 });
    const p2 = await h['audit.list']({ limit: 2, offset: 2 });
    expect(p1.total).toBe(all.total);
    expect([...p1.rows, ...p2.rows].map((r) => r.id)).toEqual(all.rows.slice(0, 4).map((r) => r.id));
    expect(await h['audit.kinds']({})).toEqual(['dataset.delete', 'image.label', 'mask.mask_create', 'model_version.activate', 'model_version.threshold']);
  });

  it('validates its arguments with the field named', async () => {
    expect(await dispatch(h, 'audit.list', { limit: 0 })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(await dispatch(h, 'audit.list', { kinds: 'image.label' })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(await dispatch(h, 'audit.exportCsv', { outPath: 'relative.csv' })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
  });

  it('leaves the log append-only', () => {
    expect(() => store.db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
  });
});

describe('audit.exportCsv', () => {
  it('writes the filtered events as CSV with a header, formula-looking cells neutralised', async () => {
    const out = join(dir, 'audit');
    const r = await h['audit.exportCsv']({ outPath: out });
    expect(r).toEqual({ path: `${out}.csv`, rows: 6 });
    const rows = parseCsv(readFileSync(r.path, 'utf8'));
    expect(rows[0]).toEqual(['id', 'time_utc', 'at_ms', 'kind', 'actor', 'dataset_id', 'dataset', 'subject', 'detail', 'old', 'new']);
    expect(rows).toHaveLength(7);
    const del = rows[1]!;
    expect(del[3]).toBe('dataset.delete');
    expect(del[6]).toBe(`'=HYPERLINK("http://x","y")`);
    expect(del[7]).toBe(`'=HYPERLINK("http://x","y")`);
    expect(del[1]).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    const labels = await h['audit.exportCsv']({ outPath: join(dir, 'labels.csv'), kinds: ['image.label'], datasetId: tiles });
    expect(labels.rows).toBe(2);
    expect(parseCsv(readFileSync(labels.path, 'utf8')).slice(1).map((row) => [row[3], row[7], row[8]])).toEqual([
      ['image.label', 'test/crack/001.png', 'label: unlabelled → defect'],
      ['image.label', 'train/good/000.png', 'label: unlabelled → good'],
    ]);
  });

  it('refuses to replace an existing file unless overwrite is true', async () => {
    const out = join(dir, 'kept.csv');
    writeFileSync(out, 'KEEP');
    expect(await dispatch(h, 'audit.exportCsv', { outPath: out })).toMatchObject({ ok: false, error: { code: 'CONFLICT', subject: out } });
    expect(readFileSync(out, 'utf8')).toBe('KEEP');
    expect(await dispatch(h, 'audit.exportCsv', { outPath: out, overwrite: true, kinds: ['model_version.activate'] })).toEqual({ ok: true, value: { path: out, rows: 1 } });
    expect(readFileSync(out, 'utf8')).toMatch(/^id,time_utc/);
    expect(existsSync(join(dir, 'missing-folder'))).toBe(false);
    expect(await dispatch(h, 'audit.exportCsv', { outPath: join(dir, 'missing-folder', 'a.csv') })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });
});
