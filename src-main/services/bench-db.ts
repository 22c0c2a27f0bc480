/**
 * Data-layer benchmarks (`bgad bench db`): import of a real folder and listing a page of a
 * large dataset with filters. Prints/returns plain JSON figures. Here and not in db/: it runs
 * the importer (services/import.ts), an application service.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createDataset } from '../db/datasets';
import { ensureDefectType } from '../db/defect-types';
import { listImages, type ListImagesQuery } from '../db/images';
import { openStore } from '../db/store';
import { importFolder, type ImportSummary } from './import';

export interface BenchDbOptions {
  /** Folder to import (e.g. ../shared/datasets/magnetic_tile); skipped when absent. */
  importSrc?: string;
  /** Images in the synthetic listing dataset (default 10,000). */
  listImages?: number;
  /** Repetitions per listing query (default 20); the median is reported. */
  repeats?: number;
}

export interface BenchDbResult {
  import?: { src: string; seconds: number; imagesPerSecond: number; total: number; imported: number; duplicates: number; rejected: number; masks: number; counts: Record<string, number> };
  list: { images: number; queries: { name: string; medianMs: number; maxMs: number; total: number | null; items: number }[] };
  /** The budgets of issue 6: import <= 60 s, a filtered page of 100 from 10,000 images < 50 ms (median). */
  withinBudget: { import: boolean | null; list: boolean };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function benchDb(opts: BenchDbOptions = {}): Promise<BenchDbResult> {
  const result: BenchDbResult = { list: { images: opts.listImages ?? 10_000, queries: [] }, withinBudget: { import: null, list: false } };
  const dir = mkdtempSync(join(tmpdir(), 'bgad-bench-db-'));
  try {
    if (opts.importSrc) {
      const store = openStore({ dataDir: join(dir, 'import') });
      try {
        const ds = createDataset(store, { name: 'bench' });
        const t0 = performance.now();
        const s: ImportSummary = await importFolder(store, { src: opts.importSrc, datasetId: ds.id });
        const seconds = (performance.now() - t0) / 1000;
        result.import = {
          src: opts.importSrc, seconds: Math.round(seconds * 100) / 100, imagesPerSecond: Math.round(s.total / seconds),
          total: s.total, imported: s.imported, duplicates: s.duplicates.length, rejected: s.rejected.length, masks: s.masks, counts: s.counts,
        };
      } finally {
        store.close();
      }
    }

    const store = openStore({ dataDir: join(dir, 'list') });
    try {
      const n = result.list.images;
      const ds = createDataset(store, { name: 'list-bench' });
      const types = ['crack', 'blowhole', 'fray'].map((name) => ensureDefectType(store, { datasetId: ds.id, name }).id);
      const db = store.db;
      const ins = db.prepare(`INSERT INTO images (dataset_id, path, sha256, width, height, channels, bit_depth, format, bytes, label, split, defect_type_id, source, created_at_ms, updated_at_ms)
        VALUES (?, ?, ?, 256, 256, 1, 8, 'png', 1000, ?, ?, ?, ?, 0, 0)`);
      const insMask = db.prepare(`INSERT INTO masks (image_id, defect_type_id, file, width, height, area_px, created_at_ms, updated_at_ms) VALUES (?, ?, ?, 256, 256, 10, 0, 0)`);
      db.transaction(() => {
        for (let i = 0; i < n; i++) {
          const isDefect = i % 10 === 0;
          const split = ['train', 'train', 'train', 'val', 'test'][i % 5]!;
          const t = isDefect ? types[(i / 10) % 3]! : null;
          const path = `/data/line${i % 7}/batch${Math.floor(i / 100)}/part_${String(i).padStart(6, '0')}.png`;
          const id = ins.run(ds.id, path, randomBytes(32).toString('hex'), isDefect ? 'defect' : i % 3 === 0 ? 'unlabelled' : 'good', split, t, path).lastInsertRowid as number;
          if (isDefect && i % 20 === 0) insMask.run(id, t, `masks/${ds.id}/${i}.png`);
        }
      })();
      db.pragma('optimize');
      const base: ListImagesQuery = { datasetId: ds.id, limit: 100 };
      const queries: [string, ListImagesQuery][] = [
        ['all, first page', base],
        ['label=good split=train, page 30 (offset)', { ...base, label: 'good', split: 'train', offset: 3000 }],
        ['label=defect annotated=false', { ...base, label: 'defect', annotated: false }],
        ['defectType=crack annotated=true', { ...base, defectTypeId: types[0]!, annotated: true }],
        ['search "line3/batch5" ordered by path', { ...base, search: 'line3/batch5', orderBy: 'path' }],
        ['split=test label in (good, unlabelled), keyset page 2', { ...base, split: 'test', label: ['good', 'unlabelled'] }],
      ];
      const repeats = opts.repeats ?? 20;
      for (const [name, q] of queries) {
        let query = q;
        if (name.includes('keyset page 2')) query = { ...q, cursor: listImages(store, q).nextCursor ?? undefined };
        const times: number[] = [];
        let last = listImages(store, query);
        for (let r = 0; r < repeats; r++) {
          const t0 = performance.now();
          last = listImages(store, query);
          times.push(performance.now() - t0);
        }
        result.list.queries.push({ name, medianMs: Math.round(median(times) * 100) / 100, maxMs: Math.round(Math.max(...times) * 100) / 100, total: last.total, items: last.items.length });
      }
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  result.withinBudget = { import: result.import ? result.import.seconds <= 60 : null, list: result.list.queries.every((q) => q.medianMs < 50) };
  return result;
}
