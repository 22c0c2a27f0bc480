/**
 * Station mode (`bgad watch`, the app's Station view): inspects the images a line drops into a
 * folder as they arrive, and tells the line.
 *
 * Per file, in this order: complete (settled) -> inspected by the FileInspector `bgad inspect`
 * uses -> its line flushed to results.jsonl -> its row flushed to results.csv -> its event
 * flushed to the queue on disk (station/events.jsonl) -> moved (--move-to) -> announced
 * (onResult). The sinks deliver the queue on their own, so an unreachable receiver never holds
 * up inspection.
 *
 * Restart: files that arrived meanwhile are found by the start scan and inspected; files
 * already in results.jsonl (same path and bytes) are not inspected or announced again; a result
 * written just before a crash whose event was not yet queued is queued and announced on start
 * (`recovered`); events not yet delivered are sent. Results of `bgad watch` runs are told from
 * those of `bgad inspect` by their run line (`"command":"bgad watch"`).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { AppError } from '../common/errors';
import { globError } from '../inspection/glob';
import { FileInspector, resolveReviewBand, type Prepared } from '../inspection/inspect';
import type { ReviewBand } from '../common/records';
import { checkOutputFolder, lockOutputFolder, makeOutputFolder, type OutputLock } from '../inspection/output-folder';
import { RESULTS_FILE, ResultsLog, type LogResult } from '../inspection/results-log';
import type { ScannedFile } from '../inspection/scan';
import { readModelSource, type ModelSource } from '../model/bundle-file';
import { openInspectionModel, type InspectionModel } from '../model/scorer';
import type { InspectionFileResult } from '../model/records';
import { CSV_FILE, CsvLog } from './csv-log';
import { Delivery, type Sink } from './delivery';
import { EventQueue } from './event-queue';
import { moveInspected } from './move';
import { MqttSink, parseMqttOptions } from './mqtt';
import type { ResultEvent, Station, StationEvent, StationOptions, StationResult, StationSummary } from './types';
import { FolderWatcher } from './watcher';
import { parseWebhookUrl, WebhookSink } from './webhook';

export const WATCH_COMMAND = 'bgad watch';
export const DEFAULT_SETTLE_MS = 1000;

/** The stable id of a result's event: the same result line always gives the same id. */
export function eventId(r: Pick<LogResult, 'path' | 'sha256' | 'at'>): string {
  return createHash('sha256').update(`${r.path}\n${r.sha256 ?? ''}\n${r.at}`).digest('hex').slice(0, 32);
}

export function resultEvent(record: LogResult, result: InspectionFileResult, o: { input: string; threshold: number; reviewBand?: ReviewBand | null; source: ModelSource; modelVersion: string | null; latencyMs: number | null }): ResultEvent {
  return {
    id: eventId(record),
    type: 'inspection.result',
    path: record.path,
    input: o.input,
    sha256: record.sha256,
    score: record.score,
    verdict: result.verdict,
    threshold: o.threshold,
    ...(o.reviewBand ? { reviewBand: o.reviewBand } : {}),
    errorCode: record.errorCode,
    error: record.error,
    model: { version: o.modelVersion, file: o.source.file ? basename(o.source.file) : null, sha256: o.source.sha256 },
    time: record.at,
    latencyMs: o.latencyMs === null ? null : Math.round(o.latencyMs),
  };
}

function validate(o: StationOptions): void {
  const bad = (m: string) => new AppError('BAD_ARGUMENT', m);
  if (o.threshold !== undefined && !Number.isFinite(o.threshold)) throw bad(`The threshold must be a finite number, got ${o.threshold}.`);
  if (o.settleMs !== undefined && !(Number.isFinite(o.settleMs) && o.settleMs >= 0)) throw bad(`The settle time must be a number of milliseconds >= 0, got ${o.settleMs}.`);
  for (const g of [...(o.include ?? []), ...(o.exclude ?? [])]) {
    const err = globError(g);
    if (err) throw bad(`Bad file pattern "${g}": ${err}.`);
  }
  if (o.threads !== undefined && (!Number.isInteger(o.threads) || o.threads < 1)) throw bad(`threads must be a positive integer, got ${o.threads}.`);
  if (o.webhook !== undefined) parseWebhookUrl(o.webhook);
  if (o.mqtt !== undefined) parseMqttOptions(o.mqtt);
  const input = resolve(o.input);
  if (o.moveTo !== undefined) {
    const m = resolve(o.moveTo);
    if (m === input || input.startsWith(m + sep) || m === resolve(o.out)) throw bad(`The --move-to folder ${m} must not be the input folder, hold it, or be the output folder.`);
  }
}

/** Result lines that `bgad watch` runs wrote (those after a run line of theirs). */
async function watchResults(path: string): Promise<LogResult[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const out: LogResult[] = [];
  let ours = false;
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    let l: { type?: string; command?: string };
    try {
      l = JSON.parse(raw);
    } catch {
      continue;
    }
    if (l.type === 'run') ours = l.command === WATCH_COMMAND;
    else if (l.type === 'result' && ours) out.push(l as LogResult);
  }
  return out;
}

/** Starts a station; resolves once it watches (the folder's waiting files are being settled). */
export async function runStation(opts: StationOptions): Promise<Station> {
  validate(opts);
  const input = resolve(opts.input);
  const out = resolve(opts.out);
  const moveTo = opts.moveTo === undefined ? null : resolve(opts.moveTo);
  const st = await stat(input).catch((e) => { throw new AppError('NOT_FOUND', `The input folder ${input} does not exist.`, { subject: input, hint: 'Check the --input path.', cause: e }); });
  if (!st.isDirectory()) throw new AppError('BAD_ARGUMENT', `The input ${input} is not a folder.`, { subject: input });
  await checkOutputFolder(input, out);
  const source = await readModelSource(opts.model);
  const threshold = opts.threshold ?? source.bundle.meta.threshold;
  const reviewBand = resolveReviewBand(opts.reviewBand, source, threshold);
  const model = await openInspectionModel(source, opts);
  const emit = (e: StationEvent) => { try { opts.onEvent?.(e); } catch { /* a caller's bug must not stop the line */ } };
  let lock: OutputLock | null = null;
  let log: ResultsLog | null = null;
  let csv: CsvLog | null = null;
  let queue: EventQueue | null = null;
  const sinks: Sink[] = [];
  const cleanup = async () => {
    await Promise.allSettled(sinks.map((s) => s.close()));
    await Promise.allSettled([queue?.close(), csv?.close(), log?.close()]);
    await lock?.release();
    await model.dispose();
  };
  let core: StationCore | null = null;
  try {
    await makeOutputFolder(out);
    lock = await lockOutputFolder(out, { command: opts.owner ?? WATCH_COMMAND });
    log = await ResultsLog.open(join(out, RESULTS_FILE), { modelSha256: source.sha256, scoringSha256: source.scoringSha256, modelFile: source.file });
    const earlier = await watchResults(join(out, RESULTS_FILE));
    await log.append({ type: 'run', startedAt: new Date().toISOString(), input, threshold, ...(reviewBand ? { reviewBand } : {}), pid: process.pid, command: WATCH_COMMAND });
    const inspector = new FileInspector(model, { input, out, threshold, reviewBand, log, maxFileBytes: opts.maxFileBytes, maxPixels: opts.maxPixels, retryErrors: false });
    csv = await CsvLog.open(join(out, CSV_FILE), [...log.byPath.values()].map((r) => inspector.toResult(r, true)));
    if (opts.webhook) sinks.push(new WebhookSink(opts.webhook, opts.webhookTimeoutMs));
    if (opts.mqtt) sinks.push(new MqttSink(opts.mqtt));
    queue = await EventQueue.open(out, sinks.map((s) => s.name));
    const deliveries = sinks.map((s) => new Delivery(queue!, s, emit, opts.retry));
    core = new StationCore({ opts, input, out, moveTo, threshold, reviewBand, source, model, inspector, log, csv, queue, deliveries, emit, cleanup });
    await core.start(earlier);
    return core;
  } catch (e) {
    // a half-started station is stopped whole (its worker, deliveries and files)
    await (core ? core.stop() : cleanup()).catch(() => undefined);
    throw e;
  }
}

interface CoreParts {
  opts: StationOptions;
  input: string;
  out: string;
  moveTo: string | null;
  threshold: number;
  reviewBand: ReviewBand | null;
  source: ModelSource;
  model: InspectionModel;
  inspector: FileInspector;
  log: ResultsLog;
  csv: CsvLog;
  queue: EventQueue;
  deliveries: Delivery[];
  emit: (e: StationEvent) => void;
  cleanup: () => Promise<void>;
}

interface Job {
  file: ScannedFile;
  settledAt: number;
  prepared: Promise<Prepared> | null;
}

/** How many files ahead are read and decoded while the current one is scored. */
const PREFETCH = 2;

class StationCore implements Station {
  readonly input: string;
  readonly out: string;
  readonly threshold: number;
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (e: unknown) => void;
  private watcher: FolderWatcher | null = null;
  private readonly jobs: Job[] = [];
  /** Paths queued or being inspected; 'again' when the file changed meanwhile. */
  private readonly active = new Map<string, 'queued' | 'again'>();
  private wakeWorker: (() => void) | null = null;
  private worker: Promise<void> | null = null;
  private stopping = false;
  private shutdown: Promise<void> | null = null;
  private failure: unknown = null;
  private readonly counts = { total: 0, pass: 0, fail: 0, error: 0, review: 0 };
  private readonly recent: number[] = [];
  private readonly t0 = Date.now();
  private summaryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly p: CoreParts) {
    this.input = p.input;
    this.out = p.out;
    this.threshold = p.threshold;
    this.done = new Promise<void>((res, rej) => { this.resolveDone = res; this.rejectDone = rej; });
    this.done.catch(() => undefined);
  }

  async start(earlier: LogResult[]): Promise<void> {
    const { p } = this;
    // results written just before a crash, whose events never reached the queue
    for (const record of earlier) {
      if (p.queue.has(eventId(record))) continue;
      await this.publish(record, p.inspector.toResult(record, true), null, null, true);
    }
    for (const d of p.deliveries) d.start();
    this.worker = this.work();
    const skipDirs = [p.out, ...(p.moveTo ? [p.moveTo] : [])];
    this.watcher = await FolderWatcher.start({
      input: p.input, include: p.opts.include, exclude: p.opts.exclude, skipDirs, settleMs: p.opts.settleMs ?? DEFAULT_SETTLE_MS, usePolling: p.opts.usePolling,
      onFile: (f, at) => this.enqueue(f, at),
      onUnreadableDir: (d) => p.emit({ type: 'warning', message: `Cannot read folder ${d.path}: ${d.reason}.`, path: d.path }),
      onError: (e) => p.emit({ type: 'warning', message: `The folder watcher reported: ${(e as Error)?.message ?? String(e)}` }),
    });
    const interval = p.opts.summaryIntervalMs ?? 60_000;
    if (interval > 0) this.summaryTimer = setInterval(() => { try { p.opts.onSummary?.(this.summary()); } catch { /* ignore */ } }, interval);
    p.emit({ type: 'started', input: p.input, out: p.out, threshold: p.threshold, reviewBand: p.reviewBand, pending: this.pending(), backlog: this.backlog() });
  }

  private backlog(): Record<string, number> {
    return Object.fromEntries(this.p.deliveries.map((d) => [d.sink.name, d.backlog]));
  }

  private pending(): number {
    return (this.watcher?.settling ?? 0) + this.active.size;
  }

  summary(): StationSummary {
    const now = Date.now();
    const windowMs = Math.min(this.p.opts.summaryIntervalMs || 60_000, Math.max(1, now - this.t0));
    while (this.recent.length && this.recent[0]! < now - windowMs) this.recent.shift();
    const c = this.counts;
    return {
      at: new Date(now).toISOString(), uptimeMs: now - this.t0, ...c,
      yield: c.total ? c.pass / c.total : null,
      imagesPerSecond: (this.recent.length * 1000) / windowMs,
      pendingFiles: this.pending(), backlog: this.backlog(),
    };
  }

  private enqueue(file: ScannedFile, settledAt: number): void {
    if (this.stopping) return;
    if (this.active.has(file.path)) {
      this.active.set(file.path, 'again');
      return;
    }
    this.active.set(file.path, 'queued');
    this.jobs.push({ file, settledAt, prepared: null });
    const w = this.wakeWorker;
    this.wakeWorker = null;
    w?.();
  }

  private async work(): Promise<void> {
    while (!this.stopping) {
      const job = this.jobs.shift();
      if (!job) {
        await new Promise<void>((r) => { this.wakeWorker = r; });
        continue;
      }
      for (const j of [job, ...this.jobs.slice(0, PREFETCH)]) {
        if (!j.prepared) {
          j.prepared = this.p.inspector.prepare(j.file);
          j.prepared.catch(() => undefined);
        }
      }
      try {
        await this.handle(job);
      } catch (e) {
        this.fail(e);
        return;
      } finally {
        const again = this.active.get(job.file.path) === 'again';
        this.active.delete(job.file.path);
        if (again && !this.stopping) this.watcher?.recheck(job.file.path);
      }
    }
  }

  private async handle(job: Job): Promise<void> {
    const { inspector, log, moveTo } = this.p;
    const prepared = await job.prepared!;
    if (prepared.kind === 'done') {
      // inspected before (a restart, or the same bytes again): not announced again; a file
      // whose move was cut short by a crash is moved now
      if (moveTo) await this.move(job.file, inspector.toResult(prepared.record, true).verdict);
      return;
    }
    let record: LogResult;
    if (prepared.kind === 'record') record = prepared.record;
    else {
      const [s] = await inspector.score([prepared]);
      record = await inspector.pictures(prepared, s!.score, s!.map);
    }
    await log.append(record);
    const result = inspector.toResult(record, prepared.kind === 'record' && prepared.reused);
    await this.publish(record, result, job.file, Date.now() - job.settledAt, false);
  }

  /** The steps after the result line: CSV row, queued event, move, announcement. */
  private async publish(record: LogResult, result: InspectionFileResult, file: ScannedFile | null, latencyMs: number | null, recovered: boolean): Promise<void> {
    const { p } = this;
    if (!recovered) await p.csv.append(result);
    const event = resultEvent(record, result, { input: p.input, threshold: p.threshold, reviewBand: p.reviewBand, source: p.source, modelVersion: p.opts.modelVersion ?? null, latencyMs });
    await p.queue.push(event);
    const movedTo = p.moveTo && file ? await this.move(file, result.verdict) : null;
    this.counts.total++;
    this.counts[result.verdict]++;
    const now = Date.now();
    this.recent.push(now);
    while (this.recent[0]! < now - Math.max(60_000, this.p.opts.summaryIntervalMs ?? 0)) this.recent.shift();
    const r: StationResult = { result, record, event, movedTo, recovered };
    try {
      p.opts.onResult?.(r);
    } catch (e) {
      p.emit({ type: 'warning', message: `onResult failed: ${(e as Error)?.message ?? String(e)}` });
    }
  }

  private async move(file: ScannedFile, verdict: InspectionFileResult['verdict']): Promise<string | null> {
    try {
      return await moveInspected(file.path, file.rel, this.p.moveTo!, verdict);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null; // already gone
      this.p.emit({ type: 'warning', message: `Cannot move ${file.path} to ${this.p.moveTo}/${verdict}: ${(e as Error)?.message ?? String(e)}`, path: file.path });
      return null;
    }
  }

  private fail(e: unknown): void {
    this.failure ??= e;
    void this.stop();
  }

  stop(): Promise<void> {
    this.shutdown ??= this.close();
    return this.shutdown;
  }

  private async close(): Promise<void> {
    const { p } = this;
    this.stopping = true;
    if (this.summaryTimer) clearInterval(this.summaryTimer);
    const errors: unknown[] = [];
    const attempt = async (f: () => Promise<unknown> | undefined) => { try { await f(); } catch (e) { errors.push(e); } };
    await attempt(() => this.watcher?.close());
    const w = this.wakeWorker;
    this.wakeWorker = null;
    w?.();
    await this.worker; // the current file is finished
    await Promise.allSettled(this.jobs.map((j) => j.prepared).filter(Boolean));
    await Promise.all(p.deliveries.map((d) => d.stop(this.failure ? 0 : (p.opts.drainMs ?? 2000))));
    p.emit({ type: 'stopped', backlog: this.backlog() });
    await attempt(() => p.cleanup());
    const err = this.failure ?? errors[0];
    if (err) this.rejectDone(err);
    else this.resolveDone();
    if (this.failure === null && errors.length) throw errors[0];
  }
}

