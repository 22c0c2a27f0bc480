/**
 * End-to-end BGAD on one MVTec-layout category: choose known anomalies, extract (cached)
 * backbone features, make copy-paste synthetic anomalies, train the flows, freeze the
 * calibration and threshold on held-out normals, and (for `bgad eval`) score the test set.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { AppError } from '../common/errors';
import type { EngineProgress } from '../common/engine-protocol';
import { defaultBackboneId, getBackbone, type BackboneSpec } from '../backbones/registry';
import { FeatureExtractor } from '../backbones/extractor';
import { FeatureCache, featuresForImages } from '../backbones/feature-cache';
import { loadImageTensor, readImageAspect, readMaskPng } from '../images/load';
import { defaultCacheRoot } from '../db/paths';
import { resolveConfig, totalSteps, type PresetName, type TrainConfig } from '../bgad/config';
import { maskToLevel, type LevelImage } from '../bgad/sampler';
import { syntheticAnomaly } from '../bgad/copy-paste';
import { Rng } from '../bgad/rng';
import { buildScoreHead, type Calibration, type HeadLevel } from '../bgad/score-head';
import type { BundleMeta, ModelBundle } from '../bgad/bundle';
import { areaAt, areaAtLevel, areaCount, areaProblem, type InspectionArea } from '../bgad/area';
import { headFeeds, Scorer } from '../model/scorer';
import { asGeometry, chooseGeometry, geometryLabel, isSquare, type InputGeometry, type InputSize } from '../bgad/geometry';
import { thresholdAtFalseRejectRate } from '../metrics';
import type { ExecutionProvider } from '../common/records';
import { createSession } from '../runtime/session';
import { scanCategory, type CategoryData, type DefectImage } from './dataset';
import { FeatureArena, trainFlows, type LevelData, type TrainResult } from './trainer';

export interface TrainModelOptions {
  /** One category in the MVTec AD layout on disk ... */
  dataDir?: string;
  /** ... or the same lists built from a database dataset (the app's datasets). */
  category?: CategoryData;
  preset?: PresetName;
  overrides?: Partial<TrainConfig>;
  /**
   * Number of known anomalies to use (0 = unsupervised baseline); more than exist is an error.
   * Unset: those available, up to DEFAULT_KNOWN_ANOMALIES.
   */
  anomalies?: number;
  /** Restrict known anomalies to these defect types ("unseen" protocol). */
  anomalyTypes?: string[];
  /** Train only on positions inside this area and zero the map outside it (default: the category's, if any). */
  inspectionArea?: InspectionArea;
  backboneId?: string;
  /** Backbone conversion cache and feature cache root. */
  cacheDir?: string;
  threads?: number;
  executionProvider?: ExecutionProvider;
  signal?: AbortSignal;
  onProgress?: (p: EngineProgress) => void;
}

export interface TrainedModel {
  bundle: ModelBundle;
  category: CategoryData;
  /** Test images left after removing the known anomalies taken from the test set. */
  testGood: string[];
  testDefects: DefectImage[];
  train: TrainResult;
  featureMsPerImage: number;
}

/** How many known anomalies training uses when not told (the published setting: 10 per category). */
export const DEFAULT_KNOWN_ANOMALIES = 10;

/** Picks `n` known anomalies, spread round-robin over the allowed types, deterministic by seed. */
export function selectKnownAnomalies(pool: DefectImage[], n: number, types: string[] | undefined, rng: Rng): DefectImage[] {
  const allowed = types?.length ? pool.filter((d) => types.includes(d.type)) : pool;
  const byType = new Map<string, DefectImage[]>();
  for (const d of allowed) byType.set(d.type, [...(byType.get(d.type) ?? []), d]);
  for (const list of byType.values()) rng.shuffle(list);
  const order = [...byType.keys()].sort();
  const out: DefectImage[] = [];
  while (out.length < n && order.some((t) => byType.get(t)!.length)) {
    for (const t of order) {
      const d = byType.get(t)!.shift();
      if (d && out.length < n) out.push(d);
    }
  }
  return out;
}

/** A mask file brought to the input size, S x S or H x W (nearest neighbour), as 0/1. */
export async function readMaskAt(path: string, size: InputSize): Promise<Uint8Array> {
  const m = await readMaskPng(path);
  const { height, width } = asGeometry(size);
  const resized = await sharp(Buffer.from(m.data.map((v) => (v ? 255 : 0))), { raw: { width: m.width, height: m.height, channels: 1 } })
    .resize(width, height, { fit: 'fill', kernel: 'nearest' })
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (resized.info.channels !== 1 || resized.data.length !== width * height) throw new Error(`mask ${path}: resize gave ${resized.info.channels} channels`);
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = resized.data[i]! >= 128 ? 1 : 0;
  return out;
}

export async function openExtractor(backboneId: string | undefined, cacheRoot: string, threads?: number, ep?: ExecutionProvider) {
  const spec = await getBackbone(backboneId ?? defaultBackboneId(), { cacheDir: join(cacheRoot, 'backbones') });
  const extractor = await FeatureExtractor.create(spec, { threads, executionProvider: ep });
  const cache = new FeatureCache(join(cacheRoot, 'features'));
  return { spec, extractor, cache };
}

type Progress = (fraction: number, message: string) => void;
type FeatureShape = { channels: number; height: number; width: number };

/** What the steps of one training run share once the backbone is open. */
interface TrainRun {
  opts: TrainModelOptions;
  cfg: TrainConfig;
  progress: Progress;
  spec: BackboneSpec;
  extractor: FeatureExtractor;
  cache: FeatureCache;
  /** The model's input height x width: S x S, or the aspect geometry (bgad/geometry.ts). */
  S: InputGeometry;
  /** Images that could not be read, skipped (normal training and held-out images). */
  skipped: { path: string; reason: string }[];
  onError: (path: string, e: AppError) => void;
  /** The inspection area at the input's H x W (0/1), or null: the whole image. */
  area: Uint8Array | null;
}

/** The training images of every level, their features in shared-memory arenas. */
interface TrainFeatures {
  levelImages: LevelImage[][];
  shapes: FeatureShape[] | null;
  arenas: FeatureArena[];
  trainHashes: string[];
  featureMsPerImage: number;
}

/**
 * Settings for measuring routes (README "Backbones"), from BGAD_EXPERIMENT_CONFIG: a JSON object
 * of TrainConfig fields, e.g. '{"syntheticPerAnomaly":10}', applied under the caller's overrides.
 * The model records the configuration it was trained with, so the setting is never hidden.
 */
function experimentConfig(env = process.env.BGAD_EXPERIMENT_CONFIG): Partial<TrainConfig> {
  if (!env) return {};
  try {
    const v = JSON.parse(env) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Partial<TrainConfig>;
  } catch {
    // reported below
  }
  throw new AppError('BAD_ARGUMENT', `BGAD_EXPERIMENT_CONFIG is not a JSON object: ${env}`, { hint: 'Unset it, or give e.g. {"syntheticPerAnomaly":10}.' });
}

export async function trainModel(opts: TrainModelOptions): Promise<TrainedModel> {
  const cfg = resolveConfig(opts.preset ?? 'fast', { ...experimentConfig(), ...opts.overrides });
  const progress: Progress = (fraction, message) => opts.onProgress?.({ fraction, message });
  if (!opts.category && !opts.dataDir) throw new AppError('BAD_ARGUMENT', 'Training needs a data folder or a dataset.');
  const cat = opts.category ?? scanCategory(opts.dataDir!);
  // The seed's Rng forks, in this order (the model depends on it): the known anomalies (when
  // any are asked for), the held-out normals, the synthetic anomalies (when there are known ones).
  const rng = new Rng(cfg.seed);
  const { known, testDefects } = chooseKnownAnomalies(opts, cat, rng, progress);
  const { heldOut, trainNormals } = splitHeldOutNormals(cat, cfg, rng);

  const cacheRoot = opts.cacheDir ?? defaultCacheRoot();
  await mkdir(cacheRoot, { recursive: true });
  progress(0.01, 'preparing the backbone');
  const { spec, extractor, cache } = await openExtractor(opts.backboneId, cacheRoot, opts.threads, opts.executionProvider);
  try {
    const skipped: TrainRun['skipped'] = [];
    const onError = (path: string, e: AppError) => {
      skipped.push({ path, reason: e.message });
      progress(0.02, `skipping ${path}: ${e.message}`);
    };
    const S = await modelGeometry(cfg, trainNormals, spec.inputSize, progress);
    const run: TrainRun = { opts, cfg, progress, spec, extractor, cache, S, skipped, onError, area: areaAtInput(opts.inspectionArea ?? cat.inspectionArea, S) };
    const feats = await extractNormalFeatures(run, trainNormals, known.length);
    const anomaliesUsed = await addKnownAndSyntheticAnomalies(run, feats, known, trainNormals, rng);
    const { levels, train } = await trainLevels(run, feats);
    const { calibration, threshold, heldHashes, heldScores } = await calibrateAndThreshold(run, levels, train, heldOut);
    const meta = bundleMeta(run, levels, train, { calibration, threshold, heldOut, heldHashes, heldScores, anomaliesUsed, trainHashes: feats.trainHashes });
    // the area travels at the input size, the resolution it is used at (whatever it was painted at)
    const inspectionArea = run.area ? { width: run.S.width, height: run.S.height, pixels: run.area } : undefined;
    if (inspectionArea) meta.inspectionArea = { width: run.S.width, height: run.S.height, areaPx: areaCount(inspectionArea) };
    progress(1, 'trained');
    return { bundle: { meta, weights: train.levels.map((l) => l.weights), ...(inspectionArea ? { inspectionArea } : {}) }, category: cat, testGood: cat.testGood, testDefects, train, featureMsPerImage: feats.featureMsPerImage };
  } finally {
    await extractor.dispose();
  }
}

/**
 * The model's input geometry: S x S ('square'), or ('aspect') H x W from the training normals'
 * median aspect ratio, read from their headers (an unreadable one is left to the extraction,
 * which reports it).
 */
async function modelGeometry(cfg: TrainConfig, trainNormals: string[], S: number, progress: Progress): Promise<InputGeometry> {
  if (cfg.geometry !== 'aspect') return { height: S, width: S };
  const aspects: number[] = [];
  for (const p of trainNormals) {
    try {
      aspects.push(await readImageAspect(p));
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
    }
  }
  if (!aspects.length) throw new AppError('BAD_DATASET', `None of the ${trainNormals.length} normal training images could be read to choose the input geometry.`, { hint: 'Fix or remove the unreadable images, or train with --geometry square.' });
  const g = chooseGeometry(aspects, S);
  progress(0.015, `input geometry ${geometryLabel(g)}${isSquare(g) ? ' (the images are about square)' : ''} from the median aspect ratio of ${aspects.length} normal images`);
  return g;
}

/** A dataset's inspection area at the input size (null: none); BAD_ARGUMENT when unusable or empty there. */
function areaAtInput(area: InspectionArea | undefined, S: InputGeometry): Uint8Array | null {
  if (!area) return null;
  const problem = areaProblem(area);
  if (problem) throw new AppError('BAD_ARGUMENT', `The inspection area cannot be used: ${problem}.`, { hint: 'Paint the inspection area again in the annotator, or clear it.' });
  const at = areaAt(area, S.width, S.height);
  if (!at.some((v) => v === 1)) throw new AppError('BAD_ARGUMENT', `The inspection area is empty at the model's input size (${S.width}x${S.height}): nothing would be inspected.`, { hint: 'Paint a larger inspection area, or clear it to inspect the whole image.' });
  return at;
}

/**
 * The known anomalies: from train/<type> when present, else from the test set (then removed
 * from it). Without an explicit count, the ones there are, up to the default. Forks `rng` once
 * when any are asked for.
 */
function chooseKnownAnomalies(opts: TrainModelOptions, cat: CategoryData, rng: Rng, progress: Progress): { known: DefectImage[]; testDefects: DefectImage[] } {
  const nAnom = opts.anomalies ?? DEFAULT_KNOWN_ANOMALIES;
  const fromTrain = cat.trainDefects.length > 0;
  const pool = fromTrain ? cat.trainDefects : cat.testDefects;
  if (opts.anomalyTypes?.length) {
    const unknown = opts.anomalyTypes.filter((t) => !cat.defectTypes.includes(t));
    if (unknown.length) throw new AppError('BAD_ARGUMENT', `Unknown defect type(s) ${unknown.join(', ')} in ${cat.dir}.`, { hint: `Known types: ${cat.defectTypes.join(', ') || 'none'}.` });
  }
  const known = nAnom > 0 ? selectKnownAnomalies(pool, nAnom, opts.anomalyTypes, rng.fork()) : [];
  if (opts.anomalies === undefined) {
    const where = fromTrain ? 'train/<type>' : 'the test set';
    progress(0, known.length === nAnom ? `using ${known.length} known anomalies (the default) from ${where}`
      : known.length > 0 ? `using all ${known.length} known anomalies available in ${where} (the default is up to ${DEFAULT_KNOWN_ANOMALIES})`
        : 'no known anomalies are available: training unsupervised');
  } else if (nAnom > 0 && known.length < nAnom) {
    throw new AppError('BAD_DATASET', `Only ${known.length} known anomalies are available in ${cat.dir} (asked for ${nAnom}).`, { hint: 'Lower --anomalies, or add defective images with masks under train/<type>/.' });
  }
  const noMask = known.filter((d) => !d.maskPath);
  if (noMask.length) {
    throw new AppError('MISSING_MASK', `Known anomaly ${noMask[0]!.path} has no mask${noMask.length > 1 ? ` (and ${noMask.length - 1} more)` : ''}.`, {
      subject: noMask[0]!.path,
      hint: 'Paint the defect in the annotator or add ground_truth/<type>/<name>_mask.png; or train with --anomalies 0.',
    });
  }
  const usedPaths = new Set(known.map((d) => d.path));
  return { known, testDefects: cat.testDefects.filter((d) => !usedPaths.has(d.path)) };
}

/** Held-out normal images for calibration and the threshold; the rest train. Forks `rng` once. */
function splitHeldOutNormals(cat: CategoryData, cfg: TrainConfig, rng: Rng): { heldOut: string[]; trainNormals: string[] } {
  const normals = rng.fork().shuffle([...cat.trainGood]);
  const nHeld = Math.min(cfg.heldOutMax, Math.max(cfg.heldOutMin, Math.round(normals.length * cfg.heldOutFraction)));
  if (normals.length - nHeld < 4) throw new AppError('BAD_DATASET', `${cat.dir} has only ${normals.length} normal training images.`, { hint: 'Add more defect-free images to train/good (at least 20 are recommended).' });
  return { heldOut: normals.slice(0, nHeld), trainNormals: normals.slice(nHeld).sort() };
}

/**
 * Normal features, straight into shared memory where the level workers read them (arenas
 * sized for the known and synthetic anomalies too).
 */
async function extractNormalFeatures(run: TrainRun, trainNormals: string[], nKnown: number): Promise<TrainFeatures> {
  const { cfg, progress, extractor, cache, S } = run;
  const levelImages: LevelImage[][] = run.spec.taps.map(() => []);
  let shapes = null as null | FeatureShape[];
  const trainHashes: string[] = [];
  const tFeat = performance.now();
  let extracted = 0, i = 0;
  const capacity = trainNormals.length + nKnown * (1 + cfg.syntheticPerAnomaly);
  let arenas: FeatureArena[] = [];
  for await (const f of featuresForImages(trainNormals, { extractor, cache, sizePx: S, signal: run.opts.signal, onError: run.onError })) {
    if (!shapes) {
      shapes = f.shapes;
      arenas = f.shapes.map((sh) => new FeatureArena(sh.channels * sh.height * sh.width, capacity));
    }
    f.taps.forEach((t, k) => levelImages[k]!.push({ features: arenas[k]!.add(t), mask: null, weight: 1 }));
    trainHashes.push(f.sha256);
    if (!f.fromCache) extracted++;
    i++;
    if (i % 8 === 0) progress(0.02 + 0.18 * (i / trainNormals.length), `extracting features ${i}/${trainNormals.length}`);
  }
  const featureMsPerImage = extracted ? (performance.now() - tFeat) / extracted : NaN;
  if (levelImages[0]!.length < 4) {
    throw new AppError('BAD_DATASET', `Only ${levelImages[0]!.length} of ${trainNormals.length} normal training images could be read (first problem: ${run.skipped[0]?.reason ?? 'none'}).`, { hint: 'Fix or remove the unreadable images and train again.' });
  }
  return { levelImages, shapes, arenas, trainHashes, featureMsPerImage };
}

/**
 * Known anomalies as they are, and copy-paste synthetic ones on random normal images, added to
 * the training images. Forks `rng` once when there are known anomalies.
 */
async function addKnownAndSyntheticAnomalies(run: TrainRun, feats: TrainFeatures, known: DefectImage[], trainNormals: string[], rng: Rng): Promise<BundleMeta['anomaliesUsed']> {
  const { cfg, extractor, S } = run;
  const anomaliesUsed: BundleMeta['anomaliesUsed'] = [];
  if (!known.length) return anomaliesUsed;
  run.progress(0.2, 'preparing known and synthetic anomalies');
  const synthRng = rng.fork();
  const synthImgs: { chw: Float32Array; mask: Uint8Array }[] = [];
  for (const d of known) {
    const mask = await readMaskAt(d.maskPath!, S);
    const img = await loadImageTensor(d.path, S);
    anomaliesUsed.push({ path: d.path, type: d.type, sha256: img.info.sha256 });
    const out = await extractor.extractBatchWithShapes(img.chw, 1, S);
    out.taps.forEach((t, k) => {
      const sh = out.shapes[k]!;
      feats.levelImages[k]!.push({ features: feats.arenas[k]!.add(t), mask: maskToLevel(mask, S, sh.height, sh.width, cfg.maskPooling), weight: cfg.anomalyRepeats });
    });
    for (let j = 0; j < cfg.syntheticPerAnomaly; j++) {
      const target = await loadImageTensor(trainNormals[synthRng.int(trainNormals.length)]!, S);
      const s = syntheticAnomaly({ chw: img.chw, size: S }, mask, { chw: target.chw, size: S }, synthRng);
      if (s) synthImgs.push({ chw: s.img.chw, mask: s.mask });
    }
  }
  await addSyntheticAnomalies(run, feats, synthImgs);
  return anomaliesUsed;
}

/** Extracts the synthetic anomalies' features in batches of 8 and adds them (weight 1). */
async function addSyntheticAnomalies(run: TrainRun, feats: TrainFeatures, synthImgs: { chw: Float32Array; mask: Uint8Array }[]): Promise<void> {
  const { cfg, extractor, S } = run;
  for (let b = 0; b < synthImgs.length; b += 8) {
    const part = synthImgs.slice(b, b + 8);
    const per = 3 * S.height * S.width;
    const batch = new Float32Array(part.length * per);
    part.forEach((p, j) => batch.set(p.chw, j * per));
    const out = await extractor.extractBatchWithShapes(batch, part.length, S);
    part.forEach((p, j) => out.taps.forEach((t, k) => {
      const per = t.length / part.length;
      const sh = out.shapes[k]!;
      feats.levelImages[k]!.push({ features: feats.arenas[k]!.add(t.subarray(j * per, (j + 1) * per)), mask: maskToLevel(p.mask, S, sh.height, sh.width, cfg.maskPooling), weight: 1 });
    }));
  }
}

/** Trains the flows of every level on the collected images. */
async function trainLevels(run: TrainRun, feats: TrainFeatures): Promise<{ levels: LevelData[]; train: TrainResult }> {
  const { opts, cfg } = run;
  const { levelImages, shapes } = feats;
  const levels: LevelData[] = run.spec.taps.map((t, k) => {
    const { channels, height, width } = shapes![k]!;
    const area = run.area ? areaAtLevel({ width: run.S.width, height: run.S.height, pixels: run.area }, run.S, height, width) : null;
    return { channels, height, width, images: levelImages[k]!, area };
  });
  const steps = totalSteps(cfg, levelImages[0]!.length, levels[0]!.height * levels[0]!.width);
  run.progress(0.22, `training ${steps} steps`);
  const train = await trainFlows(levels, cfg, steps, { signal: opts.signal, onProgress: opts.onProgress, progressSpan: [0.22, 0.9], threads: opts.threads, executionProvider: opts.executionProvider });
  return { levels, train };
}

/** Calibration on the held-out normals, then the threshold at the configured false-reject rate. */
async function calibrateAndThreshold(run: TrainRun, levels: LevelData[], train: TrainResult, heldOut: string[]): Promise<{ calibration: Calibration; threshold: number; heldHashes: string[]; heldScores: number[] }> {
  const { opts, extractor, cache, S } = run;
  run.progress(0.9, 'calibrating on held-out normal images');
  const headLevels: HeadLevel[] = train.levels.map((l) => ({ weights: l.weights, height: l.height, width: l.width }));
  const channels = levels.map((l) => l.channels);
  const heldFeats: Float32Array[][] = [];
  const heldHashes: string[] = [];
  for await (const f of featuresForImages(heldOut, { extractor, cache, sizePx: S, signal: opts.signal, onError: run.onError })) {
    heldFeats.push(f.taps);
    heldHashes.push(f.sha256);
  }
  const calibration = await calibrate(headLevels, channels, S, heldFeats, opts, run.area, levels.map((l) => l.area ?? null));
  const scorer = await Scorer.create(headLevels, channels, S, calibration, opts, run.area ?? undefined);
  const heldScores: number[] = [];
  for (const f of heldFeats) heldScores.push((await scorer.score([f]))[0]!.score);
  await scorer.dispose();
  const threshold = thresholdAtFalseRejectRate(heldScores, run.cfg.falseRejectRate);
  return { calibration, threshold, heldHashes, heldScores };
}

function bundleMeta(
  run: TrainRun,
  levels: LevelData[],
  train: TrainResult,
  r: { calibration: Calibration; threshold: number; heldOut: string[]; heldHashes: string[]; heldScores: number[]; anomaliesUsed: BundleMeta['anomaliesUsed']; trainHashes: string[] },
): BundleMeta {
  const { cfg, spec } = run;
  return {
    format: 'bgad-model',
    formatVersion: 1,
    createdAt: new Date().toISOString(),
    config: cfg,
    // inputSize stays the backbone's S; an aspect model records its H x W beside it (bgad/geometry.ts)
    backbone: { id: spec.id, sha256: spec.sha256, inputSize: spec.inputSize, ...(isSquare(run.S) ? {} : { inputHeight: run.S.height, inputWidth: run.S.width }) },
    levels: levels.map((l, k) => ({ channels: l.channels, height: l.height, width: l.width, stride: spec.taps[k]!.stride, tap: spec.taps[k]!.name, blocks: cfg.blocks, boundary: train.levels[k]!.boundary })),
    calibration: r.calibration,
    threshold: r.threshold,
    thresholdRule: { kind: 'held-out-false-reject-rate', rate: cfg.falseRejectRate, heldOutImages: r.heldOut.length },
    anomaliesUsed: r.anomaliesUsed,
    trainImageHashes: r.trainHashes,
    skippedImages: run.skipped,
    heldOutImageHashes: r.heldHashes,
    // the review band's default proposal (common/review-band.ts) is made from them
    heldOutScores: r.heldScores,
    training: { steps: train.steps, trainSeconds: train.trainMs / 1000, nanSteps: train.nanSteps },
  };
}

/**
 * Feature extraction time per image (decode + resize + backbone, batch 1) measured on up to
 * `n` images, for reports when every feature came from the cache.
 */
export async function measureFeatureMs(paths: string[], opts: { backboneId?: string; cacheDir?: string; threads?: number; n?: number; size?: InputSize }): Promise<number> {
  const sample = paths.slice(0, opts.n ?? 16);
  if (!sample.length) return NaN;
  const { spec, extractor } = await openExtractor(opts.backboneId, opts.cacheDir ?? defaultCacheRoot(), opts.threads);
  try {
    const size = opts.size ?? spec.inputSize;
    const first = await loadImageTensor(sample[0]!, size);
    await extractor.extractBatch(first.chw, 1, size); // warm-up
    const t0 = performance.now();
    for (const p of sample) await extractor.extractBatch((await loadImageTensor(p, size)).chw, 1, size);
    return (performance.now() - t0) / sample.length;
  } finally {
    await extractor.dispose();
  }
}

/**
 * M_level and K from the held-out normals; with an inspection area, over the positions
 * (`levelAreas`) and pixels (`area`, at the input's H x W) inside it only.
 */
async function calibrate(levels: HeadLevel[], channels: number[], S: InputGeometry, feats: Float32Array[][], opts: { threads?: number }, area: Uint8Array | null = null, levelAreas: (Uint8Array | null)[] = []): Promise<Calibration> {
  const raw = buildScoreHead(levels, channels, { inputSize: S });
  const { session } = await createSession(raw, { threads: opts.threads });
  const levelMax = levels.map(() => -Infinity);
  for (const f of feats) {
    const out = await session.run(headFeeds(levels, channels, [f]));
    levels.forEach((_, k) => {
      const d = out[`l_${k}`]!.data as Float32Array;
      const inside = levelAreas[k];
      for (let i = 0; i < d.length; i++) if (d[i]! > levelMax[k]! && (!inside || inside[i])) levelMax[k] = d[i]!;
    });
  }
  await session.release();
  // K = max over held-out normals of the summed probability map (map = K - sum >= 0 there)
  const probe = await Scorer.create(levels, channels, S, { levelMax, mapMax: 0 }, opts);
  let K = -Infinity;
  for (const f of feats) {
    const [r] = await probe.score([f]);
    let mn = Infinity;
    for (let i = 0; i < r!.map.length; i++) if (r!.map[i]! < mn && (!area || area[i])) mn = r!.map[i]!;
    K = Math.max(K, -mn);
  }
  await probe.dispose();
  return { levelMax, mapMax: K };
}

export type { BackboneSpec };
