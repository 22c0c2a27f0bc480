/**
 * Batch inspection of a folder with a model bundle (issue 9): per image a score, a verdict
 * (fail when score > threshold), heat-map pictures, and for every file that could not be
 * inspected the reason.
 *
 * Flow: scan -> prefetch (read, hash, decode: up to `2 x batch` files ahead, so sharp decodes
 * in its thread pool while ONNX Runtime runs the current batch) -> backbone + scoring head per
 * batch -> pictures and one flushed line in results.jsonl per file -> reports at the end.
 * A file whose sha256 already has a result in the output folder is not inspected again
 * (resume); the verdicts of all results are re-derived from their scores at this run's
 * threshold, so re-running with `threshold` re-judges without re-scoring.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AppError, cancelled, isAppError } from '../common/errors';
import { loadImageTensorFromBuffer, readImageBytes, DEFAULT_MAX_PIXELS } from '../images/load';
import { writeFileAtomic } from '../fs/atomic-file';
import type { ModelBundle } from '../bgad/bundle';
import { writeReports } from '../reports/index';
import { renderHeatPictures } from './heatmap';
import { heatScale, type HeatScale } from '../model/heat-scale';
import type { InputGeometry } from '../bgad/geometry';
import { readModelSource, type ModelSource } from '../model/bundle-file';
import { openInspectionModel, type InspectionModel, type RuntimeOptions } from '../model/scorer';
import { RESULTS_FILE, ResultsLog, type LogResult } from './results-log';
import { scanInputFolder, type ScannedFile } from './scan';
import { globError } from './glob';
import { checkOutputFolder, lockOutputFolder, makeOutputFolder, type OutputLock } from './output-folder';
import type { InspectFolderOptions } from './types';
import { REPORT_FORMATS, type InspectionFileResult, type InspectionReport, type ModelInfo } from '../model/records';
import type { ReviewBand, Verdict } from '../common/records';
import { checkReviewBand, judge } from '../common/review-band';

/** fail when score > threshold, else pass; `review` inside the review band when one is given (common/review-band.ts). */
export const verdictOf = (score: number, threshold: number, band?: ReviewBand | null): Verdict => judge(score, threshold, band);

/**
 * The review band a run uses: none (undefined or null), the model's own ('model': refused when
 * the model has none), or one given; it must hold the run's threshold.
 */
export function resolveReviewBand(choice: ReviewBand | 'model' | null | undefined, source: ModelSource, threshold: number): ReviewBand | null {
  if (choice === undefined || choice === null) return null;
  const model = source.file ?? 'the model';
  if (choice === 'model') {
    const band = source.bundle.meta.reviewBand ?? null;
    if (!band) {
      throw new AppError('BAD_ARGUMENT', `The model ${model} has no review band.`, {
        subject: model,
        hint: 'Set one in the app (Models view, beside the threshold) and use its bundle, or give the band for this run with --review-range LOW,HIGH.',
      });
    }
    return checkReviewBand(band, threshold, `of the model ${model}`);
  }
  return checkReviewBand(choice, threshold, '(review range)');
}

export function modelInfo(src: ModelSource): ModelInfo {
  const m = src.bundle.meta;
  return {
    file: src.file,
    sha256: src.sha256,
    createdAt: m.createdAt,
    backboneId: m.backbone.id,
    backboneSha256: m.backbone.sha256,
    inputSize: m.backbone.inputSize,
    ...(m.backbone.inputHeight && m.backbone.inputWidth ? { inputHeight: m.backbone.inputHeight, inputWidth: m.backbone.inputWidth } : {}),
    threshold: m.threshold,
    thresholdRule: m.thresholdRule,
    reviewBand: m.reviewBand ?? null,
    mapMax: m.calibration.mapMax,
    trainingSteps: m.training?.steps ?? null,
    knownAnomalies: m.anomaliesUsed.length,
  };
}

function errorRecord(rel: string, sha256: string | null, e: unknown): LogResult {
  const err = isAppError(e) ? e : new AppError('BAD_IMAGE', `Cannot inspect ${rel}: ${(e as Error).message ?? String(e)}.`);
  return {
    type: 'result', path: rel, sha256, score: null, verdict: 'error', errorCode: err.code, error: err.message,
    heatmap: null, overlay: null, thumbnail: null, overlayThumbnail: null, width: null, height: null, at: new Date().toISOString(),
  };
}

/** Where a file's pictures go, relative to the output folder. */
export function pictureNames(rel: string): { heatmap: string; overlay: string; thumbnail: string; overlayThumbnail: string } {
  const safe = rel.split('/').filter((p) => p && p !== '..' && p !== '.').join('/');
  return {
    heatmap: `heatmaps/${safe}.map.png`,
    overlay: `heatmaps/${safe}.overlay.png`,
    thumbnail: `thumbs/${safe}.jpg`,
    overlayThumbnail: `thumbs/${safe}.overlay.jpg`,
  };
}

function toFileResult(r: LogResult, root: string, out: string, threshold: number, band: ReviewBand | null, resumed: boolean): InspectionFileResult {
  const abs = (p: string | null) => (p ? join(out, p) : null);
  return {
    path: join(root, r.path),
    rel: r.path,
    sha256: r.sha256,
    score: r.score,
    verdict: r.score === null ? 'error' : verdictOf(r.score, threshold, band),
    error: r.error,
    errorCode: r.errorCode,
    heatmap: abs(r.heatmap),
    overlay: abs(r.overlay),
    thumbnail: abs(r.thumbnail),
    overlayThumbnail: abs(r.overlayThumbnail),
    width: r.width,
    height: r.height,
    resumed,
  };
}

/** A file read, hashed and decoded, ready for the model. */
export type PreparedImage = { kind: 'image'; file: ScannedFile; sha256: string; chw: Float32Array; width: number; height: number };

export type Prepared =
  | { kind: 'done'; file: ScannedFile; record: LogResult }
  /** A result without inference: a file that could not be inspected, or bytes already scored under another name. */
  | { kind: 'record'; file: ScannedFile; record: LogResult; reused: boolean }
  | PreparedImage;

export interface FileInspectorOptions {
  /** The input folder (absolute): results name files relative to it. */
  input: string;
  /** The output folder (absolute): pictures go to its heatmaps/ and thumbs/. */
  out: string;
  threshold: number;
  /** Scores in (low, high] get the verdict review; null or absent: no band (common/review-band.ts). */
  reviewBand?: ReviewBand | null;
  log: ResultsLog;
  maxFileBytes?: number;
  maxPixels?: number;
  /**
   * Whether a file whose path and bytes already have an error result is inspected again
   * (default true: a re-run of `bgad inspect` retries them); false counts it as done.
   */
  retryErrors?: boolean;
}

/** One file's outcome from FileInspector.inspect. */
export interface InspectedFile {
  record: LogResult;
  result: InspectionFileResult;
  /** False when the file already had this result in results.jsonl (same path and bytes): nothing was written. */
  appended: boolean;
  /** True when no inference ran: the result was already there, or the same bytes were scored under another name. */
  resumed: boolean;
}

/**
 * The per-file inspection shared by `inspectFolder` (which batches and prefetches) and the
 * station (`bgad watch`, one file at a time): read the bytes safely, hash them, reuse or skip
 * against the results log, decode, score, write the pictures, append the result line.
 */
export class FileInspector {
  readonly scale: HeatScale;
  readonly input: InputGeometry;

  constructor(readonly model: InspectionModel, readonly o: FileInspectorOptions) {
    this.input = model.input;
    this.scale = heatScale(o.threshold, model.source.bundle.meta.calibration.mapMax);
  }

  /** Reads, hashes and decodes a file; never throws for a bad file (its error result comes back). */
  async prepare(file: ScannedFile): Promise<Prepared> {
    const { log } = this.o;
    let buf: Buffer;
    try {
      buf = await readImageBytes(file.path, { maxBytes: this.o.maxFileBytes });
    } catch (e) {
      return { kind: 'record', file, record: errorRecord(file.rel, null, e), reused: false };
    }
    const sha256 = createHash('sha256').update(buf).digest('hex');
    const prior = log.byPath.get(file.rel);
    if (prior && prior.sha256 === sha256 && (prior.verdict !== 'error' || this.o.retryErrors === false)) return { kind: 'done', file, record: prior };
    const same = log.bySha.get(sha256);
    if (same) return { kind: 'record', file, record: { ...same, path: file.rel, at: new Date().toISOString() }, reused: true }; // same bytes under another name
    try {
      const img = await loadImageTensorFromBuffer(buf, this.input, file.path, { maxPixels: this.o.maxPixels ?? DEFAULT_MAX_PIXELS });
      return { kind: 'image', file, sha256, chw: img.chw, width: img.info.width, height: img.info.height };
    } catch (e) {
      return { kind: 'record', file, record: errorRecord(file.rel, sha256, e), reused: false };
    }
  }

  /** Scores prepared images in one ONNX Runtime run. */
  async score(batch: PreparedImage[]): Promise<{ score: number; map: Float32Array }[]> {
    const { height: H, width: W } = this.input;
    const pixels = new Float32Array(batch.length * 3 * H * W);
    batch.forEach((p, j) => pixels.set(p.chw, j * 3 * H * W));
    return this.model.score(pixels, batch.length);
  }

  /**
   * Writes a scored image's heat map, overlay and thumbnails; returns its result line (not yet
   * appended). A picture that cannot be written gives an error result; a full disk throws.
   */
  async pictures(p: PreparedImage, score: number, map: Float32Array): Promise<LogResult> {
    const { out, threshold } = this.o;
    try {
      const names = pictureNames(p.file.rel);
      const pics = await renderHeatPictures(p.chw, map, this.input, p.width, p.height, this.scale);
      await writePictureFiles(out, names, pics);
      return {
        type: 'result', path: p.file.rel, sha256: p.sha256, score, verdict: verdictOf(score, threshold, this.o.reviewBand), errorCode: null, error: null,
        ...names, width: p.width, height: p.height, at: new Date().toISOString(),
      };
    } catch (e) {
      if (isAppError(e) && e.code === 'DISK_FULL') throw e;
      return errorRecord(p.file.rel, p.sha256, e);
    }
  }

  /** A result line as the reports see it (absolute paths, the verdict at this threshold). */
  toResult(r: LogResult, resumed: boolean): InspectionFileResult {
    return toFileResult(r, this.o.input, this.o.out, this.o.threshold, this.o.reviewBand ?? null, resumed);
  }

  /** Inspects one file end to end; a new result is flushed to results.jsonl before this resolves. */
  async inspect(file: ScannedFile): Promise<InspectedFile> {
    const p = await this.prepare(file);
    if (p.kind === 'done') return { record: p.record, result: this.toResult(p.record, true), appended: false, resumed: true };
    let record: LogResult;
    if (p.kind === 'record') record = p.record;
    else {
      const [r] = await this.score([p]);
      record = await this.pictures(p, r!.score, r!.map);
    }
    await this.o.log.append(record);
    const resumed = p.kind === 'record' && p.reused;
    return { record, result: this.toResult(record, resumed), appended: true, resumed };
  }
}

function validateOptions(o: InspectFolderOptions): void {
  if (o.threshold !== undefined && !Number.isFinite(o.threshold)) throw new AppError('BAD_ARGUMENT', `The threshold must be a finite number, got ${o.threshold}.`);
  for (const f of o.formats ?? []) if (!REPORT_FORMATS.includes(f)) throw new AppError('BAD_ARGUMENT', `Unknown report format "${f}".`, { hint: `Use ${REPORT_FORMATS.join(', ')}.` });
  for (const g of [...(o.include ?? []), ...(o.exclude ?? [])]) {
    const err = globError(g);
    if (err) throw new AppError('BAD_ARGUMENT', `Bad file pattern "${g}": ${err}.`);
  }
  if (o.threads !== undefined && (!Number.isInteger(o.threads) || o.threads < 1)) throw new AppError('BAD_ARGUMENT', `threads must be a positive integer, got ${o.threads}.`);
  if (o.maxFileBytes !== undefined && !(Number.isFinite(o.maxFileBytes) && o.maxFileBytes > 0)) throw new AppError('BAD_ARGUMENT', `The file size limit must be a positive number of bytes, got ${o.maxFileBytes}.`);
  if (o.batchSize !== undefined && (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > 64)) throw new AppError('BAD_ARGUMENT', `The batch size must be an integer from 1 to 64, got ${o.batchSize}.`);
}

export async function inspectFolder(opts: InspectFolderOptions): Promise<InspectionReport> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  validateOptions(opts);
  const input = resolve(opts.input);
  const out = resolve(opts.out);
  await checkOutputFolder(input, out);
  const source = await readModelSource(opts.model);
  const threshold = opts.threshold ?? source.bundle.meta.threshold;
  const reviewBand = resolveReviewBand(opts.reviewBand, source, threshold); // before the model is loaded: a usage error at once
  const model = await openInspectionModel(source, { ...opts, workers: opts.workers ?? true });
  let log: ResultsLog | null = null;
  let lock: OutputLock | null = null;
  try {
    const scan = await scanInputFolder(input, { include: opts.include, exclude: opts.exclude, skipDirs: [out] });
    await makeOutputFolder(out);
    // one inspection per output folder: a second one would append every result again
    lock = await lockOutputFolder(out, { command: opts.owner });
    log = await ResultsLog.open(join(out, RESULTS_FILE), { modelSha256: source.sha256, scoringSha256: source.scoringSha256, modelFile: source.file });
    await log.append({ type: 'run', startedAt, input, threshold, ...(reviewBand ? { reviewBand } : {}), pid: process.pid });
    const run = await runPipeline(model, scan.files, scan.unreadableDirs, { ...opts, input, out, threshold, reviewBand, log });
    await log.close();
    log = null;
    const results = run.results;
    const count = (v: Verdict) => results.filter((r) => r.verdict === v).length;
    const summary: InspectionReport = {
      input, out, model: modelInfo(source), threshold, thresholdSource: opts.threshold === undefined ? 'model' : 'override', reviewBand,
      total: results.length, pass: count('pass'), fail: count('fail'), error: count('error'), review: count('review'),
      resumed: results.filter((r) => r.resumed).length, inspected: run.inspected,
      results, startedAt, elapsedMs: 0, inspectMs: run.inspectMs,
      imagesPerSecond: run.inspected ? (run.inspected * 1000) / Math.max(1, run.inspectMs) : 0,
      msPerImage: run.inspected ? run.inspectMs / run.inspected : 0,
      peakRssMb: 0,
      reports: { jsonl: join(out, RESULTS_FILE) },
    };
    const formats = opts.formats ?? ['pdf', 'csv'];
    Object.assign(summary.reports, await writeReports(summary, formats, out));
    summary.elapsedMs = performance.now() - t0;
    summary.peakRssMb = process.resourceUsage().maxRSS / 1024;
    return summary;
  } finally {
    await log?.close().catch(() => undefined);
    await lock?.release();
    await model.dispose();
  }
}

interface PipelineOptions extends Omit<InspectFolderOptions, 'reviewBand'> {
  input: string;
  out: string;
  threshold: number;
  reviewBand: ReviewBand | null;
  log: ResultsLog;
}

async function runPipeline(model: InspectionModel, files: ScannedFile[], badDirs: { path: string; rel: string; reason: string }[], o: PipelineOptions) {
  // Batch 1 is the fastest on a CPU here: the scoring head's per-position tensors stay in cache.
  const B = o.batchSize ?? 1;
  // batches in flight: 2 when the backbone and the head run in their own threads (the next
  // batch's backbone runs while this one's head does), else 1
  const lanes = Math.max(1, model.concurrency ?? 1);
  const depth = Math.max(4, 2 * B * lanes);
  const { log } = o;
  const inspector = new FileInspector(model, o);
  const results = new Map<string, InspectionFileResult>();
  const total = files.length + badDirs.length;
  let done = 0;
  let inspected = 0;
  let tFirst = performance.now();
  let tLast = 0;

  const progress = () => {
    const now = performance.now();
    const rate = inspected && tFirst ? (inspected * 1000) / Math.max(1, now - tFirst) : 0;
    o.onProgress?.({
      fraction: total ? done / total : 1, done, total, imagesPerSecond: rate,
      etaMs: rate > 0 ? ((total - done) / rate) * 1000 : undefined,
      message: `inspecting ${done}/${total} files`,
    });
  };

  /** Records a result (flushed to results.jsonl unless it is already there), then reports it. */
  const finish = async (r: LogResult, how: { append: boolean; resumed: boolean }) => {
    if (how.append) await log.append(r);
    const res = inspector.toResult(r, how.resumed);
    results.set(r.path, res);
    done++;
    if (!how.resumed) { inspected++; tLast = performance.now(); }
    await o.onResult?.(res);
    progress();
  };
  const fresh = { append: true, resumed: false };

  for (const d of badDirs) {
    await finish(errorRecord(d.rel, null, new AppError('BAD_IMAGE', `Cannot read folder ${d.path}: ${d.reason}.`, { subject: d.path })), fresh);
  }

  const queue: Promise<Prepared>[] = [];
  let next = 0;
  const fill = () => {
    while (queue.length < depth && next < files.length) {
      const p = inspector.prepare(files[next++]!);
      p.catch(() => undefined);
      queue.push(p);
    }
  };
  const writes = new InFlight();

  const runBatch = async (batch: PreparedImage[]) => {
    const scored = await inspector.score(batch);
    batch.forEach((p, j) => {
      const { score, map } = scored[j]!;
      writes.add(inspector.pictures(p, score, map).then((r) => finish(r, fresh)));
    });
  };
  const scoring = new InFlight();

  fill();
  let batch: PreparedImage[] = [];
  try {
    while (queue.length || batch.length) {
      if (o.signal?.aborted) throw cancelled('The inspection');
      scoring.check();
      if (queue.length) {
        const item = await queue.shift()!;
        fill();
        if (item.kind === 'image') batch.push(item);
        else if (item.kind === 'done') writes.add(finish(item.record, { append: false, resumed: true }));
        else writes.add(finish(item.record, item.reused ? { append: true, resumed: true } : fresh));
      }
      if (batch.length >= B || (!queue.length && batch.length)) {
        const b = batch;
        batch = [];
        await scoring.drainTo(lanes - 1);
        scoring.add(runBatch(b));
        await writes.drainTo(2 * B * lanes);
      }
    }
    await scoring.drainTo(0);
    await writes.drainTo(0);
  } catch (e) {
    // finished results are kept: wait for the scoring and writes in flight, then report the cause
    await scoring.settle();
    await writes.settle();
    throw e;
  }
  const ordered = [...badDirs.map((d) => d.rel), ...files.map((f) => f.rel)].map((rel) => results.get(rel)!).filter(Boolean);
  return { results: ordered, inspected, inspectMs: inspected ? tLast - tFirst : 0 };
}

/** Work in flight whose first failure is kept and thrown by the next `check` or `drainTo`. */
class InFlight {
  private readonly running = new Set<Promise<void>>();
  private error: unknown = null;

  add(p: Promise<void>): void {
    const t: Promise<void> = p.catch((e) => { this.error ??= e; }).finally(() => this.running.delete(t));
    this.running.add(t);
  }

  check(): void {
    if (this.error) throw this.error;
  }

  /** Waits until at most `n` are running, then throws the first failure if any. */
  async drainTo(n: number): Promise<void> {
    while (this.running.size > n) await Promise.race(this.running);
    this.check();
  }

  /** Waits for all, never throws (after a failure elsewhere). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}

type Pictures = Awaited<ReturnType<typeof renderHeatPictures>>;

/** Writes a file's four pictures below the output folder, each atomically. */
async function writePictureFiles(out: string, names: ReturnType<typeof pictureNames>, pics: Pictures): Promise<void> {
  await Promise.all([
    writeOut(join(out, names.heatmap), pics.mapPng),
    writeOut(join(out, names.overlay), pics.overlayPng),
    writeOut(join(out, names.thumbnail), pics.thumbJpeg),
    writeOut(join(out, names.overlayThumbnail), pics.overlayThumbJpeg),
  ]);
}

async function writeOut(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, bytes);
}

export interface InspectImageOptions extends RuntimeOptions {
  /** A .bgad file, a bundle in memory, or a model already opened with openInspectionModel (kept open). */
  model: string | ModelBundle | InspectionModel;
  image: string;
  threshold?: number;
  /** A review band (`'model'`: the model's own, refused when it has none); absent: none. */
  reviewBand?: ReviewBand | 'model' | null;
  /** When given, the pictures are written there (as by inspectFolder, named after the file name). */
  out?: string;
  maxPixels?: number;
  /** Largest image file read, in bytes (default 1 GiB); larger files are refused unread. */
  maxFileBytes?: number;
}

/**
 * Inspects one image (used by the app). Expected failures (bad image, missing file) come back
 * as an `error` verdict with the reason, as in a batch; a model that cannot be used throws.
 * `map` is the raw anomaly map at the model's input height x width (row-major), null on error.
 */
export async function inspectImage(opts: InspectImageOptions): Promise<InspectionFileResult & { map: Float32Array | null; threshold: number }> {
  const opened = typeof opts.model === 'object' && 'score' in opts.model ? opts.model : null;
  const model = opened ?? (await openInspectionModel(opts.model as string | ModelBundle, opts));
  try {
    const S = model.input;
    const threshold = opts.threshold ?? model.source.bundle.meta.threshold;
    if (!Number.isFinite(threshold)) throw new AppError('BAD_ARGUMENT', `The threshold must be a finite number, got ${threshold}.`);
    const band = resolveReviewBand(opts.reviewBand, model.source, threshold);
    const path = resolve(opts.image);
    const rel = path.split(/[\\/]/).pop()!;
    const failed = (sha: string | null, e: unknown) => ({ ...toFileResult(errorRecord(rel, sha, e), dirname(path), opts.out ?? '', threshold, band, false), map: null, threshold });
    let buf: Buffer;
    try {
      buf = await readImageBytes(path, { maxBytes: opts.maxFileBytes });
    } catch (e) {
      return failed(null, e);
    }
    const sha256 = createHash('sha256').update(buf).digest('hex');
    let img;
    try {
      img = await loadImageTensorFromBuffer(buf, S, path, { maxPixels: opts.maxPixels });
    } catch (e) {
      if (!isAppError(e)) throw e;
      return failed(sha256, e);
    }
    const [r] = await model.score(img.chw, 1);
    let record: LogResult = {
      type: 'result', path: rel, sha256, score: r!.score, verdict: verdictOf(r!.score, threshold, band), errorCode: null, error: null,
      heatmap: null, overlay: null, thumbnail: null, overlayThumbnail: null, width: img.info.width, height: img.info.height, at: new Date().toISOString(),
    };
    if (opts.out) {
      const names = pictureNames(rel);
      const pics = await renderHeatPictures(img.chw, r!.map, S, img.info.width, img.info.height, heatScale(threshold, model.source.bundle.meta.calibration.mapMax));
      await writePictureFiles(resolve(opts.out), names, pics);
      record = { ...record, ...names };
    }
    return { ...toFileResult(record, dirname(path), opts.out ? resolve(opts.out) : '', threshold, band, false), map: r!.map, threshold };
  } finally {
    if (!opened) await model.dispose();
  }
}
