/**
 * Engine job kinds the app's services use (browser mode and the desktop app), beside
 * `train`: inspecting one image or a folder, exporting a model as ONNX, and scoring a frozen
 * test split (only for model versions stored before the train job returned its test scores).
 * They run in the engine worker / utility process, never on a server's event loop (every one
 * of them runs ONNX Runtime sessions). Params and results: src-main/common/engine-jobs.ts.
 */
import type { BatchResult, ScoreSplitResult } from '../common/engine-jobs';
import { loadBundle } from '../model/bundle-file';
import { scoreImageFiles } from '../model/score-images';
import { inspectFolder, inspectImage } from '../inspection/inspect';
import { exportModel } from '../inspection/export';
import { onEngineShutdown, type TypedJobHandlers } from './engine-worker-core';
import { ModelCache } from './model-cache';

export type { BatchResult, ScoreSplitParams, ScoreSplitResult } from '../common/engine-jobs';

/**
 * The models `inspect-image` keeps open between jobs (the app's single image, /v1/inspect):
 * the two most recently used, each reopened when its bundle file changes (model-cache.ts).
 */
export const inspectionModels = new ModelCache(2);
onEngineShutdown(() => inspectionModels.dispose());

export const APP_JOB_HANDLERS: TypedJobHandlers<'score-split' | 'inspect-image' | 'inspect-batch' | 'export-model'> = {
  /**
   * Image scores of a model on a list of good and defective images (histograms, ROC): the
   * fallback for model versions stored without the test scores their training returned.
   */
  async 'score-split'(p, ctx) {
    const bundle = await loadBundle(p.bundle);
    const good = p.good ?? [];
    const defect = p.defect ?? [];
    const scores = await scoreImageFiles(bundle, [...good, ...defect], {
      cacheDir: p.cacheDir, threads: p.threads, signal: ctx.signal,
      onProgress: (done, total) => ctx.progress({ fraction: done / Math.max(1, total), message: `scoring the test split ${done}/${total}` }),
    });
    const result: ScoreSplitResult = { normal: scores.slice(0, good.length), defect: scores.slice(good.length), backbone: { ...bundle.meta.backbone } };
    return result;
  },

  /** One image: score, verdict and heat-map pictures written under `out`, with a model kept open between jobs. */
  async 'inspect-image'(p) {
    const runtime = { cacheDir: p.cacheDir, threads: p.threads };
    const r = await inspectionModels.use(p.bundle, runtime, (model) => inspectImage({ model, image: p.image, out: p.out, threshold: p.threshold, reviewBand: p.reviewBand, ...runtime }));
    const { map: _map, ...rest } = r;
    return rest;
  },

  /**
   * A folder: results stream back in the progress events (`data.results`, each file once, in
   * the order they were written) so the services can store them as they come.
   */
  async 'inspect-batch'(p, ctx) {
    let pending: BatchResult[] = [];
    const summary = await inspectFolder({
      model: p.bundle,
      input: p.input,
      out: p.out,
      threshold: p.threshold,
      reviewBand: p.reviewBand,
      cacheDir: p.cacheDir,
      threads: p.threads,
      formats: ['pdf', 'csv'],
      signal: ctx.signal,
      onResult: (r) => {
        pending.push({ path: r.path, rel: r.rel, sha256: r.sha256, score: r.score, verdict: r.verdict, error: r.error, heatmap: r.heatmap, overlay: r.overlay, thumbnail: r.thumbnail });
      },
      onProgress: (pr) => {
        const results = pending;
        pending = [];
        ctx.progress({ fraction: pr.fraction, message: pr.message, etaMs: pr.etaMs, data: { done: pr.done, total: pr.total, imagesPerSecond: pr.imagesPerSecond, results } });
      },
    });
    if (pending.length) ctx.progress({ fraction: 1, message: 'finishing', data: { done: summary.total, total: summary.total, results: pending } });
    return { total: summary.total, pass: summary.pass, fail: summary.fail, error: summary.error, review: summary.review ?? 0, threshold: summary.threshold, reports: summary.reports, out: summary.out };
  },

  /** A portable ONNX file (image -> anomaly_map, pred_score), verified by a test run. */
  async 'export-model'(p) {
    const r = await exportModel({ model: p.bundle, out: p.out, cacheDir: p.cacheDir, verify: true });
    return { path: r.path, sha256: r.sha256 };
  },
};
