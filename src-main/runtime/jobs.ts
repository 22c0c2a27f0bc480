/**
 * The job kinds the engine runs. Each validates its params and calls the training /
 * inspection code; results are plain structured-clone data.
 */
import { AppError } from '../common/errors';
import type { JobHandler } from './engine-worker-core';
import { saveBundle, trainModel, type TrainModelOptions } from '../training/pipeline';
import { evaluateModel } from '../training/evaluate';
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

export const JOB_HANDLERS: Record<string, JobHandler> = {
  ...APP_JOB_HANDLERS,
  /** Trains a model (and optionally evaluates it); writes the bundle to params.out. */
  async train(params, ctx) {
    const p = obj(params) as unknown as TrainJobParams;
    if ((typeof p.dataDir !== 'string' && !p.category) || typeof p.out !== 'string') throw new AppError('BAD_ARGUMENT', 'train: dataDir (or category) and out are required');
    const model = await trainModel({ ...p, signal: ctx.signal, onProgress: (pr) => ctx.progress({ ...pr, fraction: pr.fraction * (p.evaluate ? 0.8 : 1) }) });
    let metrics: unknown = null;
    if (p.evaluate) {
      metrics = await evaluateModel(model.bundle, model.testGood, model.testDefects, {
        cacheDir: p.cacheDir, threads: p.threads, signal: ctx.signal, seenTypes: [...new Set(model.bundle.meta.anomaliesUsed.map((a) => a.type))],
        onProgress: (pr) => ctx.progress({ ...pr, fraction: 0.8 + 0.2 * pr.fraction }),
      });
      model.bundle.meta.metrics = metrics as Record<string, unknown>;
    }
    await saveBundle(p.out, model.bundle);
    const m = model.bundle.meta;
    return { out: p.out, threshold: m.threshold, calibration: m.calibration, training: m.training, anomaliesUsed: m.anomaliesUsed, levels: m.levels, metrics, curve: model.train.curve };
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
