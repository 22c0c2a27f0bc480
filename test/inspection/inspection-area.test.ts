/**
 * The inspection area end to end on the synthetic data (src-main/synth): a model trained with
 * an area carries it in its bundle; a defect painted OUTSIDE the area passes (its score is not
 * raised against the same image without the defect, and its map is zero there) while the same
 * defect inside fails; the exported ONNX applies the area (parity with the app's scorer at
 * 1e-4); a bundle without an area loads and scores as before.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelBundle } from '../../src-main/bgad/bundle';
import { exportModel } from '../../src-main/inspection/export';
import { inspectFolder } from '../../src-main/inspection/inspect';
import { runStation, type StationResult } from '../../src-main/station/index';
import trainCmd from '../../src-main/cli/commands/train';
import { UsageError } from '../../src-main/cli/command';
import { loadBundle, saveBundle } from '../../src-main/model/bundle-file';
import { openInspectionModel, type InspectionModel } from '../../src-main/model/scorer';
import { loadImageTensorFromBuffer } from '../../src-main/images/load';
import { trainModel } from '../../src-main/training/pipeline';
import { CACHE_DIR, FIXTURE_BACKBONE, getFixture, removeDir, tempDir, type Fixture } from './fixture';

let fx: Fixture;
let root: string;
let areaBundle: ModelBundle;
let areaModel: InspectionModel;
let plainModel: InspectionModel;
let S: number;
/** A good test image, and the same image with a defect inside / outside the area (chw at S). */
let images: { clean: Float32Array; inside: Float32Array; outside: Float32Array };
/** The same three pictures as PNG files. */
let pngs: Record<'clean' | 'inside' | 'outside', Buffer>;

/** Painted at 50 x 40 (another size than the 96 x 96 images): the left half is inspected. */
const AREA = { width: 50, height: 40, pixels: Uint8Array.from({ length: 50 * 40 }, (_, i) => (i % 50 < 25 ? 1 : 0)) };

/** The image (PNG) with a magenta disc at a relative position (none: as it is). */
async function withSpot(file: string, at: { x: number; y: number } | null): Promise<Buffer> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const px = new Uint8Array(data);
  if (at) {
    const cx = at.x * info.width, cy = at.y * info.height, r = info.width * 0.09;
    for (let y = 0; y < info.height; y++) {
      for (let x = 0; x < info.width; x++) {
        if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 > r * r) continue;
        const o = (y * info.width + x) * info.channels;
        px[o] = 255; px[o + 1] = 0; px[o + 2] = 255;
      }
    }
  }
  return sharp(px, { raw: { width: info.width, height: info.height, channels: info.channels as 3 } }).png().toBuffer();
}

beforeAll(async () => {
  fx = await getFixture();
  root = tempDir('bgad-area-');
  const m = await trainModel({ dataDir: fx.categoryDir, backboneId: FIXTURE_BACKBONE, anomalies: 6, overrides: { steps: 60 }, cacheDir: CACHE_DIR, threads: 2, inspectionArea: AREA });
  areaBundle = m.bundle;
  await saveBundle(join(root, 'area.bgad'), areaBundle);
  S = areaBundle.meta.backbone.inputSize;
  areaModel = await openInspectionModel(join(root, 'area.bgad'), { threads: 2, cacheDir: CACHE_DIR });
  plainModel = await openInspectionModel(fx.modelPath, { threads: 2, cacheDir: CACHE_DIR });
  const good = join(fx.testDir, 'good', readdirSync(join(fx.testDir, 'good')).sort()[0]!);
  pngs = { clean: await withSpot(good, null), inside: await withSpot(good, { x: 0.25, y: 0.5 }), outside: await withSpot(good, { x: 0.85, y: 0.5 }) };
  const chw = async (b: Buffer) => (await loadImageTensorFromBuffer(b, S)).chw;
  images = { clean: await chw(pngs.clean), inside: await chw(pngs.inside), outside: await chw(pngs.outside) };
}, 400_000);

afterAll(async () => {
  await areaModel?.dispose();
  await plainModel?.dispose();
  if (root) removeDir(root);
});

const score = async (m: InspectionModel, chw: Float32Array) => (await m.score(chw, 1))[0]!;

describe('a model trained with an inspection area', () => {
  it('carries the area in its bundle (format 2), at the input size', async () => {
    const back = await loadBundle(join(root, 'area.bgad'));
    expect(back.inspectionArea).toMatchObject({ width: S, height: S });
    expect(back.meta.inspectionArea).toEqual({ width: S, height: S, areaPx: (S * S) / 2 });
    expect(Array.from(back.inspectionArea!.pixels)).toEqual(Array.from(areaBundle.inspectionArea!.pixels));
    expect(readFileSync(join(root, 'area.bgad')).readUInt32LE(8)).toBe(2);
  });

  it('passes a defect painted outside the area (score not raised, map zero there) and fails it inside', async () => {
    const threshold = areaBundle.meta.threshold;
    const clean = await score(areaModel, images.clean);
    const outside = await score(areaModel, images.outside);
    const inside = await score(areaModel, images.inside);
    expect(clean.score).toBeLessThanOrEqual(threshold);
    expect(outside.score).toBeLessThanOrEqual(threshold);
    expect(outside.score).toBeLessThanOrEqual(clean.score + 1e-3 * Math.abs(threshold));
    expect(inside.score).toBeGreaterThan(threshold);
    // the map is exactly zero outside the area (the right half)
    for (const r of [clean, outside, inside]) {
      for (let y = 0; y < S; y += 7) for (let x = S / 2; x < S; x += 3) expect(Math.abs(r.map[y * S + x]!)).toBe(0);
    }
    // (control) the same defect outside fails a model trained without an area
    const plain = await score(plainModel, images.outside);
    expect(plain.score).toBeGreaterThan(fx.bundle.meta.threshold);
  });

  it('exports an ONNX model that applies the area (parity with the app scorer <= 1e-4)', async () => {
    const { path, metadata } = await exportModel({ model: join(root, 'area.bgad'), out: join(root, 'area.onnx'), cacheDir: CACHE_DIR });
    expect(metadata.inspection_area).toMatch(/multiplied by the model's inspection area/);
    const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 2 });
    try {
      let maxMap = 0, maxScore = 0;
      for (const chw of [images.clean, images.inside, images.outside]) {
        const out = await session.run({ image: new ort.Tensor('float32', chw, [1, 3, S, S]) });
        const map = out.anomaly_map!.data as Float32Array;
        const app = await score(areaModel, chw);
        maxScore = Math.max(maxScore, Math.abs(app.score - (out.pred_score!.data as Float32Array)[0]!));
        for (let i = 0; i < S * S; i++) maxMap = Math.max(maxMap, Math.abs(app.map[i]! - map[i]!));
        expect(Math.abs(map[(S / 2) * S + S - 1]!)).toBe(0);
      }
      expect(maxScore).toBeLessThanOrEqual(1e-4);
      expect(maxMap).toBeLessThanOrEqual(1e-4);
    } finally {
      await session.release();
    }
  }, 120_000);
});

describe('bgad inspect and bgad watch with the area model', () => {
  it('bgad inspect (inspectFolder): the defect outside passes with the clean image\'s score, inside fails', async () => {
    const input = join(root, 'folder');
    mkdirSync(input);
    for (const [name, png] of Object.entries(pngs)) writeFileSync(join(input, `${name}.png`), png);
    const report = await inspectFolder({ model: join(root, 'area.bgad'), input, out: join(root, 'inspect-out'), threads: 2, formats: ['csv'], cacheDir: CACHE_DIR });
    const by = new Map(report.results.map((r) => [r.rel, r]));
    expect(by.get('clean.png')).toMatchObject({ verdict: 'pass' });
    expect(by.get('outside.png')).toMatchObject({ verdict: 'pass', score: by.get('clean.png')!.score });
    expect(by.get('inside.png')).toMatchObject({ verdict: 'fail' });
  }, 120_000);

  it('bgad watch (runStation): the same verdicts for files dropped into the watched folder', async () => {
    const input = join(root, 'line');
    mkdirSync(input);
    const seen: StationResult[] = [];
    const station = await runStation({ model: join(root, 'area.bgad'), input, out: join(root, 'watch-out'), settleMs: 200, summaryIntervalMs: 0, cacheDir: CACHE_DIR, onResult: (r) => void seen.push(r) });
    try {
      for (const [name, png] of Object.entries(pngs)) writeFileSync(join(input, `${name}.png`), png);
      const t0 = Date.now();
      while (seen.length < 3 && Date.now() - t0 < 90_000) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await station.stop();
    }
    const by = new Map(seen.map((r) => [r.result.rel, r.result]));
    expect(by.get('clean.png')).toMatchObject({ verdict: 'pass' });
    expect(by.get('outside.png')).toMatchObject({ verdict: 'pass', score: by.get('clean.png')!.score });
    expect(by.get('inside.png')).toMatchObject({ verdict: 'fail' });
  }, 120_000);
});

describe('bgad train --inspection-area FILE', () => {
  it('trains with a black-and-white image as the area, and refuses an all-black one', async () => {
    const lines: string[] = [];
    const io = { out: (l: string) => void lines.push(l), err: () => undefined, progress: () => undefined };
    const white = await sharp(Buffer.alloc(40 * 20).map((_, i) => (i % 40 < 10 ? 255 : 0)), { raw: { width: 40, height: 20, channels: 1 } }).png().toBuffer();
    writeFileSync(join(root, 'area.png'), white);
    const out = join(root, 'cli.bgad');
    const values = { data: fx.categoryDir, out, 'inspection-area': join(root, 'area.png'), backbone: FIXTURE_BACKBONE, steps: '20', anomalies: '2', threads: '2', 'cache-dir': CACHE_DIR, quiet: true };
    expect(await trainCmd.run({ values, positionals: [] }, io)).toBe(0);
    expect(lines.join('\n')).toMatch(/inspection area 25\.0 % of the image/);
    const b = await loadBundle(out);
    expect(b.meta.inspectionArea).toEqual({ width: S, height: S, areaPx: (S * S) / 4 });
    writeFileSync(join(root, 'black.png'), await sharp(Buffer.alloc(16), { raw: { width: 4, height: 4, channels: 1 } }).png().toBuffer());
    await expect(trainCmd.run({ values: { ...values, 'inspection-area': join(root, 'black.png') }, positionals: [] }, io)).rejects.toThrow(UsageError);
    await expect(trainCmd.run({ values: { ...values, 'inspection-area': join(root, 'black.png') }, positionals: [] }, io)).rejects.toThrow(/all black: nothing would be inspected/);
  }, 180_000);
});

describe('a bundle without an area (as every bundle before areas)', () => {
  it('is still format 1, loads without an area, and scores the whole image as before', async () => {
    expect(readFileSync(fx.modelPath).readUInt32LE(8)).toBe(1);
    const b = await loadBundle(fx.modelPath);
    expect(b.inspectionArea).toBeUndefined();
    expect(b.meta.inspectionArea).toBeUndefined();
    const r = await score(plainModel, images.outside);
    let max = -Infinity;
    for (let i = 0; i < r.map.length; i++) max = Math.max(max, r.map[i]!);
    expect(r.score).toBeCloseTo(max, 5);
    // an area covering everything is neutral: the same scores as without one
    const full = await openInspectionModel({ ...b, inspectionArea: { width: 3, height: 2, pixels: new Uint8Array(6).fill(1) } }, { threads: 2, cacheDir: CACHE_DIR });
    try {
      for (const chw of [images.clean, images.outside]) expect((await score(full, chw)).score).toBeCloseTo((await score(plainModel, chw)).score, 6);
    } finally {
      await full.dispose();
    }
  });
});
