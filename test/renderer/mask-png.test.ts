/**
 * A painted mask round-trips exactly: the annotator's document is saved the way the UI saves
 * it (raw 0/1 pixels at full resolution through the masks service), stored as a lossless PNG,
 * and decoding that PNG gives back the same pixels.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHandlers } from '../../src-main/common/api';
import { readMaskPng } from '../../src-main/images/load';
import { createApiHandlers, JobHub, SettingsStore } from '../../src-main/services';
import { importFolder } from '../../src-main/services/import';
import { openStore, type Store } from '../../src-main/db/store';
import { MaskDocument } from '../../src-renderer/lib/annotator/document';
import { maskHash, saveDocument } from '../../src-renderer/lib/annotator/persist';

let dir: string;
let store: Store;
let services: ApiHandlers;
let imageId: number;
let typeA: number;
let typeB: number;
const W = 173; // odd sizes catch row-stride mistakes
const H = 61;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-mask-png-'));
  mkdirSync(join(dir, 'photos'));
  const px = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37) & 255);
  await sharp(px, { raw: { width: W, height: H, channels: 3 } }).png().toFile(join(dir, 'photos', 'part.png'));
  store = openStore({ dataDir: join(dir, 'data') });
  services = createApiHandlers({
    store, dataDir: store.layout.root, jobs: new JobHub(), settings: new SettingsStore(join(dir, 'settings.json'), { dataDir: store.layout.root, executionProvider: 'cpu', threads: 0 }),
    mode: 'browser', version: '0', canChangeDataDir: false,
  });
  const ds = await services['datasets.create']({ name: 'Parts' });
  await importFolder(store, { datasetId: ds.id, src: join(dir, 'photos') });
  imageId = (await services['images.list']({ datasetId: ds.id })).items[0]!.id;
  typeA = (await services['defectTypes.create']({ datasetId: ds.id, name: 'scratch' })).id;
  typeB = (await services['defectTypes.create']({ datasetId: ds.id, name: 'dent' })).id;
});

afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('painted masks as lossless PNG', () => {
  it('stores the exact painted pixels at the image resolution and reads them back', async () => {
    const doc = new MaskDocument(W, H);
    doc.beginStroke(typeA, 'brush', { sizePx: 7, hardness: 0.4 }, 3, 3);
    doc.extendStroke(170, 58);
    doc.endStroke();
    doc.beginStroke(typeA, 'eraser', { sizePx: 3, hardness: 1 }, 90, 0);
    doc.extendStroke(90, 60);
    doc.endStroke();
    doc.beginStroke(typeB, 'brush', { sizePx: 1, hardness: 1 }, 0.5, 60.5); // a corner pixel
    doc.endStroke();
    expect(doc.area(typeA)).toBeGreaterThan(500);

    const saved = await saveDocument({ masks: { save: async (a) => (await services['masks.save'](a)) } }, imageId, doc);
    expect(saved.map((m) => m?.areaPx)).toEqual([typeA, typeB].sort((a, b) => a - b).map((t) => doc.area(t)));

    for (const info of saved) {
      const bytes = readFileSync(info!.path);
      expect([...bytes.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
      const decoded = await readMaskPng(info!.path);
      expect(decoded.width).toBe(W);
      expect(decoded.height).toBe(H);
      expect(Buffer.from(decoded.data).equals(Buffer.from(doc.layer(info!.defectTypeId)))).toBe(true);
    }

    // what the annotator loads after a reload is the same document
    const reloaded = new MaskDocument(W, H);
    for (const m of await services['masks.list']({ imageId })) reloaded.loadLayer(m.defectTypeId, (await services['masks.get']({ imageId, defectTypeId: m.defectTypeId }))!.data);
    expect(maskHash(reloaded)).toBe(maskHash(doc));
  });

  it('deletes a mask that was erased completely', async () => {
    const doc = new MaskDocument(W, H);
    doc.loadLayer(typeB, (await services['masks.get']({ imageId, defectTypeId: typeB }))!.data);
    doc.clear(typeB);
    const [removed] = await saveDocument({ masks: { save: async (a) => (await services['masks.save'](a)) } }, imageId, doc);
    expect(removed).toBeNull();
    expect(await services['masks.get']({ imageId, defectTypeId: typeB })).toBeNull();
  });
});
