/**
 * The `inspection` group: one image or a folder inspected with a model version, the stored
 * runs and results, their reports. The model runs in the engine host (`inspect-image`,
 * `inspect-batch`); this side keeps the rows and relays progress. A folder run's reports are
 * the files its job wrote; a station's run (services/station.ts), or a time range of any run,
 * is reported from the results stored in the database, with the pictures of its output folder.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ArgsOf, InspectionRun, SingleInspection, StoredInspectionResult } from '../common/api';
import type { BatchProgressData, BatchResult } from '../common/engine-jobs';
import { AppError, isAppError } from '../common/errors';
import { fromDataRef, toDataRef } from '../db/files';
import { addInspectionResults, createInspectionRun, finishInspectionRun, getInspectionRun, getStationRun, inspectionResultsInRange, listInspectionResults, listInspectionRuns, type AddResultInput, type StationRunRecord } from '../db/inspections';
import { getModelVersion } from '../db/model-versions';
import { recordSingleInspection } from '../db/review';
import { writeFileAtomic } from '../fs/atomic-file';
import { modelInfo, pictureNames } from '../inspection/inspect';
import { readModelSource } from '../model/bundle-file';
import type { InspectionFileResult, InspectionReport } from '../model/records';
import { toCsv, writePdfReport } from '../reports';
import type { GroupHandlers, ServiceContext } from './context';
import { absolute, bundlePath, checkOutFile, copyOut, modelFor, needEngine, runtimeOf, sha256Hex } from './engine-work';
import type { JobContext, StartedJob } from './job-hub';

async function inspectImage(ctx: ServiceContext, args: ArgsOf<'inspection.inspectImage'>): Promise<SingleInspection> {
  const { store } = ctx;
  const root = store.layout.root;
  const eng = needEngine(ctx.engine, 'Inspecting an image');
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
  const r = await eng.run('inspect-image', { bundle, image: copy, out: work, threshold: mv.threshold ?? undefined, reviewBand: mv.reviewBand, cacheDir: root, ...(await runtimeOf(ctx)) });
  if (r.verdict === 'error' || r.score === null || !r.heatmap) {
    throw new AppError('BAD_IMAGE', r.error ?? 'The image could not be inspected.', { subject: args.path ?? name, hint: 'Use a PNG, JPEG, BMP, TIFF or WebP picture.' });
  }
  // kept in the version's "single images" run, so the picture can be reviewed like a folder's results
  if (args.review && r.sha256) recordSingleInspection(store, { modelVersionId: mv.id, threshold: r.threshold, path: copy, sha256: r.sha256, score: r.score, verdict: r.verdict, heatmapFile: toDataRef(root, r.heatmap) });
  return { path: args.path ?? null, imagePath: copy, score: r.score, verdict: r.verdict, threshold: r.threshold, reviewBand: mv.reviewBand, modelVersionId: mv.id, heatmapPath: r.heatmap };
}

async function startBatch(ctx: ServiceContext, args: ArgsOf<'inspection.startBatch'>, job: JobContext): Promise<StartedJob<unknown> & { runId: number }> {
  const { store } = ctx;
  const root = store.layout.root;
  const eng = needEngine(ctx.engine, 'Batch inspection');
  const mv = getModelVersion(store, args.modelId);
  const bundle = bundlePath(store, mv);
  const folder = resolve(args.folder);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new AppError('NOT_FOUND', `The folder ${folder} does not exist.`, { subject: folder, hint: 'Check the path.' });
  const run = createInspectionRun(store, { source: folder, modelVersionId: mv.id, threshold: args.threshold ?? mv.threshold });
  const out = join(root, 'inspections', String(run.id));
  const rt = await runtimeOf(ctx);
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
      const res = await eng.run('inspect-batch', { bundle, input: folder, out, threshold: run.threshold ?? undefined, reviewBand: run.reviewBand, cacheDir: root, ...rt }, {
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
}

async function exportReport(ctx: ServiceContext, args: ArgsOf<'inspection.exportReport'>): Promise<{ path: string }> {
  const run = getInspectionRun(ctx.store, args.runId);
  const station = getStationRun(ctx.store, run.id);
  const ranged = args.fromMs !== undefined || args.toMs !== undefined;
  if (args.fromMs !== undefined && args.toMs !== undefined && args.fromMs > args.toMs) {
    throw new AppError('BAD_ARGUMENT', 'The time range ends before it starts.', { subject: 'args.toMs', hint: 'Give a "to" time after the "from" time.' });
  }
  const overwrite = args.overwrite === true;
  // a station's run (and any time range) is reported from the results stored so far
  if (station || ranged) return exportStoredReport(ctx, run, station, args);
  const file = join(ctx.store.layout.root, 'inspections', String(run.id), args.format === 'pdf' ? 'report.pdf' : 'results.csv');
  if (!existsSync(file)) {
    throw new AppError('NOT_FOUND', `Inspection run #${run.id} has no ${args.format.toUpperCase()} report.`, { hint: 'Reports are written when a run completes; run the inspection again.' });
  }
  const out = checkOutFile(args.outPath, args.format, overwrite);
  await copyOut(file, out, overwrite);
  return { path: out };
}

/** "2025-05-04 10:31 UTC" */
const utc = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC');

/** A stored result as the reports see it; its pictures are found in the run's output folder. */
function storedFileResult(root: string, input: string, out: string, r: StoredInspectionResult): InspectionFileResult {
  const rel = relative(input, r.path);
  const relPath = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : basename(r.path);
  const names = pictureNames(relPath);
  const found = (name: string) => {
    const p = join(out, name);
    return existsSync(p) ? p : null;
  };
  return {
    path: r.path, rel: relPath, sha256: r.sha256, score: r.score, verdict: r.verdict, error: r.error, errorCode: null,
    heatmap: r.heatmapFile ? absolute(root, r.heatmapFile) : found(names.heatmap), overlay: found(names.overlay),
    thumbnail: found(names.thumbnail), overlayThumbnail: found(names.overlayThumbnail), width: null, height: null, resumed: false,
    inspectedAtMs: r.createdAtMs,
  };
}

/** The report of a run's stored results (a station's run, or a time range of any run). */
async function storedReport(ctx: ServiceContext, run: InspectionRun, station: StationRunRecord | null, range: { fromMs?: number; toMs?: number }): Promise<InspectionReport> {
  const root = ctx.store.layout.root;
  if (run.modelVersionId === null) throw new AppError('NOT_FOUND', `The model of inspection run #${run.id} was deleted; its report cannot be made.`, { hint: 'Export the results with the CSV of a run whose model still exists.' });
  const mv = getModelVersion(ctx.store, run.modelVersionId);
  if (!mv.bundleFile || !existsSync(fromDataRef(root, mv.bundleFile))) throw new AppError('BAD_MODEL', `The model file of version ${mv.number} is missing.`, { hint: 'Restore the data folder from a backup.' });
  const model = modelInfo(await readModelSource(fromDataRef(root, mv.bundleFile)));
  const input = station?.input ?? run.source;
  const out = station?.out ?? join(root, 'inspections', String(run.id));
  const rows = inspectionResultsInRange(ctx.store, { runId: run.id, fromMs: range.fromMs, toMs: range.toMs });
  const results = rows.map((r) => storedFileResult(root, input, out, r));
  const count = (v: string) => results.filter((r) => r.verdict === v).length;
  const startMs = range.fromMs ?? run.startedAtMs ?? run.createdAtMs;
  const endMs = range.toMs ?? run.finishedAtMs ?? Date.now();
  const spanMs = Math.max(1, (rows.at(-1)?.createdAtMs ?? startMs) - (rows[0]?.createdAtMs ?? startMs));
  const threshold = run.threshold ?? model.threshold;
  const what = station ? 'station' : 'folder';
  return {
    // the PDF prints this line under its title: the range the report covers goes with the folder
    input: range.fromMs !== undefined || range.toMs !== undefined ? `${input} (${what}; results from ${utc(startMs)} to ${utc(endMs)})` : input,
    out, model, threshold, thresholdSource: threshold === model.threshold ? 'model' : 'override', reviewBand: run.reviewBand,
    total: results.length, pass: count('pass'), fail: count('fail'), error: count('error'), review: count('review'), resumed: 0, inspected: results.length, results,
    startedAt: new Date(startMs).toISOString(), elapsedMs: Math.max(0, endMs - startMs), inspectMs: spanMs,
    imagesPerSecond: results.length > 1 ? ((results.length - 1) * 1000) / spanMs : 0, msPerImage: results.length > 1 ? spanMs / (results.length - 1) : 0,
    peakRssMb: 0, reports: {},
  };
}

async function exportStoredReport(ctx: ServiceContext, run: InspectionRun, station: StationRunRecord | null, args: ArgsOf<'inspection.exportReport'>): Promise<{ path: string }> {
  const overwrite = args.overwrite === true;
  const out = checkOutFile(args.outPath, args.format, overwrite);
  const report = await storedReport(ctx, run, station, args);
  // written whole in the data folder first, then copied: an existing file is never half replaced
  const work = join(ctx.store.layout.root, 'inspections', String(run.id), 'exports');
  await mkdir(work, { recursive: true });
  const tmp = join(work, `${randomBytes(6).toString('hex')}.${args.format}`);
  try {
    // each row with its inspection time, so a shift's CSV can be filtered by time
    if (args.format === 'csv') await writeFileAtomic(tmp, Buffer.from(toCsv(report.results, { times: true }), 'utf8'));
    else await writePdfReport(tmp, report);
    await copyOut(tmp, out, overwrite);
  } finally {
    await rm(tmp, { force: true });
  }
  return { path: out };
}

export function inspectionHandlers(ctx: ServiceContext): GroupHandlers<'inspection'> {
  const { store, jobs } = ctx;
  return {
    'inspection.inspectImage': async (a) => {
      if ((a.path === undefined) === (a.image === undefined)) {
        throw new AppError('BAD_ARGUMENT', 'Give either the path of an image or its bytes, not both.', { subject: 'args.path' });
      }
      return inspectImage(ctx, a);
    },
    'inspection.startBatch': async (a) => {
      const r = await jobs.start('inspection', (job) => startBatch(ctx, a, job));
      return { jobId: r.jobId, runId: r.runId! };
    },
    'inspection.listRuns': async (a) => listInspectionRuns(store, { datasetId: a.datasetId, modelVersionId: a.modelId }),
    'inspection.getRun': async (a) => getInspectionRun(store, a.runId),
    'inspection.results': async (a) => {
      const r = listInspectionResults(store, a);
      return {
        total: r.total,
        items: r.items.map(({ heatmapFile, ...rest }) => ({ ...rest, heatmapPath: heatmapFile === null ? null : absolute(store.layout.root, heatmapFile) })),
      };
    },
    'inspection.exportReport': (a) => exportReport(ctx, a),
  };
}
