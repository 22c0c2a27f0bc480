/**
 * The job kinds the engine runs. Each validates its params and calls the training /
 * inspection code; results are plain structured-clone data.
 */
import { AppError } from '../common/errors';
import type { JobHandler } from './engine-worker-core';
import { trainModel, type TrainModelOptions } from '../training/pipeline';
import { saveBundle } from '../model/bundle-file';
import { evaluateWithScores, type TestScores } from '../training/evaluate';
import { scoreImageFiles } from '../model/score-images';
import { APP_JOB_HANDLERS } from './app-jobs'; // the app's job kinds: scoring, inspection, export

function obj(p: unknown): Record<string, unknown> {
  if (!p || typeof p !== 'object') throw new AppError('BAD_ARGUMENT', 'job parameters must be an object');
  return p as Record<string, unknown>;
}

export interface TrainJobParams extends Omit<TrainModelOptions, 'signal' | 'onProgress'> {
  /** Where to write the .bgad bundle. */
  out: string;
  /** Also evaluate on the category's test set. */
  evaluate?: boolean;
}

/**
 * What the train job returns (plain structured-clone data). `testScores`: the image score of
 * every image of the frozen test split (test good, then test defects, in the category's
 * order): those evaluation scored when it ran (an image it could not read is left out), else
 * scored here, so the app stores them with the model version and needs no second scoring job.
 */
export interface TrainJobResult {
  out: string;
  threshold: number;
  calibration: { levelMax: number[]; mapMax: number };
  training?: { steps: number; trainSeconds: number; nanSteps: number };
  anomaliesUsed: { path: string; type: string; sha256: string }[];
  levels: { boundary: number | null }[];
  metrics: Record<string, unknown> | null;
  curve: { step: number; level: number; loss: number; boundary: number }[];
  backbone: { id: string; sha256: string; inputSize: number };
  testScores: TestScores;
}

export const JOB_HANDLERS: Record<string, JobHandler> = {
  ...APP_JOB_HANDLERS,
  /** Trains a model (and optionally evaluates it); writes the bundle to params.out; returns the test split's scores. */
  async train(params, ctx): Promise<TrainJobResult> {
    const p = obj(params) as unknown as TrainJobParams;
    if ((typeof p.dataDir !== 'string' && !p.category) || typeof p.out !== 'string') throw new AppError('BAD_ARGUMENT', 'train: dataDir (or category) and out are required');
    // without evaluation, the test split (if any) is still scored, in the last 5 %
    const share = p.evaluate ? 0.8 : 0.95;
    const model = await trainModel({ ...p, signal: ctx.signal, onProgress: (pr) => ctx.progress({ ...pr, fraction: pr.fraction * share }) });
    let metrics: Record<string, unknown> | null = null;
    let testScores: TestScores;
    if (p.evaluate) {
      const evaluated = await evaluateWithScores(model.bundle, model.testGood, model.testDefects, {
        cacheDir: p.cacheDir, threads: p.threads, signal: ctx.signal, seenTypes: [...new Set(model.bundle.meta.anomaliesUsed.map((a) => a.type))],
        onProgress: (pr) => ctx.progress({ ...pr, fraction: 0.8 + 0.2 * pr.fraction }),
      });
      metrics = evaluated.metrics as unknown as Record<string, unknown>;
      testScores = evaluated.scores;
      model.bundle.meta.metrics = metrics;
    } else {
      const good = model.testGood;
      const all = [...good, ...model.testDefects.map((d) => d.path)];
      const scores = all.length === 0 ? [] : await scoreImageFiles(model.bundle, all, {
        cacheDir: p.cacheDir, threads: p.threads, signal: ctx.signal,
        onProgress: (done, total) => ctx.progress({ fraction: share + (1 - share) * (done / total), message: `scoring the test split ${done}/${total}` }),
      });
      testScores = { normal: scores.slice(0, good.length), defect: scores.slice(good.length) };
    }
    await saveBundle(p.out, model.bundle);
    const m = model.bundle.meta;
    return {
      out: p.out, threshold: m.threshold, calibration: m.calibration, training: m.training, anomaliesUsed: m.anomaliesUsed, levels: m.levels, metrics, curve: model.train.curve,
      backbone: { ...m.backbone }, testScores,
    };
  },
  /** A job that only waits (engine self-test; `ignoreCancel` simulates a stuck native call). */
  async sleep(params, ctx) {
    const ms = Number(obj(params).ms ?? 100);
    const ignoreCancel = obj(params).ignoreCancel === true;
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (ctx.signal.aborted && !ignoreCancel) throw new AppError('CANCELLED', 'The job was cancelled.');
      await new Promise((r) => setTimeout(r, 10));
    }
    return { sleptMs: Date.now() - t0 };
  },
};

/** Lets other areas (inspection) add job kinds without editing this file's table. */
export function registerJob(kind: string, handler: JobHandler): void {
  JOB_HANDLERS[kind] = handler;
}
