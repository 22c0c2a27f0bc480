/**
 * Aspect-true input geometry end to end on the elongated synthetic category `shaft` (192 x 48
 * images, 4:1): train with geometry 'aspect' (a 64 x 256 input), evaluate, inspect a folder
 * (heat maps of the image's own shape), export (parity with the app at 1e-4, `bgad export`
 * prints the input shape); and a bundle written the old way (no inputHeight/inputWidth, format
 * 1) still loads and scores as a square model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { generateSyntheticDataset } from '../../src-main/synth/generate';
import { trainModel, type TrainedModel } from '../../src-main/training/pipeline';
import { evaluateWithScores } from '../../src-main/training/evaluate';
import { loadBundle, saveBundle } from '../../src-main/model/bundle-file';
import { openInspectionModel } from '../../src-main/model/scorer';
import { inspectFolder } from '../../src-main/inspection/inspect';
import { exportModel } from '../../src-main/inspection/export';
import { loadImageTensor } from '../../src-main/images/load';
import { encodeBundle } from '../../src-main/bgad/bundle';
import { inputGeometry } from '../../src-main/bgad/geometry';
import exportCommand from '../../src-main/cli/commands/export';
import type { CliIO } from '../../src-main/cli/command';
import { CACHE_DIR } from '../helpers/synth-fixture';
import { removeDir, tempDir } from '../inspection/fixture';

const BACKBONE = 'mobilenetv2';
let root: string;
let data: string;
let aspect: TrainedModel;
let aspectPath: string;
const notes: string[] = [];

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const files = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();

beforeAll(async () => {
  root = tempDir('bgad-aspect-');
  await generateSyntheticDataset({ outDir: join(root, 'data'), seed: 2, categories: ['shaft'] });
  data = join(root, 'data', 'shaft');
  aspect = await trainModel({
    dataDir: data, anomalies: 3, backboneId: BACKBONE, cacheDir: CACHE_DIR, threads: 2,
    overrides: { steps: 40, geometry: 'aspect' }, onProgress: (p) => notes.push(p.message ?? ''),
  });
  aspectPath = join(root, 'shaft-aspect.bgad');
  await saveBundle(aspectPath, aspect.bundle);
}, 300_000);
afterAll(() => removeDir(root));

describe('an aspect model on 4:1 shafts', () => {
  it('chooses 64 x 256 from the normals and records it in the bundle (format 3) with the real tap shapes', async () => {
    expect(notes.some((n) => n.startsWith('input geometry 256x64 px from the median aspect ratio of'))).toBe(true);
    const meta = (await loadBundle(aspectPath)).meta;
    expect(meta.backbone).toMatchObject({ id: BACKBONE, inputSize: 256, inputHeight: 64, inputWidth: 256 });
    expect(meta.config.geometry).toBe('aspect');
    expect(inputGeometry(meta)).toEqual({ height: 64, width: 256 });
    expect(new DataView(readFileSync(aspectPath).buffer).getUint32(8, true)).toBe(3);
    // MobileNetV2 taps at strides 4, 8, 16 of a 64 x 256 input
    expect(meta.levels.map((l) => [l.height, l.width])).toEqual([[16, 64], [8, 32], [4, 16]]);
  });

  it('evaluates with maps and masks at 64 x 256, and separates the defects', async () => {
    const { metrics, scores } = await evaluateWithScores(aspect.bundle, aspect.testGood, aspect.testDefects, { cacheDir: CACHE_DIR, threads: 2 });
    expect(metrics.counts).toEqual({ good: 12, defective: 18 });
    expect(scores.normal).toHaveLength(12);
    expect(metrics.pixelAuroc).not.toBeNull();
    expect(metrics.aupro).not.toBeNull();
    // 40 steps on 3 known anomalies: well above chance, at image and at pixel level
    expect(metrics.imageAuroc).toBeGreaterThan(0.8);
    expect(metrics.pixelAuroc!).toBeGreaterThan(0.8);
  }, 120_000);

  it('inspects a folder: results and heat maps in the image\'s own 4:1 shape, the reports name the input', async () => {
    const out = join(root, 'run');
    const report = await inspectFolder({ model: aspectPath, input: join(data, 'test'), out, threads: 2, cacheDir: CACHE_DIR, formats: ['html'] });
    expect([report.total, report.error]).toEqual([30, 0]);
    expect(report.model).toMatchObject({ inputSize: 256, inputHeight: 64, inputWidth: 256 });
    const r = report.results.find((x) => x.rel === 'scratch/000.png')!;
    expect([r.width, r.height]).toEqual([192, 48]);
    for (const f of [r.heatmap!, r.overlay!]) {
      const m = await sharp(f).metadata();
      expect([m.width, m.height]).toEqual([256, 64]);
    }
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('input 256x64 px');
  }, 120_000);

  it('exports one ONNX of input [batch, 3, 64, 256] that gives the app\'s scores and maps (1e-4)', async () => {
    const onnxPath = join(root, 'shaft.onnx');
    const lines: string[] = [];
    const io: CliIO = { out: (l) => lines.push(l), err: (l) => lines.push(l), progress: () => {} };
    expect(await exportCommand.run({ values: { model: aspectPath, out: onnxPath, 'cache-dir': CACHE_DIR }, positionals: [] }, io)).toBe(0);
    expect(lines.join('\n')).toContain('input image [batch, 3, 64, 256]');
    const { metadata } = await exportModel({ model: aspectPath, out: join(root, 'again.onnx'), cacheDir: CACHE_DIR, verify: false });
    expect([metadata.input_height, metadata.input_width, metadata.input_size]).toEqual(['64', '256', undefined]);
    expect(metadata.input).toContain('[batch, 3, 64, 256]');

    const session = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: 2 });
    const model = await openInspectionModel(aspectPath, { threads: 2, cacheDir: CACHE_DIR });
    try {
      const [H, W] = [64, 256];
      const part = [...files(join(data, 'test', 'good')).slice(0, 3), ...files(join(data, 'test', 'scratch')).slice(0, 3)];
      const imgs = await Promise.all(part.map((f) => loadImageTensor(f, { height: H, width: W })));
      const batch = new Float32Array(part.length * 3 * H * W);
      imgs.forEach((im, j) => batch.set(im.chw, j * 3 * H * W));
      const outs = await session.run({ image: new ort.Tensor('float32', batch, [part.length, 3, H, W]) });
      expect(outs.anomaly_map!.dims).toEqual([part.length, 1, H, W]);
      const maps = outs.anomaly_map!.data as Float32Array;
      const scores = outs.pred_score!.data as Float32Array;
      let maxMap = 0, maxScore = 0;
      for (let j = 0; j < part.length; j++) {
        const [app] = await model.score(imgs[j]!.chw, 1);
        expect(app!.map.length).toBe(H * W);
        maxScore = Math.max(maxScore, Math.abs(app!.score - scores[j]!));
        for (let i = 0; i < H * W; i++) maxMap = Math.max(maxMap, Math.abs(app!.map[i]! - maps[j * H * W + i]!));
      }
      expect(maxScore).toBeLessThanOrEqual(1e-4);
      expect(maxMap).toBeLessThanOrEqual(1e-4);
    } finally {
      await session.release();
      await model.dispose();
    }
  }, 180_000);
});

describe('a square model', () => {
  it('writes no geometry, and loads and scores the same when written the old way (format 1, no inputHeight/inputWidth)', async () => {
    const square = await trainModel({ dataDir: data, anomalies: 2, backboneId: BACKBONE, cacheDir: CACHE_DIR, threads: 2, overrides: { steps: 4 } });
    const meta = square.bundle.meta;
    expect(meta.config.geometry).toBe('square');
    expect(Object.keys(meta.backbone).sort()).toEqual(['id', 'inputSize', 'sha256']);
    expect(meta.levels.map((l) => [l.height, l.width])).toEqual([[64, 64], [32, 32], [16, 16]]);
    // the old way: the meta exactly as before aspect models, explicit geometry stripped
    const { inputHeight: _h, inputWidth: _w, ...oldBackbone } = { ...meta.backbone, inputHeight: 256, inputWidth: 256 };
    const oldBytes = encodeBundle({ ...square.bundle, meta: { ...meta, backbone: oldBackbone } }, sha);
    expect(new DataView(oldBytes.buffer).getUint32(8, true)).toBe(1);
    const oldPath = join(root, 'old.bgad');
    await import('node:fs/promises').then((fs) => fs.writeFile(oldPath, oldBytes));
    const explicit = join(root, 'explicit.bgad');
    await saveBundle(explicit, { ...square.bundle, meta: { ...meta, backbone: { ...meta.backbone, inputHeight: 256, inputWidth: 256 } } });

    const [a, b] = [await openInspectionModel(oldPath, { threads: 2, cacheDir: CACHE_DIR }), await openInspectionModel(explicit, { threads: 2, cacheDir: CACHE_DIR })];
    try {
      expect(a.input).toEqual({ height: 256, width: 256 });
      const img = await loadImageTensor(files(join(data, 'test', 'scratch'))[0]!, 256);
      const [ra] = await a.score(img.chw, 1);
      const [rb] = await b.score(img.chw, 1);
      expect(ra!.map.length).toBe(256 * 256);
      expect(ra!.score).toBe(rb!.score);
      expect(Array.from(ra!.map.subarray(0, 4096))).toEqual(Array.from(rb!.map.subarray(0, 4096)));
    } finally {
      await a.dispose();
      await b.dispose();
    }
    const { metadata } = await exportModel({ model: oldPath, out: join(root, 'old.onnx'), cacheDir: CACHE_DIR });
    expect([metadata.input_size, metadata.input_height, metadata.input_width]).toEqual(['256', '256', '256']);
  }, 180_000);
});
