import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDataset } from '../../src-main/db/datasets';
import { ensureDefectType } from '../../src-main/db/defect-types';
import { deleteMask, getMask, listMasks, loadMask, saveMask } from '../../src-main/db/masks';
import { importFolder } from '../../src-main/services/import';
import { listAudit } from '../../src-main/db/audit';
import { fromDataRef } from '../../src-main/db/files';
import { checkDatabase } from '../../src-main/db/maintenance';
import type { Store } from '../../src-main/db/store';
import { removeDir, tempDir, tempStore, writeNoiseImages } from './helpers';

let store: Store & { dir: string };
let src: string;
let imageId: number;
let typeId: number;
let otherTypeId: number;
const W = 24;
const H = 16;

function rect(x0: number, y0: number, w: number, h: number): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) m[y * W + x] = 1;
  return m;
}

beforeEach(async () => {
  store = tempStore();
  src = tempDir('bgad-mask-src-');
  await writeNoiseImages(src, 1, { width: W, height: H });
  const ds = createDataset(store, { name: 'M' });
  await importFolder(store, { src, datasetId: ds.id });
  imageId = (store.db.prepare(`SELECT id FROM images`).get() as { id: number }).id;
  typeId = ensureDefectType(store, { datasetId: ds.id, name: 'scratch' }).id;
  otherTypeId = ensureDefectType(store, { datasetId: ds.id, name: 'spot' }).id;
});
afterEach(() => {
  store.close();
  removeDir(store.dir);
  removeDir(src);
});

describe('masks', () => {
  it('round-trip losslessly at full resolution, with their area', async () => {
    const data = rect(3, 2, 5, 4);
    data[W * H - 1] = 1; // a lone corner pixel survives too
    const info = await saveMask(store, { imageId, defectTypeId: typeId, data, width: W, height: H });
    expect(info).toMatchObject({ imageId, defectTypeId: typeId, defectType: 'scratch', width: W, height: H, areaPx: 21 });
    expect(existsSync(fromDataRef(store.layout.root, info!.file))).toBe(true);
    const back = await loadMask(store, { imageId, defectTypeId: typeId });
    expect(back.width).toBe(W);
    expect(back.height).toBe(H);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });

  it('replace the previous file on a new save and keep one mask per image and defect type', async () => {
    const first = (await saveMask(store, { imageId, defectTypeId: typeId, data: rect(0, 0, 2, 2), width: W, height: H }))!;
    const second = (await saveMask(store, { imageId, defectTypeId: typeId, data: rect(0, 0, 3, 3), width: W, height: H }))!;
    await saveMask(store, { imageId, defectTypeId: otherTypeId, data: rect(5, 5, 1, 1), width: W, height: H });
    expect(second.file).not.toBe(first.file);
    expect(existsSync(fromDataRef(store.layout.root, first.file))).toBe(false);
    expect(listMasks(store, imageId).map((m) => [m.defectType, m.areaPx])).toEqual([['scratch', 9], ['spot', 1]]);
    expect(readdirSync(join(store.layout.masksDir, '1')).length).toBe(2); // no temp files left
    expect(listAudit(store, { entity: 'mask' }).map((e) => e.action)).toEqual(['mask_create', 'mask_update', 'mask_create']);
    expect(checkDatabase(store.db, store.layout)).toMatchObject({ ok: true, orphanFiles: [] });
  });

  it('reject a mask whose size differs from its image, and change nothing', async () => {
    await expect(saveMask(store, { imageId, defectTypeId: typeId, data: new Uint8Array(10 * 10).fill(1), width: 10, height: 10 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/10x10.*24x16/) });
    expect(getMask(store, { imageId, defectTypeId: typeId })).toBeNull();
    expect(existsSync(join(store.layout.masksDir, '1')) ? readdirSync(join(store.layout.masksDir, '1')) : []).toEqual([]);
  });

  it('are removed by saving an empty mask or deleting, with their file', async () => {
    const info = (await saveMask(store, { imageId, defectTypeId: typeId, data: rect(1, 1, 2, 2), width: W, height: H }))!;
    expect(await saveMask(store, { imageId, defectTypeId: typeId, data: new Uint8Array(W * H), width: W, height: H })).toBeNull();
    expect(getMask(store, { imageId, defectTypeId: typeId })).toBeNull();
    expect(existsSync(fromDataRef(store.layout.root, info.file))).toBe(false);
    expect(deleteMask(store, { imageId, defectTypeId: typeId })).toBe(false);
  });

  it('report a missing mask file as MISSING_MASK with what to do', async () => {
    await expect(loadMask(store, { imageId, defectTypeId: typeId })).rejects.toMatchObject({ code: 'MISSING_MASK' });
    const info = (await saveMask(store, { imageId, defectTypeId: typeId, data: rect(1, 1, 2, 2), width: W, height: H }))!;
    writeFileSync(fromDataRef(store.layout.root, info.file), ''); // truncated
    await expect(loadMask(store, { imageId, defectTypeId: typeId })).rejects.toMatchObject({ code: 'BAD_IMAGE' });
    store.db.prepare(`UPDATE masks SET file = 'masks/1/nope.png'`).run();
    await expect(loadMask(store, { imageId, defectTypeId: typeId })).rejects.toMatchObject({ code: 'MISSING_MASK', hint: expect.stringMatching(/backup/) });
  });
});
