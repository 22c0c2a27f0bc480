/**
 * Scores a category's test set with a trained model and computes the metrics of
 * bgad/README.md §6: image AUROC, pixel AUROC, AUPRO (to FPR 0.3), per defect type, F1 at
 * the model's threshold.
 */
import { join } from 'node:path';
import { auroc, pixelAuroc, aupro, f1AtThreshold } from '../metrics';
import { FeatureCache, featuresForImages } from '../backbones/feature-cache';
import { FeatureExtractor } from '../backbones/extractor';
import type { ModelBundle } from '../bgad/bundle';
import type { EngineProgress } from '../common/engine-protocol';
import { AppError } from '../common/errors';
import { defaultCacheRoot } from '../db/paths';
import { backboneForBundle } from '../model/backbone';
import { Scorer } from '../model/scorer';
import { readMaskAt } from './pipeline';
import { inputGeometry } from '../bgad/geometry';
import type { DefectImage } from './dataset';
import type { ExecutionProvider } from '../common/records';
import type { TestScores } from '../common/engine-jobs';

export interface TypeMetrics {
  imageAuroc: number;
  pixelAuroc: number | null;
  aupro: number | null;
  count: number;
  seen: boolean;
  /** Share of this type's images that fail at the model's threshold (score > threshold). */
  recall: number;
}

export interface EvalMetrics {
  imageAuroc: number;
  pixelAuroc: number | null;
  aupro: number | null;
  f1: number;
  threshold: number;
  perType: Record<string, TypeMetrics>;
  counts: { good: number; defective: number };
  /** Test images that could not be read and were left out of the metrics, with the reason. */
  skipped: { path: string; reason: string }[];
  inferMsPerImage: number;
  featureMsPerImage: number;
}

export interface EvalOptions {
  cacheDir?: string;
  threads?: number;
  executionProvider?: ExecutionProvider;
  signal?: AbortSignal;
  onProgress?: (p: EngineProgress) => void;
  progressSpan?: [number, number];
  /** Defect types the model saw during training (for the seen/unseen marks). */
  seenTypes?: string[];
}

/** The image scores of a test split, in the order given (images that could not be read are left out): the engine job contract's type, which the train job returns. */
export type { TestScores } from '../common/engine-jobs';

export async function evaluateModel(bundle: ModelBundle, testGood: string[], testDefects: DefectImage[], opts: EvalOptions = {}): Promise<EvalMetrics> {
  return (await evaluateWithScores(bundle, testGood, testDefects, opts)).metrics;
}

/** `evaluateModel`, also returning the image score of every test image it scored. */
export async function evaluateWithScores(bundle: ModelBundle, testGood: string[], testDefects: DefectImage[], opts: EvalOptions = {}): Promise<{ metrics: EvalMetrics; scores: TestScores }> {
  if (!testGood.length || !testDefects.length) throw new AppError('BAD_DATASET', 'The test set needs both good (test/good) and defective (test/<type>) images to compute metrics.');
  const S = inputGeometry(bundle.meta);
  const spec = await backboneForBundle(bundle, opts.cacheDir);
  const extractor = await FeatureExtractor.create(spec, { threads: opts.threads, executionProvider: opts.executionProvider });
  const cache = new FeatureCache(join(opts.cacheDir ?? defaultCacheRoot(), 'features'));
  const scorer = await Scorer.fromBundle(bundle, { threads: opts.threads, executionProvider: opts.executionProvider });
  const items = [...testGood.map((p) => ({ path: p, type: 'good', maskPath: null as string | null })), ...testDefects.map((d) => ({ path: d.path, type: d.type, maskPath: d.maskPath }))];
  const hasMasks = testDefects.every((d) => d.maskPath);
  const scores: number[] = [];
  const labels: number[] = [];
  const maps: Float32Array[] = [];
  const masks: Uint8Array[] = [];
  let featMs = 0, nExtracted = 0, inferMs = 0;
  const skipped: { path: string; reason: string }[] = [];
  const kept: typeof items = [];
  const [p0, p1] = opts.progressSpan ?? [0, 1];
  try {
    let i = 0;
    let t = performance.now();
    const byPath = new Map(items.map((x) => [x.path, x]));
    const onError = (path: string, e: AppError) => skipped.push({ path, reason: e.message });
    for await (const f of featuresForImages(items.map((x) => x.path), { extractor, cache, sizePx: S, signal: opts.signal, onError })) {
      const now = performance.now();
      if (!f.fromCache) { featMs += now - t; nExtracted++; }
      const it = byPath.get(f.path)!;
      kept.push(it);
      const t1 = performance.now();
      const [r] = await scorer.score([f.taps]);
      inferMs += performance.now() - t1;
      scores.push(r!.score);
      labels.push(it.type === 'good' ? 0 : 1);
      if (hasMasks) {
        maps.push(r!.map);
        masks.push((it.maskPath ? await readMaskAt(it.maskPath, S) : null) ?? new Uint8Array(S.height * S.width));
      }
      i++;
      if (i % 8 === 0 || i === items.length) opts.onProgress?.({ fraction: p0 + ((p1 - p0) * i) / items.length, message: `scoring test images ${i}/${items.length}` });
      t = performance.now();
    }
  } finally {
    await scorer.dispose();
    await extractor.dispose();
  }
  const widths = maps.map(() => S.width), heights = maps.map(() => S.height);
  const thr = bundle.meta.threshold;
  const perType: Record<string, TypeMetrics> = {};
  const types = [...new Set(testDefects.map((d) => d.type))].sort();
  for (const type of types) {
    const idx = kept.map((it, j) => (it.type === type || it.type === 'good' ? j : -1)).filter((j) => j >= 0);
    const sub = <T,>(a: T[]) => idx.map((j) => a[j]!);
    perType[type] = {
      imageAuroc: auroc(sub(scores), sub(labels)),
      pixelAuroc: hasMasks ? pixelAuroc(sub(maps), sub(masks)) : null,
      aupro: hasMasks ? aupro(sub(maps), sub(masks), sub(widths), sub(heights), 0.3) : null,
      count: kept.filter((it) => it.type === type).length,
      seen: (opts.seenTypes ?? bundle.meta.anomaliesUsed.map((a) => a.type)).includes(type),
      recall: recallOf(scores.filter((_, j) => kept[j]!.type === type), thr),
    };
  }
  const metrics: EvalMetrics = {
    imageAuroc: auroc(scores, labels),
    pixelAuroc: hasMasks ? pixelAuroc(maps, masks) : null,
    aupro: hasMasks ? aupro(maps, masks, widths, heights, 0.3) : null,
    f1: f1AtThreshold(scores, labels, thr).f1,
    threshold: thr,
    perType,
    counts: { good: kept.filter((it) => it.type === 'good').length, defective: kept.filter((it) => it.type !== 'good').length },
    skipped,
    inferMsPerImage: inferMs / Math.max(1, kept.length),
    featureMsPerImage: nExtracted ? featMs / nExtracted : NaN,
  };
  return { metrics, scores: { normal: scores.filter((_, j) => labels[j] === 0), defect: scores.filter((_, j) => labels[j] === 1) } };
}

/** Share of the scores above the threshold (0 for none). */
export function recallOf(scores: number[], threshold: number): number {
  return scores.length ? scores.filter((x) => x > threshold).length / scores.length : 0;
}
