import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { DEFAULT_KNOWN_ANOMALIES, trainModel, selectKnownAnomalies } from '../../src-main/training/pipeline';
import { loadBundle, saveBundle } from '../../src-main/model/bundle-file';
import { evaluateModel, evaluateWithScores } from '../../src-main/training/evaluate';
import { auroc } from '../../src-main/metrics';
import { scanCategory } from '../../src-main/training/dataset';
import { Rng } from '../../src-main/bgad/rng';
import { getBackbone } from '../../src-main/backbones/registry';
import { CACHE_DIR, synthDataset } from '../helpers/synth-fixture';

let root: string;
const tmp = mkdtempSync(join(tmpdir(), 'bgad-pipeline-'));
const STEPS = 150;

beforeAll(async () => {
  root = await synthDataset();
});

describe('BGAD end to end on a synthetic category', () => {
  it('reaches image AUROC >= 0.95, and known anomalies do at least as well as the unsupervised baseline', async () => {
    const data = join(root, 'woven_grid');
    const run = async (anomalies: number) => {
      const m = await trainModel({ dataDir: data, anomalies, overrides: { steps: STEPS }, cacheDir: CACHE_DIR });
      const { metrics, scores } = await evaluateWithScores(m.bundle, m.testGood, m.testDefects, { cacheDir: CACHE_DIR });
      return { m, e: metrics, scores };
    };
    const bgad = await run(6);
    await saveBundle(join(tmp, 'woven.bgad'), bgad.m.bundle);
    // one level per tap of the backbone (the default here: the zoo MobileNetV2 where its file is, else inceptionv3-lite)
    const saved = (await loadBundle(join(tmp, 'woven.bgad'))).meta;
    expect(saved.levels.map((l) => l.channels)).toEqual((await getBackbone(saved.backbone.id, { cacheDir: join(CACHE_DIR, 'backbones') })).taps.map((t) => t.channels));
    // the scores behind the metrics, per test image (the app stores them for its histogram)
    expect(bgad.scores.normal).toHaveLength(bgad.e.counts.good);
    expect(bgad.scores.defect).toHaveLength(bgad.e.counts.defective);
    expect(auroc([...bgad.scores.normal, ...bgad.scores.defect], [...bgad.scores.normal.map(() => 0), ...bgad.scores.defect.map(() => 1)])).toBe(bgad.e.imageAuroc);
    const base = await run(0);
    expect(bgad.e.imageAuroc).toBeGreaterThanOrEqual(0.95);
    expect(bgad.e.imageAuroc).toBeGreaterThanOrEqual(base.e.imageAuroc - 1e-9);
    expect(bgad.e.pixelAuroc!).toBeGreaterThan(0.9);
    expect(bgad.m.bundle.meta.training!.nanSteps).toBe(0);
    // the known anomalies were taken from train/<type>, so the test set is complete
    expect(bgad.e.counts.defective).toBe(scanCategory(data).testDefects.length);
    expect(Object.keys(bgad.e.perType).sort()).toEqual(['crack', 'scratch', 'spot']);
    expect(Object.values(bgad.e.perType).every((t) => t.seen)).toBe(true);
  }, 600_000);

  it('gives the same model for the same seed and data', async () => {
    const data = join(root, 'grain');
    const a = await trainModel({ dataDir: data, anomalies: 3, overrides: { steps: 6, seed: 3 }, cacheDir: CACHE_DIR });
    const b = await trainModel({ dataDir: data, anomalies: 3, overrides: { steps: 6, seed: 3 }, cacheDir: CACHE_DIR });
    const c = await trainModel({ dataDir: data, anomalies: 3, overrides: { steps: 6, seed: 4 }, cacheDir: CACHE_DIR });
    const w = (m: typeof a) => m.bundle.weights.flatMap((lv) => [...lv.params.values()].map((p) => Array.from(p.data.subarray(0, 50))));
    expect(w(a)).toEqual(w(b));
    expect(a.bundle.meta.threshold).toBe(b.bundle.meta.threshold);
    expect(w(a)).not.toEqual(w(c));
  }, 300_000);

  it('takes known anomalies from the test set when train/<type> is absent, and removes them from it', () => {
    const cat = scanCategory(join(root, 'disc'));
    const pool = cat.testDefects;
    const picked = selectKnownAnomalies(pool, 5, undefined, new Rng(0));
    expect(new Set(picked.map((d) => d.type)).size).toBe(Math.min(5, cat.defectTypes.length));
    const onlySpot = selectKnownAnomalies(pool, 4, ['spot'], new Rng(0));
    expect(onlySpot.every((d) => d.type === 'spot')).toBe(true);
  });

  it('uses the known anomalies there are when not told how many, and refuses an explicit count above them', async () => {
    const data = join(root, 'disc');
    const pool = scanCategory(data).trainDefects.length;
    expect(pool).toBeGreaterThan(0);
    expect(pool).toBeLessThan(DEFAULT_KNOWN_ANOMALIES); // the synthetic disc pool is smaller than the default
    const notes: string[] = [];
    const m = await trainModel({ dataDir: data, overrides: { steps: 2 }, cacheDir: CACHE_DIR, onProgress: (p) => notes.push(p.message ?? '') });
    expect(m.bundle.meta.anomaliesUsed).toHaveLength(pool);
    expect(notes).toContain(`using all ${pool} known anomalies available in train/<type> (the default is up to ${DEFAULT_KNOWN_ANOMALIES})`);
    await expect(trainModel({ dataDir: data, anomalies: pool + 1, overrides: { steps: 2 }, cacheDir: CACHE_DIR }))
      .rejects.toMatchObject({ code: 'BAD_DATASET', message: expect.stringContaining(`asked for ${pool + 1}`) });
  }, 120_000);

  it('refuses to train on known anomalies that have no mask, naming the file', async () => {
    const { cpSync, rmSync } = await import('node:fs');
    const copy = join(tmp, 'nomask');
    cpSync(join(root, 'stripes'), copy, { recursive: true });
    rmSync(join(copy, 'ground_truth'), { recursive: true });
    await expect(trainModel({ dataDir: copy, anomalies: 2, overrides: { steps: 2 }, cacheDir: CACHE_DIR })).rejects.toMatchObject({ code: 'MISSING_MASK', message: expect.stringMatching(/stripes|nomask/) });
  });

  it('evaluates a category without ground_truth masks at image level only', async () => {
    const { cpSync, rmSync } = await import('node:fs');
    const copy = join(tmp, 'nogt');
    cpSync(join(root, 'stripes'), copy, { recursive: true });
    rmSync(join(copy, 'ground_truth'), { recursive: true });
    const m = await trainModel({ dataDir: copy, anomalies: 0, overrides: { steps: 4 }, cacheDir: CACHE_DIR });
    const e = await evaluateModel(m.bundle, m.testGood, m.testDefects, { cacheDir: CACHE_DIR });
    expect(e.pixelAuroc).toBeNull();
    expect(e.aupro).toBeNull();
    expect(Number.isFinite(e.imageAuroc)).toBe(true);
    expect(Object.values(e.perType).every((t) => t.pixelAuroc === null)).toBe(true);
  }, 120_000);

  it('leaves out unreadable training and test images with their reasons, and goes on', async () => {
    const { cpSync, writeFileSync: write } = await import('node:fs');
    const copy = join(tmp, 'broken');
    cpSync(join(root, 'grain'), copy, { recursive: true });
    write(join(copy, 'train', 'good', 'zz-truncated.png'), readFileSync(join(copy, 'train', 'good', '000.png')).subarray(0, 60));
    write(join(copy, 'test', 'good', 'zz-text.png'), 'not an image at all');
    const m = await trainModel({ dataDir: copy, anomalies: 0, overrides: { steps: 4 }, cacheDir: CACHE_DIR });
    const e = await evaluateModel(m.bundle, m.testGood, m.testDefects, { cacheDir: CACHE_DIR });
    const all = [...(m.bundle.meta.skippedImages ?? []), ...e.skipped];
    expect(all.map((x) => x.path.split('/').pop()).sort()).toEqual(expect.arrayContaining(['zz-text.png']));
    expect(all.every((x) => x.reason.includes(x.path.split('/').pop()!))).toBe(true);
    expect(e.counts.good).toBe(m.testGood.length - 1);
    // the truncated file was either in the training split or held out: it is reported either way
    expect((m.bundle.meta.skippedImages ?? []).map((x) => x.path)).toContain(join(copy, 'train', 'good', 'zz-truncated.png'));
  }, 120_000);
});
