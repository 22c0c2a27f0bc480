import { describe, expect, it } from 'vitest';
import { createDataset } from '../../src-main/db/datasets';
import { importFolder } from '../../src-main/services/import';
import { listImages } from '../../src-main/db/images';
import { hasMagneticTile, removeDir, SHARED_MAGNETIC_TILE, tempStore } from '../db/helpers';

if (!hasMagneticTile) console.warn(`skipping the magnetic_tile import test: ${SHARED_MAGNETIC_TILE} is absent (it lives in ../shared/datasets)`);

describe('importing the real magnetic_tile data set', () => {
  it.skipIf(!hasMagneticTile)('gives the counts of its README: 681 + 125 train, 271 + 263 test, 388 masks', async () => {
    const store = tempStore();
    try {
      const ds = createDataset(store, { name: 'magnetic_tile' });
      const s = await importFolder(store, { src: SHARED_MAGNETIC_TILE, datasetId: ds.id });
      expect(s).toMatchObject({ status: 'completed', layout: 'mvtec', total: 1340, imported: 1340, masks: 388, duplicates: [], rejected: [], maskProblems: [] });
      expect(s.counts).toEqual({
        'good/train': 681, 'good/test': 271,
        'defect/train/blowhole': 33, 'defect/train/break': 31, 'defect/train/crack': 15, 'defect/train/fray': 10, 'defect/train/uneven': 36,
        'defect/test/blowhole': 82, 'defect/test/break': 54, 'defect/test/crack': 42, 'defect/test/fray': 22, 'defect/test/uneven': 63,
      });
      const grey = listImages(store, { datasetId: ds.id, limit: 1000 }).items;
      expect(grey.every((i) => i.channels === 1 && i.format === 'jpeg')).toBe(true);
      expect(listImages(store, { datasetId: ds.id, label: 'defect', annotated: false }).total).toBe(0);
    } finally {
      store.close();
      removeDir(store.dir);
    }
  });
});
