/**
 * The inspection area through the API over a real data folder: set, read back (pixels and
 * info), change, clear; every change in the audit log; bad input refused naming the field;
 * training takes the area as it is when the run starts (a later change is the next training's).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHandlers } from '../../src-main/common/api';
import { dispatch } from '../../src-main/api-host/dispatch';
import { openStore, type Store } from '../../src-main/db/store';
import { createApiHandlers, JobHub, SettingsStore } from '../../src-main/services';

let dir: string;
let store: Store;
let h: ApiHandlers;
let ds: number;

/** A w x h area with the left `cols` columns inside. */
const leftColumns = (w: number, h: number, cols: number) => ({ width: w, height: h, pixels: Uint8Array.from({ length: w * h }, (_, i) => (i % w < cols ? 1 : 0)) });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-area-'));
  store = openStore({ dataDir: join(dir, 'data') });
  const jobs = new JobHub({ progressIntervalMs: 0 });
  const settings = new SettingsStore(join(dir, 'settings.json'), { dataDir: store.layout.root, executionProvider: 'cpu', threads: 0 });
  h = createApiHandlers({ store, dataDir: store.layout.root, jobs, settings, mode: 'browser', version: '1.0.0', canChangeDataDir: false });
  ds = (await h['datasets.create']({ name: 'Tiles' })).id;
});

afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('datasets.setInspectionArea / getInspectionArea', () => {
  it('has none at first: the whole image is inspected', async () => {
    expect(await h['datasets.getInspectionArea']({ datasetId: ds })).toBeNull();
  });

  it('stores an area, reads the same pixels back, and audits it', async () => {
    const area = leftColumns(40, 30, 10);
    const info = await h['datasets.setInspectionArea']({ datasetId: ds, area });
    expect(info).toMatchObject({ datasetId: ds, width: 40, height: 30, areaPx: 300, fraction: 0.25 });
    const back = await h['datasets.getInspectionArea']({ datasetId: ds });
    expect(back!.width).toBe(40);
    expect(back!.height).toBe(30);
    expect(Array.from(back!.pixels)).toEqual(Array.from(area.pixels));
    expect(back!.info.sha256).toMatch(/^[0-9a-f]{64}$/);
    const log = await h['audit.list']({ kinds: ['inspection_area.set'] });
    expect(log.total).toBe(1);
    expect(log.rows[0]).toMatchObject({ datasetId: ds, datasetName: 'Tiles', entityId: ds, old: null });
    expect(log.rows[0]!.new).toMatchObject({ width: 40, height: 30, areaPx: 300 });
  });

  it('any non-zero pixel is inside; an unchanged area logs nothing; a change logs old and new', async () => {
    const same = leftColumns(40, 30, 10);
    same.pixels = same.pixels.map((v) => v * 255);
    await h['datasets.setInspectionArea']({ datasetId: ds, area: same });
    expect((await h['audit.list']({ kinds: ['inspection_area.set'] })).total).toBe(1);
    await h['datasets.setInspectionArea']({ datasetId: ds, area: leftColumns(20, 10, 15) });
    const log = await h['audit.list']({ kinds: ['inspection_area.set'] });
    expect(log.total).toBe(2);
    expect(log.rows[0]!.old).toMatchObject({ width: 40, areaPx: 300 });
    expect(log.rows[0]!.new).toMatchObject({ width: 20, height: 10, areaPx: 150 });
    expect(log.rows[0]!.detail).toMatch(/areaPx: 300 → 150/);
  });

  it('null clears it (audited); an all-zero area clears it too', async () => {
    expect(await h['datasets.setInspectionArea']({ datasetId: ds, area: null })).toBeNull();
    expect(await h['datasets.getInspectionArea']({ datasetId: ds })).toBeNull();
    const cleared = await h['audit.list']({ kinds: ['inspection_area.clear'] });
    expect(cleared.total).toBe(1);
    expect(cleared.rows[0]!.old).toMatchObject({ width: 20, areaPx: 150 });
    await h['datasets.setInspectionArea']({ datasetId: ds, area: leftColumns(4, 4, 1) });
    await h['datasets.setInspectionArea']({ datasetId: ds, area: { width: 4, height: 4, pixels: new Uint8Array(16) } });
    expect(await h['datasets.getInspectionArea']({ datasetId: ds })).toBeNull();
    expect((await h['audit.list']({ kinds: ['inspection_area.clear'] })).total).toBe(2);
  });

  it('refuses pixels that do not match the size, naming the field, and leaves the stored area alone', async () => {
    await h['datasets.setInspectionArea']({ datasetId: ds, area: leftColumns(8, 8, 4) });
    const r = await dispatch(h, 'datasets.setInspectionArea', { datasetId: ds, area: { width: 8, height: 8, pixels: new Uint8Array(10) } }, () => {});
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('BAD_ARGUMENT');
      expect(r.error.message).toMatch(/10 pixels but 8x8 needs 64/);
    }
    const missing = await dispatch(h, 'datasets.setInspectionArea', { datasetId: ds, area: { width: 8, pixels: new Uint8Array(64) } }, () => {});
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error.message).toMatch(/height/);
    expect((await h['datasets.getInspectionArea']({ datasetId: ds }))!.info.areaPx).toBe(32);
    const unknown = await dispatch(h, 'datasets.getInspectionArea', { datasetId: 9999 }, () => {});
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.error.code).toBe('NOT_FOUND');
  });

  it('goes with its dataset when the dataset is deleted (the clearing is in the log)', async () => {
    const other = (await h['datasets.create']({ name: 'Other' })).id;
    await h['datasets.setInspectionArea']({ datasetId: other, area: leftColumns(4, 4, 2) });
    await h['datasets.delete']({ datasetId: other, confirmName: 'Other' });
    expect(store.db.prepare(`SELECT count(*) AS n FROM inspection_areas WHERE dataset_id = ?`).get(other)).toEqual({ n: 0 });
    const log = await h['audit.list']({ kinds: ['inspection_area.clear'], datasetId: other });
    expect(log.total).toBe(1);
  });
});
