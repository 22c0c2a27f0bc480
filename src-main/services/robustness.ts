/**
 * The unseen-defect robustness report of a dataset (part of the `models` group):
 * `models.robustness` starts it as a job (the engine's `robustness` job: 2 + defect types
 * trainings and evaluations in the engine host, progress through the job hub, cancellable),
 * the finished report is stored in the database (db/robustness.ts) and the job's result is
 * `{ reportId }`; `models.robustnessReports` lists them; `models.exportRobustness` writes one
 * as CSV or PDF (reports/robustness.ts), never over a file without `overwrite`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiHandlers, ArgsOf } from '../common/api';
import { AppError } from '../common/errors';
import { getDataset } from '../db/datasets';
import { getRobustnessReport, listRobustnessReports, saveRobustnessReport } from '../db/robustness';
import { writeFileAtomic } from '../fs/atomic-file';
import { robustnessCsv, writeRobustnessPdf } from '../reports/robustness';
import type { ServiceContext } from './context';
import { checkOutFile, copyOut, needEngine, runtimeOf } from './engine-work';
import type { JobContext, StartedJob } from './job-hub';
import { categoryFromDataset, MIN_TRAIN_GOOD, presetConfig, trainOverrides } from './training-data';

type RobustnessHandlers = Pick<ApiHandlers, 'models.robustness' | 'models.robustnessReports' | 'models.exportRobustness'>;

/** The dataset's lists, checked before any training starts (each problem says what to do). */
function planReport(ctx: ServiceContext, args: ArgsOf<'models.robustness'>) {
  const { category } = categoryFromDataset(ctx.store, args.datasetId);
  const name = getDataset(ctx.store, args.datasetId).name;
  if (category.trainGood.length < MIN_TRAIN_GOOD) {
    throw new AppError('BAD_DATASET', `The robustness report trains like the Training view: it needs at least ${MIN_TRAIN_GOOD} good images in the train split; "${name}" has ${category.trainGood.length}.`, {
      hint: 'Label more images as good and move them to the train split (Datasets view).',
    });
  }
  if (category.defectTypes.length < 2) {
    throw new AppError('BAD_DATASET', `The robustness report needs at least two defect types; "${name}" has ${category.defectTypes.length ? category.defectTypes.join(', ') : 'none'}.`, {
      hint: 'Give the defective images their defect type (two types or more), with masks for the known ones.',
    });
  }
  if (!category.testGood.length || !category.testDefects.length) {
    throw new AppError('BAD_DATASET', `The robustness report scores the test split, which needs good and defective images; "${name}" has ${category.testGood.length} good and ${category.testDefects.length} defective.`, {
      hint: 'Move some good and some defective images of every type to the test split (Datasets view).',
    });
  }
  const preset = args.preset ?? 'fast';
  const pipeline = presetConfig(preset);
  const overrides = { ...pipeline.overrides, ...trainOverrides(args.params) };
  return { category, pipelinePreset: pipeline.preset, overrides, config: { preset, backboneId: args.backboneId ?? null, params: args.params ?? {}, types: category.defectTypes } };
}

async function startReport(ctx: ServiceContext, args: ArgsOf<'models.robustness'>, job: JobContext): Promise<StartedJob<{ reportId: number }>> {
  const eng = needEngine(ctx.engine, 'The robustness report');
  const plan = planReport(ctx, args);
  const rt = await runtimeOf(ctx);
  const t0 = Date.now();
  const done = (async () => {
    const report = await eng.run(
      'robustness',
      { category: plan.category, preset: plan.pipelinePreset, overrides: plan.overrides, backboneId: args.backboneId, cacheDir: ctx.store.layout.root, ...rt },
      { signal: job.signal, onProgress: (p) => job.progress(p) },
    );
    if (job.signal.aborted) throw new AppError('CANCELLED', 'The robustness report was cancelled.');
    const rec = saveRobustnessReport(ctx.store, { datasetId: args.datasetId, config: plan.config, report, durationMs: Date.now() - t0 });
    return { reportId: rec.id };
  })();
  return { done };
}

async function exportReport(ctx: ServiceContext, args: ArgsOf<'models.exportRobustness'>): Promise<{ path: string }> {
  const rec = getRobustnessReport(ctx.store, args.reportId);
  const overwrite = args.overwrite === true;
  const out = checkOutFile(args.outPath, args.format, overwrite);
  const datasetName = getDataset(ctx.store, rec.datasetId).name;
  // written whole in the data folder first, then copied: an existing file is never half replaced
  const work = join(ctx.store.layout.root, 'exports');
  await mkdir(work, { recursive: true });
  const tmp = join(work, `robustness-${rec.id}-${randomBytes(6).toString('hex')}.${args.format}`);
  try {
    if (args.format === 'csv') await writeFileAtomic(tmp, Buffer.from(robustnessCsv(rec.report), 'utf8'));
    else await writeRobustnessPdf(tmp, { ...rec, datasetName });
    await copyOut(tmp, out, overwrite);
  } finally {
    await rm(tmp, { force: true });
  }
  return { path: out };
}

export function robustnessHandlers(ctx: ServiceContext): RobustnessHandlers {
  return {
    'models.robustness': async (a) => ctx.jobs.start('robustness', (job) => startReport(ctx, a, job)),
    'models.robustnessReports': async (a) => {
      getDataset(ctx.store, a.datasetId);
      return listRobustnessReports(ctx.store, a.datasetId);
    },
    'models.exportRobustness': (a) => exportReport(ctx, a),
  };
}
