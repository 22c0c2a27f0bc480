/**
 * The `review` group: the review loop. An inspection run's results in the order a human look
 * helps most (the review band around the threshold, then fails, then the rest), one decision
 * per result (good: a false alarm, the picture joins the dataset as a normal training image;
 * defect: a miss or a confirmed defect, it joins as defective and its mask is painted in the
 * annotator; skip), undo, progress; then the next version trained on the dataset as it now is
 * (the training job, with the replaced version's settings) and compared with the version it
 * replaces on the frozen test split and on every reviewed image.
 *
 * The rows are the data layer's (src-main/db/review.ts); this side reads the pictures that join
 * the dataset (content hash checked against the inspected one), names who decided (the OS user:
 * the app has no user accounts) and runs the engine jobs.
 */
import { userInfo } from 'node:os';
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { ArgsOf, ReviewBand, ReviewComparison, ReviewOutcome, ReviewQueue, ReviewedImageChange, StoredInspectionResult } from '../common/api';
import { DEFAULT_REVIEW_BAND_FRACTION } from '../common/review';
import { TRAINING_PRESETS, type GeometryMode } from '../common/training-params';
import { AppError, isAppError } from '../common/errors';
import { getStationRun } from '../db/inspections';
import { compareModelVersions, getModelVersion } from '../db/model-versions';
import { datasetHasContent, decideReview, listReviewQueue, reviewedDefectTypes, reviewedImages, reviewProgress, reviewResults, reviewTarget, setReplacedVersion, undoReview, type ProbedPicture, type ReviewTarget } from '../db/review';
import type { Store } from '../db/store';
import { probeImage } from '../images/load';
import { heatScale } from '../model/heat-scale';
import type { GroupHandlers, ServiceContext } from './context';
import { absolute, bundlePath, needEngine, runtimeOf } from './engine-work';
import { startTraining } from './training';

/** Who makes a decision: the OS user name (the app has no user accounts). */
export function osUser(): string | null {
  try {
    return userInfo().username || null;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? null;
  }
}

function thresholdOf(target: ReviewTarget): number {
  if (target.threshold === null) {
    throw new AppError('BAD_MODEL', `Inspection run #${target.runId} has no threshold (its model has none), so there is nothing to order its results around.`, { hint: 'Set a threshold in the Models view and inspect again.' });
  }
  return target.threshold;
}

/**
 * The default review band: the model version's own review band when it has one (set in the
 * Models view), else scores within DEFAULT_REVIEW_BAND_FRACTION of the heat-map scale's
 * half width (mapMax - threshold, the model's calibration) of the threshold.
 */
export function defaultReviewBand(store: Store, target: ReviewTarget): ReviewBand {
  const threshold = thresholdOf(target);
  let mapMax = threshold;
  if (target.modelVersionId !== null) {
    try {
      const mv = getModelVersion(store, target.modelVersionId);
      if (mv.reviewBand) return mv.reviewBand;
      const cal = mv.calibration as { mapMax?: unknown } | null;
      if (typeof cal?.mapMax === 'number' && Number.isFinite(cal.mapMax)) mapMax = cal.mapMax;
    } catch {
      // the model was deleted: the scale's minimum span
    }
  }
  const scale = heatScale(threshold, mapMax);
  const half = (scale.hi - threshold) * DEFAULT_REVIEW_BAND_FRACTION;
  return { low: threshold - half, high: threshold + half };
}

async function queue(ctx: ServiceContext, a: ArgsOf<'review.queue'>): Promise<ReviewQueue> {
  const { store } = ctx;
  const target = reviewTarget(store, a.runId);
  const threshold = thresholdOf(target);
  const band = a.band ?? defaultReviewBand(store, target);
  if (!(band.low <= band.high)) throw new AppError('BAD_ARGUMENT', `The review band's low end (${band.low}) is above its high end (${band.high}).`, { subject: 'args.band', hint: 'Give the lower score as band.low.' });
  const page = listReviewQueue(store, { runId: target.runId, band, threshold, pending: a.pending, offset: a.offset, limit: a.limit });
  return {
    runId: target.runId, datasetId: target.datasetId, modelVersionId: target.modelVersionId, threshold, band, defaultBand: a.band === undefined,
    total: page.total, progress: reviewProgress(store, target.runId),
    items: page.items.map(({ heatmapFile, ...r }) => ({ ...r, heatmapPath: heatmapFile === null ? null : absolute(store.layout.root, heatmapFile) })),
  };
}

/** Where the inspected picture is now: where it was inspected, else where a station moved it (`<move-to>/<verdict>/<sub-path>`). */
function candidatePaths(store: Store, r: StoredInspectionResult): string[] {
  const out = [r.path];
  const station = getStationRun(store, r.runId);
  if (station?.moveTo) {
    const rel = relative(station.input, r.path);
    if (rel && !rel.startsWith('..') && !isAbsolute(rel)) out.push(join(station.moveTo, r.verdict, ...rel.split(sep)));
  }
  return out;
}

/** Reads the picture of a result that joins the dataset; its content must be what was inspected. */
async function readPicture(store: Store, r: StoredInspectionResult): Promise<ProbedPicture> {
  const paths = candidatePaths(store, r);
  const path = paths.find((p) => existsSync(p));
  if (!path) {
    throw new AppError('NOT_FOUND', `${r.path} is gone, so it cannot join the dataset.`, { subject: r.path, hint: 'Put the file back where it was inspected (or inspect it again where it is now), then decide again.' });
  }
  let info;
  try {
    info = await probeImage(path);
  } catch (e) {
    if (isAppError(e)) throw new AppError(e.code, `${path} cannot join the dataset: ${e.message}`, { subject: path, hint: e.hint });
    throw e;
  }
  if (info.sha256 !== r.sha256) {
    throw new AppError('CONFLICT', `${path} has changed since it was inspected (its content is not the one scored).`, { subject: path, hint: 'Inspect it again and review the new result.' });
  }
  return { path, sha256: info.sha256, width: info.width, height: info.height, channels: info.channels, bitDepth: info.bitDepth, format: info.format, bytes: info.bytes };
}

async function decide(ctx: ServiceContext, a: ArgsOf<'review.decide'>) {
  const { store } = ctx;
  const target = reviewTarget(store, a.runId);
  const pictures = new Map<string, ProbedPicture>();
  if (a.decision !== 'skip') {
    for (const r of reviewResults(store, a)) {
      if (!datasetHasContent(store, target.datasetId, r.sha256)) pictures.set(r.sha256, await readPicture(store, r));
    }
  }
  const res = decideReview(store, { runId: a.runId, resultIds: a.resultIds, decision: a.decision, defectTypeId: a.defectTypeId, actor: osUser(), pictures });
  return { ...res, progress: reviewProgress(store, a.runId) };
}

/** Starts the next version of `modelId` on its dataset as it now is, with its settings unless changed. */
async function retrain(ctx: ServiceContext, a: ArgsOf<'review.retrain'>) {
  const { store, jobs } = ctx;
  const base = getModelVersion(store, a.modelId);
  const config = (base.config ?? {}) as { preset?: string; params?: Record<string, number>; defectTypeIds?: number[] | null; geometry?: GeometryMode | null };
  const preset = a.preset ?? (TRAINING_PRESETS as readonly string[]).find((p) => p === config.preset);
  if (!preset) throw new AppError('BAD_MODEL', `Model version ${base.number} does not say which preset it was trained with.`, { subject: 'args.preset', hint: `Choose the preset (${TRAINING_PRESETS.join(', ')}) for the new version.` });
  // chosen defect types: those, plus the types of the defects the review added
  const defectTypeIds = config.defectTypeIds?.length ? [...new Set([...config.defectTypeIds, ...reviewedDefectTypes(store, base.datasetId)])] : undefined;
  const args = { datasetId: base.datasetId, preset, backboneId: a.backboneId ?? base.backboneId, params: { ...(config.params ?? {}), ...(a.params ?? {}) }, defectTypeIds, ...(config.geometry ? { geometry: config.geometry } : {}) } as ArgsOf<'training.start'>;
  const r = await jobs.start('training', async (job) => {
    const started = await startTraining(ctx, args, job);
    const done = started.done.then((res) => {
      const made = res as { modelVersionId: number };
      setReplacedVersion(store, { modelId: made.modelVersionId, replaces: base.id });
      return { ...made, replaces: base.id };
    });
    return { runId: started.runId, done };
  });
  return { jobId: r.jobId, runId: r.runId!, replaces: base.id };
}

const outcome = (decision: 'good' | 'defect', score: number, threshold: number): ReviewOutcome =>
  decision === 'good' ? (score > threshold ? 'false-alarm' : 'right') : score > threshold ? 'right' : 'miss';

async function compare(ctx: ServiceContext, a: ArgsOf<'review.compare'>): Promise<ReviewComparison> {
  const { store } = ctx;
  const comparison = compareModelVersions(store, { a: a.modelIdA, b: a.modelIdB });
  const images = reviewedImages(store, comparison.a.datasetId);
  const counts = { fixedFalseAlarms: 0, fixedMisses: 0, introducedFalseAlarms: 0, introducedMisses: 0, reviewed: images.length };
  if (images.length === 0) return { comparison, reviewed: [], counts };
  const eng = needEngine(ctx.engine, 'Scoring the reviewed images');
  const rt = await runtimeOf(ctx);
  const good = images.filter((i) => i.decision === 'good');
  const defect = images.filter((i) => i.decision === 'defect');
  const score = (mv: typeof comparison.a) =>
    eng.run('score-split', { bundle: bundlePath(store, mv), good: good.map((i) => i.path), defect: defect.map((i) => i.path), cacheDir: store.layout.root, ...rt });
  const sa = await score(comparison.a);
  const sb = await score(comparison.b);
  const ta = comparison.a.threshold ?? Infinity;
  const tb = comparison.b.threshold ?? Infinity;
  const reviewed: ReviewedImageChange[] = [...good.map((img, n) => ({ img, x: sa.normal[n]!, y: sb.normal[n]! })), ...defect.map((img, n) => ({ img, x: sa.defect[n]!, y: sb.defect[n]! }))].map(({ img, x, y }) => {
    const oa = outcome(img.decision, x, ta);
    const ob = outcome(img.decision, y, tb);
    const change = oa !== 'right' && ob === 'right' ? 'fixed' : oa === 'right' && ob !== 'right' ? 'introduced' : 'same';
    if (change === 'fixed') counts[oa === 'false-alarm' ? 'fixedFalseAlarms' : 'fixedMisses']++;
    if (change === 'introduced') counts[ob === 'false-alarm' ? 'introducedFalseAlarms' : 'introducedMisses']++;
    return { imageId: img.imageId, path: img.path, decision: img.decision, scoreA: x, scoreB: y, outcomeA: oa, outcomeB: ob, change };
  });
  return { comparison, reviewed, counts };
}

export function reviewHandlers(ctx: ServiceContext): GroupHandlers<'review'> {
  const { store } = ctx;
  return {
    'review.queue': (a) => queue(ctx, a),
    'review.decide': (a) => decide(ctx, a),
    'review.undo': async (a) => {
      reviewTarget(store, a.runId);
      const r = undoReview(store, { runId: a.runId, actor: osUser() });
      return { ...r, progress: reviewProgress(store, a.runId) };
    },
    'review.progress': async (a) => {
      reviewTarget(store, a.runId);
      return reviewProgress(store, a.runId);
    },
    'review.retrain': (a) => retrain(ctx, a),
    'review.compare': (a) => compare(ctx, a),
  };
}
