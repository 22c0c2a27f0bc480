/**
 * Engine job kinds the app's services use (browser mode and the desktop app), beside
 * `train`: inspecting one image or a folder, exporting a model as ONNX, and scoring a frozen
 * test split (only for model versions stored before the train job returned its test scores).
 * They run in the engine worker / utility process, never on a server's event loop (every one
 * of them runs ONNX Runtime sessions).
 */
import { AppError } from '../common/errors';
import type { JobHandler } from './engine-worker-core';
import { loadBundle } from '../model/bundle-file';
import { scoreImageFiles } from '../model/score-images';
import { inspectFolder, inspectImage } from '../inspection/inspect';
import { exportModel } from '../inspection/export';
import type { InspectionFileResult } from '../model/records';

function params(p: unknown): Record<string, unknown> {
  if (!p || typeof p !== 'object') throw new AppError('BAD_ARGUMENT', 'job parameters must be an object');
  return p as Record<string, unknown>;
}
function str(p: Record<string, unknown>, key: string): string {
  const v = p[key];
  if (typeof v !== 'string' || v.length === 0) throw new AppError('BAD_ARGUMENT', `job parameter ${key} must be a path`);
  return v;
}
const optNum = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const optStr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export interface ScoreSplitParams {
  bundle: string;
  good: string[];
  defect: string[];
  cacheDir?: string;
  threads?: number;
}

export interface ScoreSplitResult {
  normal: number[];
  defect: number[];
  backbone: { id: string; sha256: string; inputSize: number };
}

/** One inspected file as it travels back to the services (no pixel data). */
export type BatchResult = Pick<InspectionFileResult, 'path' | 'rel' | 'sha256' | 'score' | 'verdict' | 'error' | 'heatmap' | 'overlay' | 'thumbnail'>;

export const APP_JOB_HANDLERS: Record<string, JobHandler> = {
  /**
   * Image scores of a model on a list of good and defective images (histograms, ROC): the
   * fallback for model versions stored without the test scores their training returned.
   */
  async 'score-split'(raw, ctx) {
    const p = params(raw);
    const bundle = await loadBundle(str(p, 'bundle'));
    const good = (p.good as string[] | undefined) ?? [];
    const defect = (p.defect as string[] | undefined) ?? [];
    const scores = await scoreImageFiles(bundle, [...good, ...defect], {
      cacheDir: optStr(p.cacheDir), threads: optNum(p.threads), signal: ctx.signal,
      onProgress: (done, total) => ctx.progress({ fraction: done / Math.max(1, total), message: `scoring the test split ${done}/${total}` }),
    });
    const result: ScoreSplitResult = { normal: scores.slice(0, good.length), defect: scores.slice(good.length), backbone: { ...bundle.meta.backbone } };
    return result;
  },

  /** One image: score, verdict and heat-map pictures written under `out`. */
  async 'inspect-image'(raw) {
    const p = params(raw);
    const r = await inspectImage({ model: str(p, 'bundle'), image: str(p, 'image'), out: str(p, 'out'), threshold: optNum(p.threshold), cacheDir: optStr(p.cacheDir), threads: optNum(p.threads) });
    const { map: _map, ...rest } = r;
    return rest;
  },

  /**
   * A folder: results stream back in the progress events (`data.results`, each file once, in
   * the order they were written) so the services can store them as they come.
   */
  async 'inspect-batch'(raw, ctx) {
    const p = params(raw);
    let pending: BatchResult[] = [];
    const summary = await inspectFolder({
      model: str(p, 'bundle'),
      input: str(p, 'input'),
      out: str(p, 'out'),
      threshold: optNum(p.threshold),
      cacheDir: optStr(p.cacheDir),
      threads: optNum(p.threads),
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
    return { total: summary.total, pass: summary.pass, fail: summary.fail, error: summary.error, threshold: summary.threshold, reports: summary.reports, out: summary.out };
  },

  /** A portable ONNX file (image -> anomaly_map, pred_score), verified by a test run. */
  async 'export-model'(raw) {
    const p = params(raw);
    const r = await exportModel({ model: str(p, 'bundle'), out: str(p, 'out'), cacheDir: optStr(p.cacheDir), verify: true });
    return { path: r.path, sha256: r.sha256 };
  },
};
