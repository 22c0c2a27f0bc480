/**
 * The engine-backed methods of the services: training from a dataset, score histograms,
 * model export, single and batch inspection, reports. The event loop only bookkeeps (data
 * layer rows, progress relays); every ONNX Runtime session runs in the engine host through
 * the job kinds of src-main/engine/jobs.ts and src-main/engine/app-jobs.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, existsSync, statSync } from 'node:fs';
import { copyFile, link, mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { inRange, PRESET_PIPELINE, rangeText, TRAINING_PARAM_DEFS } from '../common/training-params';
import type {
  ArgsOf,
  ExecutionProvider,
  ImageRecord,
  ModelVersion,
  ScoreHistogram,
  SingleInspection,
  TrainingParams,
  TrainingPreset,
  TrainingProgressData,
} from '../common/api';
import type { EngineProgress } from '../common/engine-protocol';
import { AppError, isAppError } from '../common/errors';
import { histogramBins } from '../common/score-stats';
import { NORMALIZER } from '../bgad/loss';
import { fromDataRef, toDataRef } from '../db/files';
import { getDataset } from '../services/datasets';
import { listDefectTypes } from '../services/defect-types';
import { getImage, listImages } from '../services/images';
import { addInspectionResults, createInspectionRun, finishInspectionRun, getInspectionRun, type AddResultInput } from '../services/inspections';
import { listMasks } from '../services/masks';
import { getActiveModelVersion, getModelVersion, syncBundleThreshold, updateModelVersion } from '../services/model-versions';
import type { Store } from '../services/store';
import {
  appendTrainingProgress,
  cancelTrainingRun,
  completeTrainingRun,
  createTrainingRun,
  failTrainingRun,
  getTrainingRun,
  heartbeatTrainingRun,
  markTrainingRunning,
} from '../services/training-runs';
import type { CategoryData, DefectImage } from '../training/dataset';
import type { BatchProgressData, BatchResult } from '../common/engine-jobs';
import type { EngineRunner, InspectionPort, JobContext, ModelsPort, TrainingPort } from './services-port';

export interface RuntimeSettings {
  threads: number;
  executionProvider: ExecutionProvider;
}

export interface EngineServicesOptions {
  /** ONNX Runtime settings read at the start of each job (Settings view). */
  runtime?: () => Promise<RuntimeSettings> | RuntimeSettings;
  /** Heartbeat interval of a running training run (the data layer marks silent runs stale). */
  heartbeatMs?: number;
}

/** Minimum normal training images: the pipeline holds 8 out for calibration and trains on the rest. */
export const MIN_TRAIN_GOOD = 12;

/** Contract presets -> the pipeline's presets and overrides (the training-parameter table's PRESET_PIPELINE). */
export function presetConfig(preset: TrainingPreset): { preset: 'fast' | 'paper'; overrides: Record<string, number> } {
  const p = PRESET_PIPELINE[preset];
  return { preset: p.preset, overrides: { ...p.overrides } };
}

/** Advanced parameters (contract names) -> the pipeline's TrainConfig overrides, checked against the table. */
export function trainOverrides(p: TrainingParams = {}): Record<string, number> {
  const o: Record<string, number> = {};
  const given = TRAINING_PARAM_DEFS.filter((d) => p[d.key] !== undefined);
  const fixed = given.filter((d) => d.configKey === null).map((d) => d.key);
  if (fixed.length) {
    throw new AppError('BAD_ARGUMENT', `${fixed.join(' and ')} cannot be changed in this version.`, { hint: 'Leave them out; the backbone fixes the input size and the flow depth.' });
  }
  for (const d of given) {
    const value = p[d.key]!;
    if (!inRange(d, value)) throw new AppError('BAD_ARGUMENT', `${d.label} must be ${rangeText(d)}, got ${value}.`, { subject: `params.${d.key}` });
    o[d.configKey!] = value;
  }
  return o;
}

/** Every image of a dataset (keyset pages of 1000). */
export function allImages(store: Store, datasetId: number): ImageRecord[] {
  const out: ImageRecord[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = listImages(store, { datasetId, limit: 1000, cursor, withTotal: false });
    out.push(...(page.items as ImageRecord[]));
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
}

export interface DatasetCategory {
  category: CategoryData;
  /** Image ids of the frozen test split, by class. */
  testIds: { good: { imageId: number; sha256: string }[]; defect: { imageId: number; sha256: string; type: string }[] };
}

/**
 * The training lists of a dataset: train good = good images in the train split; known
 * defects = defective train-split images with a mask (only the chosen defect types when
 * given); test = the test split. Masks are the lossless PNGs in the data folder.
 */
export function categoryFromDataset(store: Store, datasetId: number, defectTypeIds?: number[]): DatasetCategory {
  const ds = getDataset(store, datasetId);
  const types = listDefectTypes(store, datasetId);
  const typeName = new Map(types.map((t) => [t.id, t.name]));
  const chosen = defectTypeIds?.length ? new Set(defectTypeIds) : null;
  for (const id of defectTypeIds ?? []) if (!typeName.has(id)) throw new AppError('BAD_ARGUMENT', `Defect type #${id} does not belong to dataset "${ds.name}".`);
  const maskOf = (img: ImageRecord): { path: string; type: string } | null => {
    if (img.maskCount === 0) return null;
    const masks = listMasks(store, img.id);
    const m = masks.find((x) => x.defectTypeId === img.defectTypeId) ?? masks[0];
    return m ? { path: fromDataRef(store.layout.root, m.file), type: m.defectType } : null;
  };
  const trainGood: string[] = [];
  const trainDefects: DefectImage[] = [];
  const testGood: string[] = [];
  const testDefects: DefectImage[] = [];
  const testIds: DatasetCategory['testIds'] = { good: [], defect: [] };
  for (const img of allImages(store, datasetId)) {
    if (img.label === 'good' && img.split === 'train') trainGood.push(img.path);
    else if (img.label === 'defect' && img.split === 'train') {
      const m = maskOf(img);
      const typeId = img.defectTypeId ?? (m ? types.find((t) => t.name === m.type)?.id ?? null : null);
      if (m && (!chosen || (typeId !== null && chosen.has(typeId)))) trainDefects.push({ path: img.path, type: m.type, maskPath: m.path, split: 'train' });
    } else if (img.split === 'test' && img.label === 'good') {
      testGood.push(img.path);
      testIds.good.push({ imageId: img.id, sha256: img.sha256 });
    } else if (img.split === 'test' && img.label === 'defect') {
      const m = maskOf(img);
      const type = img.defectType ?? m?.type ?? 'defect';
      testDefects.push({ path: img.path, type, maskPath: m?.path ?? null, split: 'test' });
      testIds.defect.push({ imageId: img.id, sha256: img.sha256, type });
    }
  }
  // evaluation computes pixel metrics only when every defective test image has a mask
  const defectTypes = [...new Set([...trainDefects, ...testDefects].map((d) => d.type))].sort();
  const category: CategoryData = {
    dir: `dataset "${ds.name}"`,
    name: ds.name,
    trainGood,
    trainDefects,
    testGood,
    testDefects,
    hasGroundTruth: testDefects.length > 0 && testDefects.every((d) => d.maskPath),
    defectTypes,
  };
  return { category, testIds };
}

/**
 * The explicit boundary as an anomaly score: the score of a position lying exactly on every
 * level's boundary. Training reports b_n on s = l / NORMALIZER (src-main/bgad/loss.ts); the
 * scoring head maps a per-dimension log-likelihood l to K - sum_k exp(l_k - M_k).
 */
export function boundaryScore(calibration: { levelMax: number[]; mapMax: number }, boundaries: (number | null)[]): number | null {
  if (!boundaries.length || boundaries.some((b) => b === null || !Number.isFinite(b))) return null;
  let sum = 0;
  boundaries.forEach((b, k) => (sum += Math.exp(b! * NORMALIZER - calibration.levelMax[k]!)));
  return calibration.mapMax - sum;
}

function bundlePath(store: Store, mv: ModelVersion): string {
  if (!mv.bundleFile) throw new AppError('BAD_MODEL', `Model version ${mv.number} has no saved model file.`, { hint: 'Train the model again.' });
  const p = fromDataRef(store.layout.root, mv.bundleFile);
  if (!existsSync(p)) throw new AppError('BAD_MODEL', `The model file of version ${mv.number} is missing (${p}).`, { hint: 'Restore the data folder from a backup, or train again.', subject: p });
  syncBundleThreshold(store, mv.id);
  return p;
}

function needEngine(engine: EngineRunner | undefined, what: string): EngineRunner {
  if (!engine) throw new AppError('UNAVAILABLE', `${what} needs the engine process, which this server was started without.`, { hint: 'Start the app with "bgad serve" or the desktop app.' });
  return engine;
}

function fileExists(out: string): AppError {
  return new AppError('CONFLICT', `The file ${out} already exists.`, { subject: out, hint: 'Choose another name, or confirm that it may be overwritten.' });
}

/**
 * The file an export writes (the extension added when missing): its folder must exist, a
 * folder there is refused, and an existing file only with `overwrite`.
 */
function checkOutFile(outPath: string, ext: string, overwrite: boolean): string {
  if (!isAbsolute(outPath)) throw new AppError('BAD_ARGUMENT', `Give the full path of the file to write, e.g. /home/me/model.${ext}.`, { subject: outPath });
  const out = extname(outPath).toLowerCase() === `.${ext}` ? outPath : `${outPath}.${ext}`;
  const dir = dirname(out);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new AppError('NOT_FOUND', `The folder ${dir} does not exist.`, { subject: dir, hint: 'Create the folder first or choose another one.' });
  const st = statSync(out, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new AppError('BAD_ARGUMENT', `${out} is a folder; give the path of a file.`, { subject: out });
  if (st && !overwrite) throw fileExists(out);
  return out;
}

/** Copies `from` to `to`, failing (CONFLICT) where `to` exists unless `overwrite`: no window between check and write. */
async function copyOut(from: string, to: string, overwrite: boolean): Promise<void> {
  try {
    await copyFile(from, to, overwrite ? 0 : fsConstants.COPYFILE_EXCL);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw fileExists(to);
    throw e;
  }
}

function readScores(metrics: Record<string, unknown>): { normal: number[]; defect: number[] } | null {
  const s = metrics.testScores as { normal?: unknown; defect?: unknown } | undefined;
  if (!s || !Array.isArray(s.normal) || !Array.isArray(s.defect)) return null;
  return { normal: s.normal as number[], defect: s.defect as number[] };
}

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** What the engine-backed services share: the store, the engine and the runtime settings. */
interface EngineContext {
  store: Store;
  engine: EngineRunner | undefined;
  /** The data folder. */
  root: string;
  runtime: () => Promise<Partial<RuntimeSettings>>;
  heartbeatMs: number;
}

export function engineServices(store: Store, engine: EngineRunner | undefined, opts: EngineServicesOptions = {}) {
  const ctx: EngineContext = {
    store,
    engine,
    root: store.layout.root,
    heartbeatMs: opts.heartbeatMs ?? 15_000,
    async runtime() {
      const r = await opts.runtime?.();
      return r ? { threads: r.threads > 0 ? r.threads : undefined, executionProvider: r.executionProvider } : {};
    },
  };
  return { training: trainingEngineServices(ctx), models: modelEngineServices(ctx), inspection: inspectionEngineServices(ctx) };
}

function trainingEngineServices({ store, engine, root, runtime, heartbeatMs }: EngineContext): Pick<TrainingPort, 'start'> {
  return {
    async start(args, job: JobContext) {
      const eng = needEngine(engine, 'Training');
      const { category, testIds } = categoryFromDataset(store, args.datasetId, args.defectTypeIds);
      if (category.trainGood.length < MIN_TRAIN_GOOD) {
        throw new AppError('BAD_DATASET', `Training needs at least ${MIN_TRAIN_GOOD} good images in the train split; this dataset has ${category.trainGood.length}.`, {
          hint: 'Label more images as good and move them to the train split (Datasets view: select, then "Good" and "Train").',
        });
      }
      const { preset, overrides: presetOverrides } = presetConfig(args.preset);
      const overrides = { ...presetOverrides, ...trainOverrides(args.params) };
      const rt = await runtime();
      const config = { preset: args.preset, pipelinePreset: preset, backboneId: args.backboneId, params: args.params ?? {}, overrides, knownDefects: category.trainDefects.length, defectTypeIds: args.defectTypeIds ?? null };
      const run = createTrainingRun(store, { datasetId: args.datasetId, config });
      const runId = run.id;
      markTrainingRunning(store, { runId });
      const out = join(store.layout.bundlesDir, String(args.datasetId), `run-${runId}.bgad`);
      await mkdir(dirname(out), { recursive: true });
      const evaluate = category.testGood.length > 0 && category.testDefects.length > 0;
      const t0 = Date.now();
      let lastStep = 0;
      let lastDbMs = 0;
      // a cancel from the UI (job signal) or from the data layer (run marked cancelled) stops the engine job
      const cancel = new AbortController();
      job.signal.addEventListener('abort', () => cancel.abort(), { once: true });
      const heartbeat = setInterval(() => {
        try {
          heartbeatTrainingRun(store, runId);
        } catch (e) {
          if (isAppError(e) && e.code === 'CANCELLED') cancel.abort();
        }
      }, heartbeatMs);
      heartbeat.unref?.();

      const onProgress = (p: EngineProgress) => {
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

      const done = (async () => {
        try {
          const res = await eng.run(
            'train',
            { category, out, preset, overrides, anomalies: category.trainDefects.length, evaluate, cacheDir: root, backboneId: args.backboneId, ...rt },
            { signal: cancel.signal, onProgress },
          );
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
              config,
              bundleFile: toDataRef(root, out),
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
              evalSplit: testIds,
              status: 'ready',
            },
          });
          return { runId, modelVersionId: modelVersion.id, modelVersionNumber: modelVersion.number };
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
    },
  };
}

function modelEngineServices({ store, engine, root, runtime }: EngineContext): Pick<ModelsPort, 'histogram' | 'export'> {
  return {
    async histogram(args): Promise<ScoreHistogram> {
      let mv = getModelVersion(store, args.modelId);
      let scores = readScores(mv.metrics);
      if (!scores) {
        // a version stored before training returned its test scores: score the split once, keep the result
        const eng = needEngine(engine, 'Scoring the test split');
        const split = mv.evalSplit as { good?: { imageId: number }[]; defect?: { imageId: number }[] } | null;
        const paths = (list: { imageId: number }[] | undefined) => (list ?? []).map((x) => getImage(store, x.imageId).path);
        const r = await eng.run('score-split', { bundle: bundlePath(store, mv), good: paths(split?.good), defect: paths(split?.defect), cacheDir: root, ...(await runtime()) });
        scores = { normal: r.normal, defect: r.defect };
        mv = updateModelVersion(store, { id: mv.id, metrics: { ...mv.metrics, testScores: scores } });
      }
      const boundary = (mv.calibration as { boundaryScore?: number | null } | null)?.boundaryScore ?? null;
      return { modelId: mv.id, ...histogramBins(scores, args.bins ?? 30, [mv.threshold, boundary]), boundary, threshold: mv.threshold, scores };
    },
    async export(args) {
      const eng = needEngine(engine, 'Model export');
      const mv = getModelVersion(store, args.modelId);
      const overwrite = args.overwrite === true;
      const out = checkOutFile(args.outPath, 'onnx', overwrite);
      const bundle = bundlePath(store, mv);
      if (overwrite) {
        const r = await eng.run('export-model', { bundle, out, cacheDir: root });
        return { path: r.path };
      }
      // never over a file that appears while the model is exported: written beside, then linked (or copied) only where none is
      const partial = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.partial.onnx`);
      try {
        const r = await eng.run('export-model', { bundle, out: partial, cacheDir: root });
        try {
          await link(r.path, out);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw fileExists(out);
          await copyOut(r.path, out, false); // a file system without hard links
        }
      } finally {
        await rm(partial, { force: true });
      }
      return { path: out };
    },
  };
}

/** The model version a call names, or the dataset's active one. */
function modelFor(store: Store, args: { modelId?: number; datasetId?: number }): ModelVersion {
  if (args.modelId !== undefined) return getModelVersion(store, args.modelId);
  if (args.datasetId === undefined) throw new AppError('BAD_ARGUMENT', 'Choose a model version or a dataset (its active model is used).', { subject: 'args.modelId' });
  const active = getActiveModelVersion(store, args.datasetId);
  if (!active) throw new AppError('NOT_FOUND', `Dataset "${getDataset(store, args.datasetId).name}" has no active model.`, { hint: 'Activate a model version in the Models view, or train one.' });
  return active;
}

function inspectionEngineServices({ store, engine, root, runtime }: EngineContext): Pick<InspectionPort, 'inspectImage' | 'startBatch' | 'exportReport'> {
  return {
    async inspectImage(args: ArgsOf<'inspection.inspectImage'>): Promise<SingleInspection> {
      const eng = needEngine(engine, 'Inspecting an image');
      const mv = modelFor(store, args);
      const bundle = bundlePath(store, mv);
      const id = `${Date.now()}-${randomBytes(4).toString('hex')}`;
      const work = join(root, 'inspections', 'single', id);
      await mkdir(work, { recursive: true });
      // the picture is kept in the data folder so the UI may show it beside its heat map
      const name = (args.image?.fileName ?? basename(args.path ?? 'image')).replace(/[^A-Za-z0-9._-]+/g, '_').slice(-100) || 'image';
      const copy = join(work, name);
      if (args.image) await writeFile(copy, args.image.bytes);
      else {
        const src = resolve(args.path!);
        try {
          await copyFile(src, copy);
        } catch (e) {
          throw new AppError('NOT_FOUND', `Cannot read image ${src}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`, { subject: src, hint: 'Check the path.' });
        }
      }
      const r = await eng.run(
        'inspect-image',
        { bundle, image: copy, out: work, threshold: mv.threshold ?? undefined, cacheDir: root, ...(await runtime()) },
      );
      if (r.verdict === 'error' || r.score === null || !r.heatmap) {
        throw new AppError('BAD_IMAGE', r.error ?? 'The image could not be inspected.', { subject: args.path ?? name, hint: 'Use a PNG, JPEG, BMP, TIFF or WebP picture.' });
      }
      return { path: args.path ?? null, imagePath: copy, score: r.score, verdict: r.verdict, threshold: r.threshold, modelVersionId: mv.id, heatmapPath: r.heatmap };
    },

    async startBatch(args, job) {
      const eng = needEngine(engine, 'Batch inspection');
      const mv = getModelVersion(store, args.modelId);
      const bundle = bundlePath(store, mv);
      const folder = resolve(args.folder);
      if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new AppError('NOT_FOUND', `The folder ${folder} does not exist.`, { subject: folder, hint: 'Check the path.' });
      const run = createInspectionRun(store, { source: folder, modelVersionId: mv.id, threshold: args.threshold ?? mv.threshold });
      const out = join(root, 'inspections', String(run.id));
      const rt = await runtime();
      const toRow = (r: BatchResult): AddResultInput => ({
        path: r.path,
        // a file that could not be read has no content hash; its path stands in (one row per file)
        sha256: r.sha256 ?? sha256Hex(`unreadable\0${r.path}`),
        score: r.score,
        verdict: r.verdict,
        heatmapFile: r.heatmap ? toDataRef(root, r.heatmap) : null,
        error: r.error,
      });
      const done = (async () => {
        try {
          const res = await eng.run('inspect-batch', { bundle, input: folder, out, threshold: run.threshold ?? undefined, cacheDir: root, ...rt }, {
            signal: job.signal,
            onProgress: (p) => {
              const d = p.data as Partial<BatchProgressData> | undefined;
              if (d?.results?.length) {
                try {
                  addInspectionResults(store, { runId: run.id, results: d.results.map(toRow) });
                } catch (e) {
                  console.error(`bgad: storing results of inspection run #${run.id} failed: ${(e as Error).message}`);
                }
              }
              job.progress({ fraction: p.fraction, message: p.message, etaMs: p.etaMs, data: d ? { done: d.done ?? 0, total: d.total ?? 0, imagesPerSecond: d.imagesPerSecond ?? 0 } : undefined });
            },
          });
          finishInspectionRun(store, { runId: run.id, status: 'completed' });
          return { runId: run.id, ...res };
        } catch (e) {
          const cancelled = job.signal.aborted || (isAppError(e) && e.code === 'CANCELLED');
          try {
            finishInspectionRun(store, { runId: run.id, status: cancelled ? 'cancelled' : 'failed', error: cancelled ? undefined : (e as Error).message });
          } catch (e2) {
            console.error(`bgad: closing inspection run #${run.id} failed: ${(e2 as Error).message}`);
          }
          throw e;
        }
      })();
      return { runId: run.id, done };
    },

    async exportReport(args) {
      const run = getInspectionRun(store, args.runId);
      const file = join(root, 'inspections', String(run.id), args.format === 'pdf' ? 'report.pdf' : 'results.csv');
      if (!existsSync(file)) {
        throw new AppError('NOT_FOUND', `Inspection run #${run.id} has no ${args.format.toUpperCase()} report.`, { hint: 'Reports are written when a run completes; run the inspection again.' });
      }
      const overwrite = args.overwrite === true;
      const out = checkOutFile(args.outPath, args.format, overwrite);
      await copyOut(file, out, overwrite);
      return { path: out };
    },
  };
}
