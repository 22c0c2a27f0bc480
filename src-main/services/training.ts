/**
 * The `training` group: the backbones to train on, training runs and their start. A run is a
 * job: the data layer keeps its row (progress, losses, heartbeat, the model version it makes);
 * the training itself is the engine's `train` job, in the engine host.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ArgsOf, TrainingProgressData } from '../common/api';
import type { EngineProgress } from '../common/engine-protocol';
import type { JobResult } from '../common/engine-jobs';
import { AppError, isAppError } from '../common/errors';
import { defaultBackboneId, listBackbones } from '../backbones/registry';
import { toDataRef } from '../db/files';
import type { Store } from '../db/store';
import {
  appendTrainingProgress,
  cancelTrainingRun,
  completeTrainingRun,
  createTrainingRun,
  failTrainingRun,
  getLossCurves,
  getTrainingRun,
  heartbeatTrainingRun,
  listTrainingRuns,
  markTrainingRunning,
} from '../db/training-runs';
import type { GroupHandlers, ServiceContext } from './context';
import { needEngine, runtimeOf } from './engine-work';
import type { JobContext, StartedJob } from './job-hub';
import { getInspectionArea } from '../db/inspection-area';
import { boundaryScore, categoryFromDataset, MIN_TRAIN_GOOD, presetConfig, trainOverrides, type DatasetCategory } from './training-data';

type TrainResult = JobResult<'train'>;

/** What a training run trains on and with: checked before its row exists. */
interface RunPlan {
  config: Record<string, unknown> & { overrides: Record<string, number | string> };
  pipelinePreset: 'fast' | 'paper';
  prepared: DatasetCategory;
}

/** A training run that has started: its row and where its model file goes (absolute). */
type PreparedRun = RunPlan & { runId: number; out: string };

/** Checks the dataset and the parameters; the run's config. */
function planRun(store: Store, args: ArgsOf<'training.start'>): RunPlan {
  const prepared = categoryFromDataset(store, args.datasetId, args.defectTypeIds);
  const { category } = prepared;
  if (category.trainGood.length < MIN_TRAIN_GOOD) {
    throw new AppError('BAD_DATASET', `Training needs at least ${MIN_TRAIN_GOOD} good images in the train split; this dataset has ${category.trainGood.length}.`, {
      hint: 'Label more images as good and move them to the train split (Datasets view: select, then "Good" and "Train").',
    });
  }
  const { preset, overrides: presetOverrides } = presetConfig(args.preset);
  const overrides = { ...presetOverrides, ...trainOverrides(args.params), ...(args.geometry ? { geometry: args.geometry } : {}) };
  // the dataset's inspection area as it is now: the model keeps it; later changes affect the next training only
  const area = getInspectionArea(store, args.datasetId);
  if (area) category.inspectionArea = { width: area.width, height: area.height, pixels: area.pixels };
  const inspectionArea = area ? { width: area.width, height: area.height, fraction: area.info.fraction, sha256: area.info.sha256 } : null;
  const config = { preset: args.preset, pipelinePreset: preset, backboneId: args.backboneId, params: args.params ?? {}, geometry: args.geometry ?? null, overrides, knownDefects: category.trainDefects.length, defectTypeIds: args.defectTypeIds ?? null, inspectionArea };
  return { config, pipelinePreset: preset, prepared };
}

/**
 * Relays the engine's progress to the job (losses by level) and records it in the run's row
 * (at most once a second without new losses). A run the data layer has marked cancelled
 * aborts `cancel`.
 */
function progressRelay(store: Store, runId: number, job: JobContext, cancel: AbortController): (p: EngineProgress) => void {
  let lastStep = 0;
  let lastDbMs = 0;
  return (p) => {
    const d = p.data as { step?: number; steps?: number; losses?: { level: number; loss: number; boundary: number }[] } | undefined;
    let data: TrainingProgressData | undefined;
    if (d && typeof d.step === 'number') {
      const losses: Record<string, number> = {};
      for (const l of d.losses ?? []) {
        if (Number.isFinite(l.loss)) losses[`loss/level${l.level + 1}`] = l.loss;
        if (Number.isFinite(l.boundary)) losses[`boundary/level${l.level + 1}`] = l.boundary;
      }
      lastStep = d.step;
      data = { epoch: 0, step: d.step, steps: d.steps, losses };
    }
    job.progress({ fraction: p.fraction, message: p.message, etaMs: p.etaMs, data });
    const now = Date.now();
    if (!data && now - lastDbMs < 1000) return;
    lastDbMs = now;
    try {
      appendTrainingProgress(store, { runId, progress: Math.min(0.99, Math.max(0, p.fraction)), step: lastStep, message: p.message?.slice(0, 1000), losses: data?.losses });
    } catch (e) {
      if (isAppError(e) && e.code === 'CANCELLED') cancel.abort();
      else console.error(`bgad: recording progress of training run #${runId} failed: ${(e as Error).message}`);
    }
  };
}

/** Stores what the train job returned: the full loss curves, then the run completed with its model version. */
function recordResult(store: Store, run: PreparedRun, res: TrainResult, t0: number) {
  const { runId } = run;
  // the full loss curves (every 10th step), beyond the points relayed live
  const byStep = new Map<number, Record<string, number>>();
  for (const pt of res.curve) {
    const m = byStep.get(pt.step) ?? {};
    if (Number.isFinite(pt.loss)) m[`loss/level${pt.level + 1}`] = pt.loss;
    if (Number.isFinite(pt.boundary)) m[`boundary/level${pt.level + 1}`] = pt.boundary;
    byStep.set(pt.step, m);
  }
  for (const [step, losses] of [...byStep].sort((a, b) => a[0] - b[0])) appendTrainingProgress(store, { runId, progress: 0.99, step: step + 1, losses });
  const boundaries = res.levels.map((l) => l.boundary);
  const { modelVersion } = completeTrainingRun(store, {
    runId,
    timings: { totalMs: Date.now() - t0, trainMs: (res.training?.trainSeconds ?? 0) * 1000 },
    model: {
      backboneId: res.backbone.id,
      backboneHash: res.backbone.sha256,
      config: run.config,
      bundleFile: toDataRef(store.layout.root, run.out),
      calibration: { ...res.calibration, boundaries, boundaryScore: boundaryScore(res.calibration, boundaries) },
      threshold: res.threshold,
      metrics: {
        ...(res.metrics ?? {}),
        trainSteps: res.training?.steps ?? null,
        trainSeconds: res.training?.trainSeconds ?? null,
        knownAnomalies: res.anomaliesUsed.length,
        // the frozen test split's scores from the train job itself (the histogram reads them)
        testScores: { normal: res.testScores.normal, defect: res.testScores.defect },
      },
      evalSplit: run.prepared.testIds,
      status: 'ready',
    },
  });
  return { runId, modelVersionId: modelVersion.id, modelVersionNumber: modelVersion.number };
}

/** Starts a training run in the engine host; `done` settles when it has ended and its row says so. */
export async function startTraining(ctx: ServiceContext, args: ArgsOf<'training.start'>, job: JobContext): Promise<StartedJob<unknown> & { runId: number }> {
  const { store } = ctx;
  const eng = needEngine(ctx.engine, 'Training');
  const plan = planRun(store, args);
  const rt = await runtimeOf(ctx);
  const runId = createTrainingRun(store, { datasetId: args.datasetId, config: plan.config }).id;
  markTrainingRunning(store, { runId });
  const run: PreparedRun = { ...plan, runId, out: join(store.layout.bundlesDir, String(args.datasetId), `run-${runId}.bgad`) };
  await mkdir(dirname(run.out), { recursive: true });
  const { category } = run.prepared;
  const evaluate = category.testGood.length > 0 && category.testDefects.length > 0;
  const t0 = Date.now();
  // a cancel from the UI (job signal) or from the data layer (run marked cancelled) stops the engine job
  const cancel = new AbortController();
  job.signal.addEventListener('abort', () => cancel.abort(), { once: true });
  const heartbeat = setInterval(() => {
    try {
      heartbeatTrainingRun(store, runId);
    } catch (e) {
      if (isAppError(e) && e.code === 'CANCELLED') cancel.abort();
    }
  }, ctx.heartbeatMs ?? 15_000);
  heartbeat.unref?.();

  const done = (async () => {
    try {
      const res = await eng.run(
        'train',
        { category, out: run.out, preset: run.pipelinePreset, overrides: run.config.overrides, anomalies: category.trainDefects.length, evaluate, cacheDir: store.layout.root, backboneId: args.backboneId, ...rt },
        { signal: cancel.signal, onProgress: progressRelay(store, runId, job, cancel) },
      );
      return recordResult(store, run, res, t0);
    } catch (e) {
      const status = getTrainingRun(store, runId).status;
      if (status === 'running' || status === 'queued') {
        if (cancel.signal.aborted || (isAppError(e) && e.code === 'CANCELLED')) cancelTrainingRun(store, runId);
        else failTrainingRun(store, { runId, error: isAppError(e) && e.hint ? `${e.message} ${e.hint}` : (e as Error).message ?? String(e) });
      }
      throw cancel.signal.aborted && !(isAppError(e) && e.code === 'CANCELLED') ? new AppError('CANCELLED', 'Training was cancelled.') : e;
    } finally {
      clearInterval(heartbeat);
    }
  })();
  return { runId, done };
}

export function trainingHandlers(ctx: ServiceContext): GroupHandlers<'training'> {
  const { store, jobs } = ctx;
  return {
    'training.backbones': async () => {
      const def = defaultBackboneId();
      return listBackbones().map((b) => ({ ...b, isDefault: b.id === def }));
    },
    'training.start': async (a) => {
      const r = await jobs.start('training', (job) => startTraining(ctx, a, job));
      return { jobId: r.jobId, runId: r.runId! };
    },
    'training.listRuns': async (a) => listTrainingRuns(store, { datasetId: a.datasetId }).sort((x, y) => y.id - x.id),
    'training.getRun': async (a) => ({ ...getTrainingRun(store, a.runId), loss: getLossCurves(store, a.runId) }),
  };
}
