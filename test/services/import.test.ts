import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSyntheticDataset, type SynthCategoryInfo } from '../../src-main/synth/generate';
import { createDataset } from '../../src-main/db/datasets';
import { listImportRuns } from '../../src-main/db/import-runs';
import { detectLayout, importFolder, type ImportProgress } from '../../src-main/services/import';
import { listImages } from '../../src-main/db/images';
import { listDefectTypes } from '../../src-main/db/defect-types';
import { fromDataRef } from '../../src-main/db/files';
import { noisePng, removeDir, sha256, tempDir, tempStore, writeNoiseImages } from '../db/helpers';

let srcRoot: string;
let cat: SynthCategoryInfo;

beforeAll(async () => {
  srcRoot = tempDir('bgad-import-src-');
  const { categories } = await generateSyntheticDataset({ outDir: join(srcRoot, 'synth'), seed: 11, sizePx: 48, categories: ['grain'] });
  cat = categories[0]!;
});
afterAll(() => removeDir(srcRoot));

describe('importing a folder', () => {
  it('recognises an MVTec category, a folder of categories and a plain folder', async () => {
    expect(detectLayout(cat.dir).kind).toBe('mvtec');
    const coll = detectLayout(join(srcRoot, 'synth'));
    expect(coll.kind).toBe('mvtec-collection');
    expect(coll.kind === 'mvtec-collection' && coll.categories.map((c) => c.name)).toEqual(['grain']);
    const plain = join(srcRoot, 'plain-detect');
    await writeNoiseImages(plain, 1);
    expect(detectLayout(plain).kind).toBe('plain');
  });

  it('gives a synthetic MVTec category the right counts, labels, splits, defect types and byte-identical masks', async () => {
    const store = tempStore();
    try {
      const ds = createDataset(store, { name: 'grain' });
      const progress: ImportProgress[] = [];
      const s = await importFolder(store, { src: cat.dir, datasetId: ds.id, onProgress: (p) => progress.push(p), batchSize: 25 });
      const nTrainDefect = Object.values(cat.counts.trainDefect).reduce((a, b) => a + b, 0);
      const nTestDefect = Object.values(cat.counts.testDefect).reduce((a, b) => a + b, 0);
      const total = cat.counts.trainGood + cat.counts.testGood + nTrainDefect + nTestDefect;
      expect(s.status).toBe('completed');
      expect(s.total).toBe(total);
      expect(s.imported).toBe(total);
      expect(s.duplicates).toEqual([]);
      expect(s.rejected).toEqual([]);
      expect(s.maskProblems).toEqual([]);
      expect(s.masks).toBe(nTrainDefect + nTestDefect);
      expect(s.defectTypes).toEqual([...cat.defectTypes].sort());
      expect(s.counts['good/train']).toBe(cat.counts.trainGood);
      expect(s.counts['good/test']).toBe(cat.counts.testGood);
      for (const t of cat.defectTypes) {
        expect(s.counts[`defect/train/${t}`]).toBe(cat.counts.trainDefect[t]);
        expect(s.counts[`defect/test/${t}`]).toBe(cat.counts.testDefect[t]);
      }
      expect(progress.at(-1)).toMatchObject({ phase: 'done', total, processed: total, imported: total });
      expect(progress.filter((p) => p.phase === 'importing').length).toBeGreaterThanOrEqual(Math.ceil(total / 25));

      const types = listDefectTypes(store, ds.id);
      expect(types.map((t) => t.name)).toEqual([...cat.defectTypes].sort());
      const all = listImages(store, { datasetId: ds.id, limit: 1000 });
      expect(all.total).toBe(total);
      for (const img of all.items) {
        const [split, folder] = img.source!.split('/');
        expect(img.split).toBe(split);
        expect(img.label).toBe(folder === 'good' ? 'good' : 'defect');
        expect(img.defectType).toBe(folder === 'good' ? null : folder);
        expect(img.sha256).toBe(sha256(readFileSync(img.path)));
        expect(img.maskCount).toBe(folder === 'good' ? 0 : 1);
      }
      // masks: copied byte for byte, area > 0, full resolution
      const masks = store.db.prepare(`SELECT m.file, m.area_px, m.width, m.height, i.source, i.width AS iw, i.height AS ih FROM masks m JOIN images i ON i.id = m.image_id`).all() as { file: string; area_px: number; width: number; height: number; source: string; iw: number; ih: number }[];
      expect(masks.length).toBe(s.masks);
      for (const m of masks) {
        const [, type, name] = m.source.split('/');
        const original = readFileSync(join(cat.dir, 'ground_truth', type!, name!.replace(/\.png$/, '_mask.png')));
        expect(sha256(readFileSync(fromDataRef(store.layout.root, m.file)))).toBe(sha256(original));
        expect(m.area_px).toBeGreaterThan(0);
        expect([m.width, m.height]).toEqual([m.iw, m.ih]);
      }
      expect(listImportRuns(store, { datasetId: ds.id })[0]).toMatchObject({ status: 'completed', imported: total, masks: s.masks });

      // twice: nothing is added, everything is reported as a duplicate
      const again = await importFolder(store, { src: cat.dir, datasetId: ds.id });
      expect(again.imported).toBe(0);
      expect(again.masks).toBe(0);
      expect(again.duplicates.length).toBe(total);
      expect(listImages(store, { datasetId: ds.id }).total).toBe(total);
      expect((store.db.prepare(`SELECT count(*) AS n FROM masks`).get() as { n: number }).n).toBe(s.masks);
    } finally {
      store.close();
      removeDir(store.dir);
    }
  });

  it('imports a plain folder recursively as unlabelled, skips duplicates and rejects bad images with reasons', async () => {
    const dir = join(srcRoot, 'plain');
    await writeNoiseImages(join(dir, 'a'), 5, { seed0: 100 });
    await writeNoiseImages(join(dir, 'b', 'deeper'), 3, { seed0: 200 });
    copyFileSync(join(dir, 'a', 'img_0000.png'), join(dir, 'b', 'copy.png')); // duplicate content
    writeFileSync(join(dir, 'broken.png'), Buffer.from('definitely not a png'));
    writeFileSync(join(dir, 'empty.jpg'), Buffer.alloc(0));
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    mkdirSync(join(dir, '.hidden'));
    writeFileSync(join(dir, '.hidden', 'x.png'), await noisePng(999));
    const store = tempStore();
    try {
      const ds = createDataset(store, { name: 'plain' });
      const s = await importFolder(store, { src: dir, datasetId: ds.id, batchSize: 3 });
      expect(s.layout).toBe('plain');
      expect(s.total).toBe(11);
      expect(s.imported).toBe(8);
      expect(s.duplicates).toEqual([expect.objectContaining({ path: 'b/copy.png', duplicateOf: 'a/img_0000.png' })]);
      expect(s.rejected.map((r) => r.path).sort()).toEqual(['broken.png', 'empty.jpg']);
      expect(s.rejected.every((r) => r.code === 'BAD_IMAGE' && r.reason.length > 10)).toBe(true);
      expect(s.ignoredFiles).toBe(1);
      const page = listImages(store, { datasetId: ds.id });
      expect(page.items.every((i) => i.label === 'unlabelled' && i.split === null)).toBe(true);
      const run = listImportRuns(store, { datasetId: ds.id })[0]!;
      expect(run).toMatchObject({ imported: 8, duplicates: 1, rejected: 2, status: 'completed' });
      expect(run.problems.length).toBe(2);
    } finally {
      store.close();
      removeDir(store.dir);
    }
  });

  it('reports a defect image whose mask is missing or of the wrong size, and still imports the image', async () => {
    const dir = join(srcRoot, 'mvtec-bad-masks');
    await writeNoiseImages(join(dir, 'train', 'good'), 2, { seed0: 300 });
    await writeNoiseImages(join(dir, 'test', 'dent'), 2, { seed0: 400 });
    mkdirSync(join(dir, 'ground_truth', 'dent'), { recursive: true });
    writeFileSync(join(dir, 'ground_truth', 'dent', 'img_0000_mask.png'), await noisePng(1, 8, 8));
    const store = tempStore();
    try {
      const ds = createDataset(store, { name: 'm' });
      const s = await importFolder(store, { src: dir, datasetId: ds.id });
      expect(s.imported).toBe(4);
      expect(s.masks).toBe(0);
      expect(s.maskProblems.map((p) => p.path).sort()).toEqual(['test/dent/img_0000.png', 'test/dent/img_0001.png']);
      expect(s.maskProblems.find((p) => p.path.endsWith('0000.png'))!.reason).toMatch(/8x8/);
    } finally {
      store.close();
      removeDir(store.dir);
    }
  });

  it('stops between batches when cancelled and keeps the batches already done', async () => {
    const dir = join(srcRoot, 'cancel');
    await writeNoiseImages(dir, 12, { seed0: 500 });
    const store = tempStore();
    try {
      const ds = createDataset(store, { name: 'c' });
      const ac = new AbortController();
      const s = await importFolder(store, { src: dir, datasetId: ds.id, batchSize: 4, signal: ac.signal, onBatchCommitted: (b) => b === 0 && ac.abort() });
      expect(s.status).toBe('cancelled');
      expect(s.imported).toBe(4);
      expect(listImages(store, { datasetId: ds.id }).total).toBe(4);
      expect(listImportRuns(store)[0]!.status).toBe('cancelled');
    } finally {
      store.close();
      removeDir(store.dir);
    }
  });

  it('refuses a folder of several categories and a missing folder with a clear reason', async () => {
    const store = tempStore();
    try {
      const ds = createDataset(store, { name: 'x' });
      await expect(importFolder(store, { src: join(srcRoot, 'synth'), datasetId: ds.id })).rejects.toMatchObject({ code: 'BAD_DATASET', message: expect.stringMatching(/categories/) });
      await expect(importFolder(store, { src: join(srcRoot, 'nope'), datasetId: ds.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      store.close();
      removeDir(store.dir);
    }
  });
});
