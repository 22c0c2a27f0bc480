/**
 * Scores a category's test set with a trained model and computes the metrics of
 * bgad/README.md §6: image AUROC, pixel AUROC, AUPRO (to FPR 0.3), per defect type, F1 at
 * the model's threshold.
 */
import { auroc, pixelAuroc, aupro, f1AtThreshold } from '../metrics';
import { featuresForImages } from '../backbones/feature-cache';
import type { ModelBundle } from '../bgad/bundle';
import type { EngineProgress } from '../common/engine-protocol';
import { AppError } from '../common/errors';
import { openExtractor, Scorer, defaultCacheRoot, readMaskAt } from './pipeline';
import type { DefectImage } from './dataset';
import type { ExecutionProviderName } from '../runtime/session';

export interface TypeMetrics { imageAuroc: number; pixelAuroc: number | null; aupro: number | null; count: number; seen: boolean }

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
  executionProvider?: ExecutionProviderName;
  signal?: AbortSignal;
  onProgress?: (p: EngineProgress) => void;
  progressSpan?: [number, number];
  /** Defect types the model saw during training (for the seen/unseen marks). */
  seenTypes?: string[];
}

export async function evaluateModel(bundle: ModelBundle, testGood: string[], testDefects: DefectImage[], opts: EvalOptions = {}): Promise<EvalMetrics> {
  if (!testGood.length || !testDefects.length) throw new AppError('BAD_DATASET', 'The test set needs both good (test/good) and defective (test/<type>) images to compute metrics.');
  const S = bundle.meta.backbone.inputSize;
  const { extractor, cache, spec } = await openExtractor(bundle.meta.backbone.id, opts.cacheDir ?? defaultCacheRoot(), opts.threads, opts.executionProvider);
  if (spec.sha256 !== bundle.meta.backbone.sha256) {
    await extractor.dispose();
    throw new AppError('BAD_MODEL', `The model was trained with a different build of backbone ${spec.id} (hash ${bundle.meta.backbone.sha256.slice(0, 12)}, here ${spec.sha256.slice(0, 12)}).`, { hint: 'Train the model again on this installation.' });
  }
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
        masks.push((it.maskPath ? await readMaskAt(it.maskPath, S) : null) ?? new Uint8Array(S * S));
      }
      i++;
      if (i % 8 === 0 || i === items.length) opts.onProgress?.({ fraction: p0 + ((p1 - p0) * i) / items.length, message: `scoring test images ${i}/${items.length}` });
      t = performance.now();
    }
  } finally {
    await scorer.dispose();
    await extractor.dispose();
  }
  const widths = maps.map(() => S), heights = maps.map(() => S);
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
    };
  }
  const thr = bundle.meta.threshold;
  return {
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
}
