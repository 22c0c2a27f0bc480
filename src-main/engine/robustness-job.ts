/**
 * The engine's `robustness` job: the unseen-defect robustness report of a dataset
 * (training/robustness.ts), every training and evaluation in the engine worker / utility
 * process, never on a server's event loop. Progress covers the whole report; the job's
 * signal cancels the training under way.
 */
import type { PresetName, TrainConfig } from '../bgad/config';
import type { CategoryData } from '../training/dataset';
import { leaveOneTypeOut } from '../training/robustness';
import type { TypedJobHandlers } from './engine-worker-core';

export const ROBUSTNESS_JOB_HANDLERS: TypedJobHandlers<'robustness'> = {
  async robustness(p, ctx) {
    return leaveOneTypeOut(
      { category: p.category as CategoryData },
      {
        preset: p.preset as PresetName | undefined, overrides: p.overrides as Partial<TrainConfig> | undefined, anomalies: p.anomalies, backboneId: p.backboneId,
        cacheDir: p.cacheDir, threads: p.threads, executionProvider: p.executionProvider,
      },
      { signal: ctx.signal, onProgress: (pr) => ctx.progress(pr) },
    );
  },
};
