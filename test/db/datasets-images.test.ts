import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDataset, deleteDataset, getDataset, listDatasets, renameDataset } from '../../src-main/db/datasets';
import { ensureDefectType } from '../../src-main/db/defect-types';
import { getImage, listImages, setLabel, setLabels, setSplit, type ImageRecord } from '../../src-main/db/images';
import { listAudit } from '../../src-main/db/audit';
import type { Store } from '../../src-main/db/store';
import { removeDir, tempStore } from './helpers';

let store: Store & { dir: string };
beforeEach(() => {
  store = tempStore();
});
afterEach(() => {
  store.close();
  removeDir(store.dir);
});

function addImages(datasetId: number, n: number, f: (i: number) => Partial<{ label: string; split: string | null; defect_type_id: number | null; path: string }> = () => ({})) {
  const ins = store.db.prepare(`INSERT INTO images (dataset_id, path, sha256, width, height, channels, bit_depth, format, bytes, label, split, defect_type_id, created_at_ms, updated_at_ms)
    VALUES (?, ?, ?, 8, 8, 1, 8, 'png', 10, ?, ?, ?, 0, 0) RETURNING id`);
  const ids: number[] = [];
  store.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const o = f(i);
      ids.push((ins.get(datasetId, o.path ?? `/src/img_${String(i).padStart(4, '0')}.png`, (datasetId * 1e6 + i).toString(16).padStart(64, '0'), o.label ?? 'good', o.split === undefined ? 'train' : o.split, o.defect_type_id ?? null) as { id: number }).id);
    }
  })();
  return ids;
}

describe('datasets', () => {
  it('are created, listed with counts and renamed; names are unique regardless of case', () => {
    const a = createDataset(store, { name: '  Tiles ' });
    expect(a.name).toBe('Tiles');
    expect(() => createDataset(store, { name: 'tiles' })).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => createDataset(store, { name: '' })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    addImages(a.id, 3, (i) => ({ label: i === 0 ? 'defect' : 'good', split: i === 2 ? 'test' : 'train' }));
    const b = createDataset(store, { name: 'Bolts' });
    expect(listDatasets(store).map((d) => [d.name, d.imageCount, d.counts.defect, d.counts.train])).toEqual([['Bolts', 0, 0, 0], ['Tiles', 3, 1, 2]]);
    expect(renameDataset(store, { id: b.id, name: 'Screws' }).name).toBe('Screws');
    expect(() => renameDataset(store, { id: b.id, name: 'TILES' })).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => renameDataset(store, { id: 999, name: 'x' })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('are deleted only with their exact name as confirmation, with images and mask files, leaving the audit log', () => {
    const a = createDataset(store, { name: 'Tiles' });
    const ids = addImages(a.id, 2);
    setLabels(store, { imageIds: ids, label: 'unlabelled' });
    mkdirSync(join(store.layout.masksDir, String(a.id)), { recursive: true });
    writeFileSync(join(store.layout.masksDir, String(a.id), 'x.png'), 'x');
    expect(() => deleteDataset(store, { id: a.id, confirmName: 'tiles' })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT', hint: expect.stringMatching(/exact name/) }));
    expect(() => deleteDataset(store, { id: a.id, confirmName: undefined })).toThrow(/confirmation/);
    expect(deleteDataset(store, { id: a.id, confirmName: 'Tiles' })).toEqual({ deletedImages: 2 });
    expect(() => getDataset(store, a.id)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect((store.db.prepare(`SELECT count(*) AS n FROM images`).get() as { n: number }).n).toBe(0);
    expect(existsSync(join(store.layout.masksDir, String(a.id)))).toBe(false);
    expect(listAudit(store, { datasetId: a.id }).map((e) => e.action)).toEqual(['delete', 'label', 'label']);
  });
});

describe('listing images', () => {
  it('filters by label, split, annotation, defect type and path text, with totals', () => {
    const ds = createDataset(store, { name: 'L' });
    const crack = ensureDefectType(store, { datasetId: ds.id, name: 'crack' });
    const ids = addImages(ds.id, 50, (i) => ({
      label: i % 5 === 0 ? 'defect' : i % 7 === 0 ? 'unlabelled' : 'good',
      split: i % 4 === 0 ? 'test' : i % 9 === 0 ? null : 'train',
      defect_type_id: i % 10 === 0 ? crack.id : null,
      path: `/line${i % 2}/p_${i}_%x.png`,
    }));
    store.db.prepare(`INSERT INTO masks (image_id, defect_type_id, file, width, height, area_px, created_at_ms, updated_at_ms) VALUES (?, ?, 'masks/x.png', 8, 8, 1, 0, 0)`).run(ids[0], crack.id);
    const total = (q: object) => listImages(store, { datasetId: ds.id, ...q }).total;
    expect(total({})).toBe(50);
    expect(total({ label: 'defect' })).toBe(10);
    expect(total({ label: ['good', 'unlabelled'] })).toBe(40);
    expect(total({ split: 'test' })).toBe(13);
    expect(total({ split: 'none' })).toBe(4); // i = 9, 18, 27, 45 (36 is test)
    expect(total({ split: ['none', 'test'] })).toBe(17);
    expect(total({ annotated: true })).toBe(1);
    expect(total({ annotated: false })).toBe(49);
    expect(total({ defectTypeId: crack.id })).toBe(5);
    expect(total({ search: 'LINE1/' })).toBe(25);
    expect(total({ search: '_%x' })).toBe(50); // % and _ are literal, not wildcards
    expect(total({ search: 'p_1_' })).toBe(1);
    expect(total({ label: 'defect', split: 'test', annotated: true })).toBe(1);
    expect(() => listImages(store, { datasetId: ds.id, label: 'bad' as never })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
  });

  it('pages by offset and by cursor through every image exactly once, in id or path order', () => {
    const ds = createDataset(store, { name: 'P' });
    addImages(ds.id, 57, (i) => ({ path: `/z/${String((i * 37) % 57).padStart(3, '0')}.png` }));
    for (const orderBy of ['id', 'path'] as const) {
      const seen: ImageRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = listImages(store, { datasetId: ds.id, orderBy, limit: 10, cursor });
        seen.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen.length).toBe(57);
      const keys = seen.map((r) => (orderBy === 'id' ? r.id : r.path));
      expect(keys).toEqual([...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      const byOffset = [0, 1, 2, 3, 4, 5].flatMap((p) => listImages(store, { datasetId: ds.id, orderBy, limit: 10, offset: p * 10 }).items.map((r) => r.id));
      expect(byOffset).toEqual(seen.map((r) => r.id));
    }
    expect(() => listImages(store, { datasetId: ds.id, cursor: 'garbage' })).toThrow(/cursor/);
    expect(listImages(store, { datasetId: ds.id, limit: 57 }).nextCursor).toBeNull();
  });
});

describe('labelling', () => {
  it('changes one or many labels in one transaction and audits every change', () => {
    const ds = createDataset(store, { name: 'A' });
    const crack = ensureDefectType(store, { datasetId: ds.id, name: 'crack' });
    const ids = addImages(ds.id, 4);
    const one = setLabel(store, { imageId: ids[0]!, label: 'defect', defectTypeId: crack.id });
    expect(one).toMatchObject({ label: 'defect', defectTypeId: crack.id, defectType: 'crack' });
    expect(setLabels(store, { imageIds: ids, label: 'unlabelled' })).toEqual({ changed: 4 });
    expect(setLabels(store, { imageIds: ids, label: 'unlabelled' })).toEqual({ changed: 0 });
    const audit = listAudit(store, { datasetId: ds.id, entity: 'image' });
    expect(audit.length).toBe(5);
    expect(audit.at(-1)).toMatchObject({ entityId: ids[0], action: 'label', old: { label: 'good', defectTypeId: null }, new: { label: 'defect', defectTypeId: crack.id } });
  });

  it('changes nothing when one image of a bulk change is invalid', () => {
    const ds = createDataset(store, { name: 'A' });
    const other = createDataset(store, { name: 'B' });
    const ids = addImages(ds.id, 3);
    const foreign = addImages(other.id, 1);
    expect(() => setLabels(store, { imageIds: [...ids, 424242], label: 'defect' })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => setLabels(store, { imageIds: [...ids, ...foreign], label: 'defect' })).toThrow(/same dataset/);
    expect(listImages(store, { datasetId: ds.id, label: 'defect' }).total).toBe(0);
    expect(listAudit(store).length).toBe(0);
    const t = ensureDefectType(store, { datasetId: other.id, name: 'dent' });
    expect(() => setLabel(store, { imageId: ids[0]!, label: 'defect', defectTypeId: t.id })).toThrow(/another dataset/);
  });

  it('clears the defect type when an image is labelled good, and moves images between splits', () => {
    const ds = createDataset(store, { name: 'A' });
    const t = ensureDefectType(store, { datasetId: ds.id, name: 'dent' });
    const [id] = addImages(ds.id, 1);
    setLabel(store, { imageId: id!, label: 'defect', defectTypeId: t.id });
    expect(setLabel(store, { imageId: id!, label: 'good', defectTypeId: t.id })).toMatchObject({ label: 'good', defectTypeId: null });
    expect(setSplit(store, { imageIds: [id!], split: 'val' })).toEqual({ changed: 1 });
    expect(getImage(store, id!).split).toBe('val');
    setSplit(store, { imageIds: [id!], split: null });
    expect(getImage(store, id!).split).toBeNull();
  });

  it('keeps the audit log append-only', () => {
    const ds = createDataset(store, { name: 'A' });
    setLabels(store, { imageIds: addImages(ds.id, 1), label: 'defect' });
    expect(() => store.db.prepare(`UPDATE audit_log SET new_json = NULL`).run()).toThrow(/append-only/);
    expect(() => store.db.prepare(`DELETE FROM audit_log`).run()).toThrow(/append-only/);
    expect(listAudit(store).length).toBe(1);
  });
});
