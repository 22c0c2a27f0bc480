/**
 * The `models` group: a dataset's model versions, their threshold, comparison, score
 * histogram and ONNX export (the export, and the histogram of a version stored before
 * training returned its test scores, run in the engine host).
 */
import { randomBytes } from 'node:crypto';
import { link, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ArgsOf, ModelVersion, ReviewBandProposal, ScoreHistogram } from '../common/api';
import { proposeReviewBand } from '../common/review-band';
import { histogramBins } from '../common/score-stats';
import { getImage } from '../db/images';
import { activateModelVersion, compareModelVersions, getModelVersion, listModelVersions, setModelReviewBand, setModelThreshold, updateModelVersion } from '../db/model-versions';
import { loadBundle, rewriteBundleReviewBand, rewriteBundleThreshold } from '../model/bundle-file';
import type { GroupHandlers, ServiceContext } from './context';
import { bundlePath, checkOutFile, copyOut, fileExists, needEngine, readScores, runtimeOf } from './engine-work';
import { robustnessHandlers } from './robustness';

async function histogram(ctx: ServiceContext, args: ArgsOf<'models.histogram'>): Promise<ScoreHistogram> {
  const { store } = ctx;
  let mv = getModelVersion(store, args.modelId);
  let scores = readScores(mv.metrics);
  if (!scores) {
    // a version stored before training returned its test scores: score the split once, keep the result
    const eng = needEngine(ctx.engine, 'Scoring the test split');
    const split = mv.evalSplit as { good?: { imageId: number }[]; defect?: { imageId: number }[] } | null;
    const paths = (list: { imageId: number }[] | undefined) => (list ?? []).map((x) => getImage(store, x.imageId).path);
    const r = await eng.run('score-split', { bundle: bundlePath(store, mv), good: paths(split?.good), defect: paths(split?.defect), cacheDir: store.layout.root, ...(await runtimeOf(ctx)) });
    scores = { normal: r.normal, defect: r.defect };
    mv = updateModelVersion(store, { id: mv.id, metrics: { ...mv.metrics, testScores: scores } });
  }
  const boundary = (mv.calibration as { boundaryScore?: number | null } | null)?.boundaryScore ?? null;
  const reviewBandProposal = await proposeBand(ctx, mv, scores.normal);
  return {
    modelId: mv.id, ...histogramBins(scores, args.bins ?? 30, [mv.threshold, boundary, mv.reviewBand?.low ?? null, mv.reviewBand?.high ?? null]),
    boundary, threshold: mv.threshold, scores, reviewBand: mv.reviewBand, reviewBandProposal,
  };
}

/**
 * The default review band of a version at its threshold: from the held-out normals its training
 * calibrated on (kept in bundles since the review band came), else the frozen test split's.
 */
async function proposeBand(ctx: ServiceContext, mv: ModelVersion, testNormals: number[]): Promise<ReviewBandProposal | null> {
  if (mv.threshold === null) return null;
  let held: number[] | undefined;
  try {
    held = (await loadBundle(bundlePath(ctx.store, mv))).meta.heldOutScores;
  } catch {
    held = undefined; // no readable bundle: the test split's normals still tell a band
  }
  if (held && held.length >= 2) return proposeReviewBand(held, mv.threshold, 'calibration');
  return proposeReviewBand(testNormals, mv.threshold, 'test-split');
}

async function exportModel(ctx: ServiceContext, args: ArgsOf<'models.export'>): Promise<{ path: string }> {
  const { store } = ctx;
  const root = store.layout.root;
  const eng = needEngine(ctx.engine, 'Model export');
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
}

export function modelsHandlers(ctx: ServiceContext): GroupHandlers<'models'> {
  const { store } = ctx;
  return {
    'models.list': async (a) => listModelVersions(store, a.datasetId),
    'models.histogram': (a) => histogram(ctx, a),
    // the bundle file is the threshold's home: rewritten in the same transaction as the row
    'models.setThreshold': async (a) => setModelThreshold(store, { id: a.modelId, threshold: a.threshold }, rewriteBundleThreshold),
    // the review band too: the bundle holds it for bgad inspect --review-band
    'models.setReviewBand': async (a) => setModelReviewBand(store, { id: a.modelId, band: a.band }, rewriteBundleReviewBand),
    'models.activate': async (a) => activateModelVersion(store, a.modelId),
    'models.compare': async (a) => compareModelVersions(store, { a: a.modelIdA, b: a.modelIdB }),
    'models.export': (a) => exportModel(ctx, a),
    // the unseen-defect robustness report (robustness.ts)
    ...robustnessHandlers(ctx),
  };
}
