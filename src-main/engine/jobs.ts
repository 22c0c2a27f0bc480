/**
 * The job kinds the engine runs: one handler per job of the contract
 * (src-main/common/engine-jobs.ts). `JOB_HANDLERS` validates each job's params with the
 * contract before its handler runs; handlers call the training / inspection code and return
 * the contract's result types (plain structured-clone data).
 */
import { AppError } from '../common/errors';
import { parseJobArgs, type JobName, type TestScores, type TrainJobResult } from '../common/engine-jobs';
import type { JobHandler, TypedJobHandler, TypedJobHandlers } from './engine-worker-core';
import { trainModel } from '../training/pipeline';
import type { CategoryData } from '../training/dataset';
import type { PresetName, TrainConfig } from '../bgad/config';
import { saveBundle } from '../model/bundle-file';
import { evaluateWithScores } from '../training/evaluate';
import { scoreImageFiles } from '../model/score-images';
import { APP_JOB_HANDLERS } from './app-jobs'; // the app's job kinds: scoring, inspection, export
import { ROBUSTNESS_JOB_HANDLERS } from './robustness-job';

export type { TrainJobResult } from '../common/engine-jobs';

const ENGINE_JOB_HANDLERS: TypedJobHandlers = {
  ...APP_JOB_HANDLERS,
  ...ROBUSTNESS_JOB_HANDLERS,
  /** Trains a model (and optionally evaluates it); writes the bundle to params.out; returns the test split's scores. */
  async train(p, ctx): Promise<TrainJobResult> {
    if ((typeof p.dataDir !== 'string' && !p.category) || typeof p.out !== 'string') throw new AppError('BAD_ARGUMENT', 'train: dataDir (or category) and out are required');
    // without evaluation, the test split (if any) is still scored, in the last 5 %
    const share = p.evaluate ? 0.8 : 0.95;
    const model = await trainModel({
      ...p, category: p.category as CategoryData | undefined, preset: p.preset as PresetName | undefined, overrides: p.overrides as Partial<TrainConfig> | undefined,
      signal: ctx.signal, onProgress: (pr) => ctx.progress({ ...pr, fraction: pr.fraction * share }),
    });
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
  async sleep(p, ctx) {
    const ms = Number(p.ms ?? 100);
    const ignoreCancel = p.ignoreCancel === true;
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (ctx.signal.aborted && !ignoreCancel) throw new AppError('CANCELLED', 'The job was cancelled.');
      await new Promise((r) => setTimeout(r, 10));
    }
    return { sleptMs: Date.now() - t0 };
  },
};

/** Wraps a typed handler: the contract validates the params first. */
function checked<K extends JobName>(kind: K, handler: TypedJobHandler<K>): JobHandler {
  return async (params, ctx) => handler(parseJobArgs(kind, params), ctx);
}

/** Every job of the contract, params validated: what the engine loop runs. */
export const JOB_HANDLERS: Record<string, JobHandler> = Object.fromEntries(
  (Object.keys(ENGINE_JOB_HANDLERS) as JobName[]).map((kind) => [kind, checked(kind, ENGINE_JOB_HANDLERS[kind] as TypedJobHandler<typeof kind>)]),
);
