/**
 * Train-and-evaluate runs and the unseen-defect robustness report (common/robustness.ts):
 * the baseline, one model with every defect type known and one per type held out of the known
 * anomalies, each evaluated on the test set. Used by `bgad eval` (one run, seeds,
 * `--leave-one-type-out`) and by the app's `robustness` engine job (a dataset's lists).
 * (bgad/README.md: "unseen".)
 */
import { AppError } from '../common/errors';
import type { EngineProgress } from '../common/engine-protocol';
import type { ExecutionProvider } from '../common/records';
import { meanOf, type RobustnessFigures, type RobustnessReport, type RobustnessRow, type RobustnessRun } from '../common/robustness';
import type { PresetName, TrainConfig } from '../bgad/config';
import { saveBundle } from '../model/bundle-file';
import { scanCategory, type CategoryData } from './dataset';
import { evaluateModel, type EvalMetrics } from './evaluate';
import { measureFeatureMs, trainModel } from './pipeline';
import { inputGeometry } from '../bgad/geometry';

export type { RobustnessReport, RobustnessRow, RobustnessRun } from '../common/robustness';

/** What one train-and-evaluate run is asked (the CLI's parsed training flags fit it). */
export interface EvalRunOptions {
  preset?: PresetName;
  overrides?: Partial<TrainConfig>;
  anomalies?: number;
  anomalyTypes?: string[];
  backboneId?: string;
  threads?: number;
  executionProvider?: ExecutionProvider;
  cacheDir?: string;
}

/** Where the images are: a category folder (MVTec AD layout) or a dataset's lists. */
export type EvalData = { dataDir: string; category?: undefined } | { category: CategoryData; dataDir?: undefined };

export interface EvalRunHooks {
  /** Also save the trained bundle here. */
  save?: string;
  signal?: AbortSignal;
  /** Progress of this run, 0..1. */
  onProgress?: (p: EngineProgress) => void;
  /** When every feature came from the cache, time the backbone on a few test images (default true; the report's runs skip it). */
  timeBackbone?: boolean;
}

/** Trains once and evaluates on the test set: the figures of one run (what `bgad eval --json` writes for one seed) and the evaluation itself. */
export async function trainAndEvaluate(data: EvalData, o: EvalRunOptions, hooks: EvalRunHooks = {}): Promise<{ result: RobustnessRun; m: EvalMetrics }> {
  const t0 = performance.now();
  const onProgress = hooks.onProgress ?? (() => undefined);
  const model = await trainModel({ ...data, ...o, signal: hooks.signal, onProgress: (p) => onProgress({ ...p, fraction: p.fraction * 0.8 }) });
  if (hooks.save) await saveBundle(hooks.save, model.bundle);
  const seenTypes = [...new Set(model.bundle.meta.anomaliesUsed.map((a) => a.type))];
  const m = await evaluateModel(model.bundle, model.testGood, model.testDefects, {
    cacheDir: o.cacheDir, threads: o.threads, executionProvider: o.executionProvider, signal: hooks.signal, seenTypes,
    onProgress: (p) => onProgress({ ...p, fraction: 0.8 + 0.2 * p.fraction }),
  });
  const meta = model.bundle.meta;
  const protocol = o.anomalies === 0 ? 'unsupervised' : o.anomalyTypes?.length ? 'unseen' : 'seen';
  let featureMs = Number.isFinite(model.featureMsPerImage) ? model.featureMsPerImage : m.featureMsPerImage;
  if (!Number.isFinite(featureMs) && hooks.timeBackbone !== false) {
    // every feature came from the cache: time the backbone on a few test images
    featureMs = await measureFeatureMs(model.testGood, { backboneId: model.bundle.meta.backbone.id, cacheDir: o.cacheDir, threads: o.threads, size: inputGeometry(model.bundle.meta) });
  }
  const unseen = Object.values(m.perType).filter((v) => !v.seen && v.imageAuroc !== null && Number.isFinite(v.imageAuroc));
  return {
    result: {
      dataset: model.category.name,
      imageAuroc: m.imageAuroc,
      pixelAuroc: m.pixelAuroc,
      aupro: m.aupro,
      f1: m.f1,
      threshold: m.threshold,
      perType: m.perType,
      unseenMeanImageAuroc: unseen.length ? unseen.reduce((a, v) => a + v.imageAuroc, 0) / unseen.length : null,
      trainSeconds: meta.training!.trainSeconds,
      totalSeconds: (performance.now() - t0) / 1000,
      featureMsPerImage: Number.isFinite(featureMs) ? featureMs : null,
      inferMsPerImage: m.inferMsPerImage,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      anomaliesUsed: meta.anomaliesUsed.length,
      anomalies: meta.anomaliesUsed.map((a) => ({ type: a.type, file: a.path.split(/[\\/]/).pop() })),
      protocol,
      backbone: meta.backbone.id,
      input: inputGeometry(meta),
      preset: meta.config.preset,
      seed: meta.config.seed,
      steps: meta.training!.steps,
      nanSteps: meta.training!.nanSteps,
      testCounts: m.counts,
      skippedImages: [...(meta.skippedImages ?? []), ...m.skipped],
      note: 'The known anomalies used for training are removed from the test set.',
    },
    m,
  };
}

export interface RobustnessHooks {
  signal?: AbortSignal;
  /** Progress of the whole report, 0..1 (each run's share is equal; its message names the run). */
  onProgress?: (p: EngineProgress) => void;
  /** A run starts: its label (`crack held out`), its number from 1 and how many there are. */
  onRun?: (label: string, index: number, total: number) => void;
}

/** The defect types of a report, or a BAD_DATASET error saying why there are too few. */
export function robustnessTypes(cat: CategoryData): string[] {
  const types = cat.defectTypes;
  if (types.length < 2) {
    throw new AppError('BAD_DATASET', `The unseen-defect report needs at least two defect types in ${cat.dir} (found ${types.length ? types.join(', ') : 'none'}).`, {
      hint: 'Label defective images with their defect type (two types or more), with masks for the known ones.',
    });
  }
  return types;
}

const pick = (t: RobustnessFigures | undefined): RobustnessFigures | null => (t ? { imageAuroc: t.imageAuroc, pixelAuroc: t.pixelAuroc, recall: t.recall } : null);

/**
 * The unseen-defect robustness report: the unsupervised baseline, one model with known
 * anomalies of every type, and one model per type with that type held out of the known
 * anomalies (2 + types trainings); per type, its figures when seen, unseen and without any
 * known anomaly. `o.anomalies` (the count) is kept for the supervised runs.
 */
export async function leaveOneTypeOut(data: EvalData, o: EvalRunOptions, hooks: RobustnessHooks = {}): Promise<RobustnessReport> {
  const cat = data.category ?? scanCategory(data.dataDir!);
  const types = robustnessTypes(cat);
  const runs: { label: string; o: EvalRunOptions }[] = [
    { label: 'baseline (no known anomalies)', o: { ...o, anomalies: 0, anomalyTypes: undefined } },
    { label: 'all types known', o: { ...o, anomalyTypes: undefined } },
    ...types.map((t) => ({ label: `${t} held out`, o: { ...o, anomalyTypes: types.filter((x) => x !== t) } })),
  ];
  const results: RobustnessRun[] = [];
  for (const [i, r] of runs.entries()) {
    if (hooks.signal?.aborted) throw new AppError('CANCELLED', 'The robustness report was cancelled.');
    hooks.onRun?.(r.label, i + 1, runs.length);
    const onProgress = (p: EngineProgress) => hooks.onProgress?.({ ...p, fraction: (i + Math.min(1, Math.max(0, p.fraction))) / runs.length, message: `${r.label} (${i + 1} of ${runs.length})${p.message ? `: ${p.message}` : ''}` });
    results.push((await trainAndEvaluate({ category: cat }, r.o, { signal: hooks.signal, onProgress, timeBackbone: false })).result);
  }
  const [base, all, ...held] = results as [RobustnessRun, RobustnessRun, ...RobustnessRun[]];
  const rows: RobustnessRow[] = types.map((t, k) => ({
    type: t,
    count: base.perType[t]?.count ?? 0,
    baseline: pick(base.perType[t]) ?? { imageAuroc: NaN, pixelAuroc: null, recall: 0 },
    seen: all.perType[t]?.seen ? pick(all.perType[t]) : null,
    unseen: held[k]!.perType[t] && !held[k]!.perType[t]!.seen ? pick(held[k]!.perType[t]) : null,
  }));
  const meanImageAuroc = {
    seen: meanOf(rows.map((r) => r.seen?.imageAuroc)),
    unseen: meanOf(rows.map((r) => r.unseen?.imageAuroc)),
    baseline: meanOf(rows.map((r) => r.baseline.imageAuroc)),
  };
  return { dataset: base.dataset, backbone: base.backbone, preset: base.preset, seed: base.seed, types, rows, meanImageAuroc, runs: results };
}

const fmt = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '   -  ' : x.toFixed(3).padStart(6));

/** The report as the terminal table `bgad eval --leave-one-type-out` prints (one line each). */
export function robustnessTableLines(report: RobustnessReport): string[] {
  const f = (x: RobustnessFigures | null) => (x ? `${fmt(x.imageAuroc)} ${fmt(x.pixelAuroc)} ${fmt(x.recall)}` : '    -      -      -  ');
  const { meanImageAuroc: mean } = report;
  return [
    `${report.dataset}: unseen-defect robustness, backbone ${report.backbone}, preset ${report.preset}, seed ${report.seed}; image AUROC / pixel AUROC / recall at the threshold`,
    '',
    `type              n   ${'seen'.padEnd(21)} ${'unseen (held out)'.padEnd(21)} baseline (no anomalies)`,
    ...report.rows.map((r) => `${r.type.padEnd(14)} ${String(r.count).padStart(4)}  ${f(r.seen)}  ${f(r.unseen)}  ${f(r.baseline)}`),
    `${'mean image AUROC'.padEnd(19)}  ${fmt(mean.seen)}                ${fmt(mean.unseen)}                ${fmt(mean.baseline)}`,
  ];
}
