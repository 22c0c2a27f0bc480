import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateSyntheticDataset, type SynthCategoryInfo } from '../../src-main/synth/generate';
import { openStore } from '../../src-main/db/store';
import { createDataset } from '../../src-main/db/datasets';
import { listImportRuns } from '../../src-main/db/import-runs';
import { importFolder } from '../../src-main/services/import';
import { createTrainingRun, getLossCurves, getTrainingRun } from '../../src-main/db/training-runs';
import { recoverInterrupted } from '../../src-main/db/interrupted';
import { checkDatabase } from '../../src-main/db/maintenance';
import { fromDataRef } from '../../src-main/db/files';
import { kill9, startChild } from './child-process';
import { removeDir, tempDir } from './helpers';

let root: string;
let cat: SynthCategoryInfo;
beforeAll(async () => {
  root = tempDir('bgad-crash-');
  cat = (await generateSyntheticDataset({ outDir: join(root, 'src'), seed: 3, sizePx: 48, categories: ['woven_grid'] })).categories[0]!;
});
afterAll(() => removeDir(root));

describe('a process killed with SIGKILL', () => {
  it('during an import leaves whole batches only, every mask file in place, and the import marked interrupted', async () => {
    const dataDir = join(root, 'import-data');
    const BATCH = 4;
    const child = await startChild('import-child', [dataDir, cat.dir, String(BATCH)]);
    await child.waitForLine(/^batch 2$/);
    await kill9(child);
    expect(child.lines()).not.toContain('done');

    const store = openStore({ dataDir });
    try {
      expect(store.recovered.importRuns.length).toBe(1);
      const run = listImportRuns(store)[0]!;
      expect(run.status).toBe('interrupted');
      const check = checkDatabase(store.db, store.layout);
      expect(check.integrity).toEqual([]);
      expect(check.foreignKeys).toEqual([]);
      expect(check.missingFiles).toEqual([]);
      const n = (store.db.prepare(`SELECT count(*) AS n FROM images`).get() as { n: number }).n;
      expect(n).toBeGreaterThanOrEqual(3 * BATCH);
      expect(n % BATCH).toBe(0); // whole batches
      expect(run.imported).toBe(n); // the run's counters moved with its rows
      const masks = store.db.prepare(`SELECT file FROM masks`).all() as { file: string }[];
      expect(masks.length).toBe(run.masks);
      for (const m of masks) expect(existsSync(fromDataRef(store.layout.root, m.file))).toBe(true);
      // every imported defect image came with its mask (the synthetic set has one for each)
      expect((store.db.prepare(`SELECT count(*) AS n FROM images i WHERE i.label = 'defect' AND NOT EXISTS (SELECT 1 FROM masks m WHERE m.image_id = i.id)`).get() as { n: number }).n).toBe(0);
      expect(recoverInterrupted(store).importRuns.map((r) => r.id)).toEqual([run.id]);

      // importing again finishes the job
      const ds = store.db.prepare(`SELECT id FROM datasets WHERE name = 'crash'`).get() as { id: number };
      const rest = await importFolder(store, { src: cat.dir, datasetId: ds.id });
      expect(rest.imported + n).toBe(rest.total);
      expect(rest.duplicates.length).toBe(n);
      expect(checkDatabase(store.db, store.layout).ok).toBe(true);
    } finally {
      store.close();
    }
  });

  it('during training leaves every recorded step complete and the run marked interrupted', async () => {
    const dataDir = join(root, 'train-data');
    const setup = openStore({ dataDir });
    const runId = createTrainingRun(setup, { datasetId: createDataset(setup, { name: 't' }).id }).id;
    setup.close();
    const child = await startChild('training-child', [dataDir, String(runId)]);
    await child.waitForLine(/^step 200$/);
    await kill9(child);

    const store = openStore({ dataDir });
    try {
      expect(store.recovered.trainingRuns).toEqual([runId]);
      const run = getTrainingRun(store, runId);
      expect(run.status).toBe('interrupted');
      expect(run.error).toMatch(/ended without finishing/);
      expect(run.step).toBeGreaterThanOrEqual(200);
      const check = checkDatabase(store.db, store.layout);
      expect(check.integrity).toEqual([]);
      expect(check.foreignKeys).toEqual([]);
      const curves = getLossCurves(store, runId);
      expect(Object.keys(curves).sort()).toEqual(['loss', 'loss.level0', 'loss.level1']);
      for (const points of Object.values(curves)) {
        // every step up to the recorded one, no more: progress and loss points commit together
        expect(points.length).toBe(run.step);
        expect(points.at(-1)![0]).toBe(run.step);
      }
      expect(run.message).toBe(`step ${run.step}`);
      expect(recoverInterrupted(store).trainingRuns.map((r) => r.id)).toEqual([runId]);
    } finally {
      store.close();
    }
  });
});

describe('a reader', () => {
  it('is never blocked by a writer holding a long transaction in another process', async () => {
    const dataDir = join(root, 'wal-data');
    const setup = openStore({ dataDir });
    createDataset(setup, { name: 'before' });
    const file = setup.layout.dbFile;
    setup.close();
    const child = await startChild('writer-child', [file, '1500']);
    await child.waitForLine(/^locked$/);
    const reader = openStore({ dataDir, busyTimeoutMs: 0, skipRecovery: true });
    try {
      // busy_timeout 0: a reader that had to wait for the writer would throw SQLITE_BUSY here
      const n = (reader.db.prepare(`SELECT count(*) AS n FROM datasets`).get() as { n: number }).n;
      expect(n).toBe(1); // the committed state, not the writer's pending rows
      expect(child.lines()).not.toContain('committed'); // the writer really was mid-transaction
      // a second writer has to wait (busy_timeout 0 here): that is what WAL does not lift
      expect(() => reader.db.prepare(`INSERT INTO datasets (name, created_at_ms, updated_at_ms) VALUES ('x', 0, 0)`).run()).toThrow(/locked|busy/i);
      await child.waitForLine(/^committed$/);
      expect((reader.db.prepare(`SELECT count(*) AS n FROM datasets`).get() as { n: number }).n).toBe(5001);
    } finally {
      reader.close();
      await child.exited;
    }
  });

  it('can open the store while another connection holds a write transaction', () => {
    const dataDir = join(root, 'wal-data-3');
    const a = openStore({ dataDir });
    try {
      a.db.exec('BEGIN IMMEDIATE');
      createDataset(a, { name: 'pending' });
      const b = openStore({ dataDir, busyTimeoutMs: 0 });
      expect(b.db.prepare(`SELECT count(*) AS n FROM datasets`).get()).toEqual({ n: 0 });
      b.close();
      a.db.exec('COMMIT');
    } finally {
      a.close();
    }
  });

  it('is not blocked by a write transaction open on another connection of the same process', () => {
    const dataDir = join(root, 'wal-data-2');
    const a = openStore({ dataDir });
    const b = openStore({ dataDir, busyTimeoutMs: 0 });
    try {
      createDataset(a, { name: 'committed' });
      a.db.exec('BEGIN IMMEDIATE');
      for (let i = 0; i < 1000; i++) a.db.prepare(`INSERT INTO datasets (name, created_at_ms, updated_at_ms) VALUES (?, 0, 0)`).run(`pending-${i}`);
      const t0 = performance.now();
      expect(b.db.prepare(`SELECT count(*) AS n FROM datasets`).get()).toEqual({ n: 1 });
      expect(performance.now() - t0).toBeLessThan(50);
      a.db.exec('COMMIT');
      expect(b.db.prepare(`SELECT count(*) AS n FROM datasets`).get()).toEqual({ n: 1001 });
    } finally {
      a.close();
      b.close();
    }
  });
});
