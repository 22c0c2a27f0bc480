/**
 * The `station` group: the app's Station view runs one station at a time in this process, on
 * top of `runStation` (src-main/station): a watched folder inspected as images arrive, the
 * results written like `bgad watch` (results.jsonl, results.csv, heat maps, the event queue for
 * the webhook and MQTT) and stored in the database as an inspection run (so the Inspect view
 * and `inspection.exportReport` with a time range make a shift's report). The station belongs
 * to the services, not to a window or a tab: a reloaded page (browser mode) or a closed window
 * finds it again through `station.status`; it stops on `station.stop` or when the services
 * close (the app quits, the server stops).
 *
 * The station runs in a worker thread of its own (src-main/station/worker.ts, built to
 * dist/engine/station-worker.js; `runStationInWorker` below is this side): runStation scores
 * each image through onnxruntime-node, whose `run` is synchronous native work, so on this
 * event loop every image would hold the HTTP server or the desktop app's main process for its
 * inference. Results, notices and summaries come back as messages; they are stored in the
 * database here, on this thread, as they arrive.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ArgsOf, StationResultItem, StationRun, StationStatus } from '../common/api';
import { AppError, deserializeError, serializeError, type SerializedError } from '../common/errors';
import { toDataRef } from '../db/files';
import { addInspectionResult, createStationRun, finishInspectionRun, getInspectionRun, heartbeatInspectionRun, listStationRuns, type StationRunRecord } from '../db/inspections';
import { getModelVersion } from '../db/model-versions';
import type { Store } from '../db/store';
import { findEngineScript } from '../runtime/built-files';
import { DEFAULT_SETTLE_MS, STATION_WORKER_MARK, type Station, type StationEvent, type StationResult, type StationSummary, type StationWorkerMessage, type StationWorkerOptions } from '../station';
import type { GroupHandlers, ServiceContext } from './context';
import { bundlePath, runtimeOf, sha256Hex } from './engine-work';

export const DEFAULT_ALARM_AFTER_FAILS = 5;
const LAST_RESULTS = 12;
const RECENT_SCORES = 200;
const NOTICES = 10;

/** A URL without its user name and password (MQTT URLs may carry them): for the database and the UI. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.toString();
  } catch {
    return url;
  }
}

/** The default output folder of a watched folder: in the data folder, one per input (a restart continues it). */
export function defaultStationOut(dataDir: string, input: string): string {
  const name = basename(input).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 60) || 'folder';
  return join(dataDir, 'stations', `${name}-${sha256Hex(input).slice(0, 10)}`);
}

function checkFolder(path: string, what: string): string {
  const abs = resolve(path);
  if (!isAbsolute(path)) throw new AppError('BAD_ARGUMENT', `Give the full path of the ${what}, e.g. /srv/camera.`, { subject: path });
  const st = statSync(abs, { throwIfNoEntry: false });
  if (!st) throw new AppError('NOT_FOUND', `The ${what} ${abs} does not exist.`, { subject: abs, hint: 'Check the path, or create the folder first.' });
  if (!st.isDirectory()) throw new AppError('BAD_ARGUMENT', `The ${what} ${abs} is a file, not a folder.`, { subject: abs, hint: 'Choose a folder.' });
  return abs;
}

/** dist/engine/station-worker.js, the built station worker (scripts/build.mjs). */
export function stationWorkerPath(): string {
  const p = findEngineScript('station-worker.js');
  if (p) return p;
  throw new AppError('UNAVAILABLE', 'The station worker is not built (dist/engine/station-worker.js is missing).', { hint: 'Run "npm run build" in the BGAD Inspector folder.' });
}

export interface StationCallbacks {
  onResult?: (r: StationResult) => void;
  onEvent?: (e: StationEvent) => void;
  onSummary?: (s: StationSummary) => void;
}

/** A station running in the station worker, as the services see it (the Station interface of runStation). */
class WorkerStation implements Station {
  readonly done: Promise<void>;
  #summary: StationSummary;
  #ended = false;
  #settleDone!: (error: SerializedError | null) => void;
  #settleStop!: (error: SerializedError | null) => void;
  readonly #stopped: Promise<void>;

  constructor(private readonly worker: Worker, readonly input: string, readonly out: string, readonly threshold: number, summary: StationSummary) {
    this.#summary = summary;
    const settled = (set: (f: (e: SerializedError | null) => void) => void) => new Promise<void>((ok, fail) => set((e) => (e ? fail(deserializeError(e)) : ok())));
    this.done = settled((f) => { this.#settleDone = f; });
    this.done.catch(() => undefined);
    this.#stopped = settled((f) => { this.#settleStop = f; });
    this.#stopped.catch(() => undefined);
  }

  summary(): StationSummary {
    return { ...this.#summary, backlog: { ...this.#summary.backlog } };
  }

  update(summary: StationSummary): void {
    this.#summary = summary;
  }

  stop(): Promise<void> {
    if (!this.#ended) this.worker.postMessage({ type: 'stop' });
    return this.#stopped;
  }

  /** The station has stopped (or its thread ended): its outcomes, and the thread ended. */
  end(doneError: SerializedError | null, stopError: SerializedError | null): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#settleDone(doneError);
    this.#settleStop(stopError);
    void this.worker.terminate();
  }
}

/**
 * Starts a station in a worker thread of its own (src-main/station/worker.ts): resolves once it
 * watches, as runStation does; its results, notices and summaries reach `on` on this thread.
 */
export function runStationInWorker(options: StationWorkerOptions, on: StationCallbacks, workerPath = stationWorkerPath()): Promise<Station> {
  const worker = new Worker(workerPath, { workerData: STATION_WORKER_MARK });
  const safely = (f: () => void) => { try { f(); } catch { /* a caller's bug must not stop the line */ } };
  return new Promise<Station>((resolveStart, rejectStart) => {
    let station: WorkerStation | null = null;
    let failure: string | null = null;
    worker.on('message', (m: StationWorkerMessage) => {
      if (m.type === 'started') {
        station = new WorkerStation(worker, m.input, m.out, m.threshold, m.summary);
        resolveStart(station);
        return;
      }
      if (m.type === 'start-failed') {
        rejectStart(deserializeError(m.error));
        void worker.terminate();
        return;
      }
      if (m.type === 'end') {
        station?.update(m.summary);
        station?.end(m.doneError, m.stopError);
        return;
      }
      station?.update(m.summary);
      if (m.type === 'result') safely(() => on.onResult?.(m.result));
      else if (m.type === 'event') safely(() => on.onEvent?.(m.event));
      else if (m.periodic) safely(() => on.onSummary?.(m.summary));
    });
    worker.on('error', (e) => { failure ??= e.message; });
    worker.on('exit', (code) => {
      // the thread ended without its station's end (a crash): the station failed
      const error = serializeError(new AppError('ENGINE_FAILED', `The station worker stopped${failure ? `: ${failure}` : ` with code ${code}`}.`, { hint: 'Start the station again; if it repeats, report the log.' }));
      if (station) station.end(error, null);
      else rejectStart(deserializeError(error));
    });
    worker.postMessage({ type: 'start', options });
  });
}

/** One station started from the app: the runStation handle, its run, and what the Station view shows. */
class LiveStation {
  readonly id = `st-${randomBytes(6).toString('hex')}`;
  state: StationStatus['state'] = 'starting';
  error: StationStatus['error'] = null;
  station: Station | null = null;
  run: StationRunRecord | null = null;
  stoppedAtMs: number | null = null;
  readonly startedAtMs = Date.now();
  readonly last: StationResultItem[] = [];
  readonly scores: StationStatus['scores'] = [];
  readonly notices: StationStatus['notices'] = [];
  consecutiveFails = 0;
  /** consecutiveFails when the alarm was last acknowledged (a pass resets both). */
  ackedAt = 0;
  alarm: StationStatus['alarm'] = null;
  /** Results announced before the run row existed (recovered ones, during start). */
  private early: StationResult[] = [];
  private heartbeat: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  private finalSummary: ReturnType<Station['summary']> | null = null;

  constructor(
    private readonly store: Store,
    readonly spec: { input: string; out: string; moveTo: string | null; settleMs: number; webhook: string | null; mqtt: { url: string; topic: string } | null; alarmAfterFails: number; modelId: number; modelNumber: number; datasetId: number },
  ) {}

  /** The run row exists: results from now on go straight to it, the early ones first. */
  attach(run: StationRunRecord, heartbeatMs: number): void {
    this.run = run;
    this.state = 'running';
    for (const r of this.early.splice(0)) this.store1(r);
    this.heartbeat = setInterval(() => {
      try {
        heartbeatInspectionRun(this.store, run.id);
      } catch {
        // the database is busy or gone: the next heartbeat or result tries again
      }
    }, heartbeatMs);
    this.heartbeat.unref?.();
  }

  onResult(r: StationResult): void {
    const res = r.result;
    const timeMs = Date.parse(r.event.time) || Date.now();
    this.last.unshift({
      path: res.path, rel: res.rel, score: res.score, verdict: res.verdict, error: res.error,
      imagePath: res.thumbnail, heatmapPath: res.heatmap, overlayPath: res.overlayThumbnail, movedTo: r.movedTo, timeMs, latencyMs: r.event.latencyMs,
    });
    this.last.length = Math.min(this.last.length, LAST_RESULTS);
    if (res.score !== null && res.verdict !== 'error') {
      this.scores.push({ timeMs, score: res.score, verdict: res.verdict });
      if (this.scores.length > RECENT_SCORES) this.scores.splice(0, this.scores.length - RECENT_SCORES);
    }
    this.count(res.verdict, res.rel, timeMs);
    if (this.run) this.store1(r);
    else this.early.push(r);
  }

  /** Fails in a row raise the alarm after alarmAfterFails (counted from the last acknowledgement); a pass ends the streak (a review or an error neither ends nor extends it). */
  private count(verdict: StationResultItem['verdict'], rel: string, timeMs: number): void {
    if (verdict === 'pass') {
      this.consecutiveFails = 0;
      this.ackedAt = 0;
    } else if (verdict === 'fail') {
      this.consecutiveFails++;
      if (!this.alarm && this.consecutiveFails - this.ackedAt >= this.spec.alarmAfterFails) this.alarm = { raisedAtMs: timeMs, fails: this.consecutiveFails, path: rel };
    }
  }

  acknowledge(): void {
    this.alarm = null;
    this.ackedAt = this.consecutiveFails;
  }

  /** One result into the run's rows (idempotent by content); a failure is a notice, the line goes on. */
  private store1(r: StationResult): void {
    const res = r.result;
    const root = this.store.layout.root;
    const rel = res.heatmap ? relative(root, res.heatmap) : '';
    try {
      addInspectionResult(this.store, {
        runId: this.run!.id,
        path: res.path,
        // a file that could not be read has no content hash; its path stands in (one row per file)
        sha256: res.sha256 ?? sha256Hex(`unreadable\0${res.path}`),
        score: res.score,
        verdict: res.verdict,
        heatmapFile: res.heatmap && rel && !rel.startsWith('..') && !isAbsolute(rel) ? toDataRef(root, res.heatmap) : null,
        error: res.error,
      });
    } catch (e) {
      this.notice('warning', `The result of ${res.rel} could not be stored in the database (${(e as Error).message}); it is in ${this.spec.out}/results.jsonl.`);
    }
  }

  onEvent(e: StationEvent): void {
    if (e.type === 'sink-down') this.notice('sink-down', `The ${e.sink} receiver ${redactUrl(e.target)} is not answering (${e.error}); events wait on disk and are retried.`);
    else if (e.type === 'sink-up') this.notice('sink-up', `The ${e.sink} receiver ${redactUrl(e.target)} answers again after ${e.failures} failed tries.`);
    else if (e.type === 'dead-letter') this.notice('dead-letter', `The ${e.sink} receiver refused the event of ${e.path}${e.status ? ` (${e.status})` : ''}: ${e.error}. It is kept in the dead-letter file.`);
    else if (e.type === 'warning') this.notice('warning', e.message);
  }

  private notice(kind: StationStatus['notices'][number]['kind'], message: string): void {
    this.notices.unshift({ timeMs: Date.now(), kind, message });
    this.notices.length = Math.min(this.notices.length, NOTICES);
  }

  /** Stops the station and closes its run (completed, or failed when the station had stopped on an error). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.state === 'running' || this.state === 'starting') this.state = 'stopping';
      let failure: unknown = this.state === 'failed' ? this.error : null;
      try {
        await this.station?.stop();
      } catch (e) {
        failure ??= e;
      }
      await this.station?.done.catch((e: unknown) => { failure ??= e; });
      this.finish(failure);
    })();
    return this.stopping;
  }

  /** The station stopped on its own (disk full, output not writable). */
  failed(e: unknown): void {
    if (this.state === 'stopped' || this.state === 'failed') return;
    this.state = 'failed';
    this.error = serializeError(e);
    this.notice('warning', `The station stopped: ${(e as Error)?.message ?? String(e)}`);
    void this.stop();
  }

  private finish(failure: unknown): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.finalSummary = this.station?.summary() ?? null;
    this.stoppedAtMs = Date.now();
    if (failure !== null && failure !== undefined) {
      this.state = 'failed';
      this.error ??= serializeError(failure);
    } else if (this.state !== 'failed') this.state = 'stopped';
    if (!this.run) return;
    try {
      if (getInspectionRun(this.store, this.run.id).status === 'running') {
        finishInspectionRun(this.store, { runId: this.run.id, status: this.state === 'failed' ? 'failed' : 'completed', error: this.state === 'failed' ? this.error?.message : undefined });
      }
    } catch (e) {
      console.error(`bgad: closing the station's inspection run #${this.run.id} failed: ${(e as Error).message}`);
    }
  }

  status(): StationStatus {
    const s = this.finalSummary ?? this.station?.summary() ?? null;
    const { spec } = this;
    return {
      stationId: this.id, runId: this.run?.id ?? 0, modelId: spec.modelId, modelNumber: spec.modelNumber, datasetId: spec.datasetId,
      state: this.state, error: this.error, input: spec.input, out: spec.out, moveTo: spec.moveTo, settleMs: spec.settleMs,
      webhook: spec.webhook ? redactUrl(spec.webhook) : null, mqtt: spec.mqtt ? { url: redactUrl(spec.mqtt.url), topic: spec.mqtt.topic } : null,
      threshold: this.station?.threshold ?? this.run?.threshold ?? 0, startedAtMs: this.startedAtMs, stoppedAtMs: this.stoppedAtMs,
      reviewBand: this.run?.reviewBand ?? null,
      counts: { total: s?.total ?? 0, pass: s?.pass ?? 0, fail: s?.fail ?? 0, error: s?.error ?? 0, review: s?.review ?? 0 },
      yield: s?.yield ?? null, imagesPerSecond: this.finalSummary ? 0 : s?.imagesPerSecond ?? 0, pendingFiles: this.finalSummary ? 0 : s?.pendingFiles ?? 0, backlog: s?.backlog ?? {},
      last: [...this.last], scores: [...this.scores], consecutiveFails: this.consecutiveFails, alarmAfterFails: spec.alarmAfterFails, alarm: this.alarm, notices: [...this.notices],
    };
  }
}

/** The one station of these services (one at a time), and the folders of station runs the UI may show. */
export class StationManager {
  #current: LiveStation | null = null;
  #roots: { atMs: number; roots: string[] } | null = null;

  constructor(private readonly ctx: ServiceContext) {}

  get current(): LiveStation | null {
    return this.#current;
  }

  async start(args: ArgsOf<'station.start'>): Promise<{ stationId: string; runId: number }> {
    const { store } = this.ctx;
    const cur = this.#current;
    if (cur && (cur.state === 'starting' || cur.state === 'running' || cur.state === 'stopping')) {
      throw new AppError('CONFLICT', `A station is already ${cur.state === 'stopping' ? 'stopping' : 'running'} on ${cur.spec.input}.`, { hint: 'Stop it first; one station runs at a time.' });
    }
    const mv = getModelVersion(store, args.modelId);
    const bundle = bundlePath(store, mv);
    const input = checkFolder(args.input, 'input folder');
    const out = args.out ? resolve(args.out) : defaultStationOut(store.layout.root, input);
    if (args.out && !isAbsolute(args.out)) throw new AppError('BAD_ARGUMENT', 'Give the full path of the output folder, e.g. /srv/line2-results.', { subject: args.out });
    const moveTo = args.moveTo ? resolve(args.moveTo) : null;
    if (args.moveTo && !isAbsolute(args.moveTo)) throw new AppError('BAD_ARGUMENT', 'Give the full path of the move-to folder, e.g. /srv/camera-done.', { subject: args.moveTo });
    const live = new LiveStation(store, {
      input, out, moveTo, settleMs: args.settleMs ?? DEFAULT_SETTLE_MS, webhook: args.webhook ?? null, mqtt: args.mqtt ?? null,
      alarmAfterFails: args.alarmAfterFails ?? DEFAULT_ALARM_AFTER_FAILS, modelId: mv.id, modelNumber: mv.number, datasetId: mv.datasetId,
    });
    this.#current = live;
    try {
      live.station = await runStationInWorker({
        model: bundle, modelVersion: String(mv.number), input, out, moveTo: moveTo ?? undefined, settleMs: live.spec.settleMs,
        webhook: args.webhook, mqtt: args.mqtt, threshold: mv.threshold ?? undefined, reviewBand: mv.reviewBand, cacheDir: store.layout.root, owner: 'the BGAD Inspector Station view',
        ...(await runtimeOf(this.ctx)),
      }, {
        onResult: (r) => live.onResult(r),
        onEvent: (e) => live.onEvent(e),
      });
    } catch (e) {
      this.#current = cur; // nothing started: the last station stays on show
      throw e;
    }
    live.station.done.catch((e: unknown) => live.failed(e));
    try {
      const run = createStationRun(store, {
        modelVersionId: mv.id, input, out, moveTo, threshold: live.station.threshold, reviewBand: mv.reviewBand,
        options: { settleMs: live.spec.settleMs, alarmAfterFails: live.spec.alarmAfterFails, webhook: args.webhook ? redactUrl(args.webhook) : null, mqtt: args.mqtt ? { url: redactUrl(args.mqtt.url), topic: args.mqtt.topic } : null },
      });
      live.attach(run, this.ctx.heartbeatMs ?? 15_000);
      this.#roots = null;
      return { stationId: live.id, runId: run.id };
    } catch (e) {
      await live.stop().catch(() => undefined);
      this.#current = cur;
      throw e;
    }
  }

  #live(stationId: string): LiveStation {
    const cur = this.#current;
    if (!cur || cur.id !== stationId) throw new AppError('NOT_FOUND', `There is no station ${stationId}.`, { hint: 'Reload the Station view: the station may have been stopped or replaced.' });
    return cur;
  }

  async stop(stationId: string): Promise<{ stopped: boolean }> {
    const live = this.#live(stationId);
    if (live.state === 'starting') throw new AppError('CONFLICT', 'The station is still starting (loading the model, scanning the folder).', { hint: 'Stop it in a moment, once it runs.' });
    const wasRunning = live.state !== 'stopped' && live.state !== 'failed';
    await live.stop();
    return { stopped: wasRunning };
  }

  status(): StationStatus | null {
    return this.#current?.status() ?? null;
  }

  acknowledge(stationId: string): StationStatus {
    const live = this.#live(stationId);
    live.acknowledge();
    return live.status();
  }

  /** Output and move-to folders of station runs (their heat maps and moved images may lie outside the data folder), cached briefly. */
  fileRoots(fresh = false): string[] {
    const t = Date.now();
    if (!fresh && this.#roots && t - this.#roots.atMs < 2000) return this.#roots.roots;
    const roots = new Set<string>();
    const cur = this.#current?.spec;
    if (cur) [cur.out, cur.moveTo].forEach((p) => p && roots.add(p));
    try {
      for (const r of listStationRuns(this.ctx.store, { limit: 10_000 })) [r.out, r.moveTo].forEach((p) => p && roots.add(p));
    } catch {
      // an older schema (read-only data folder): only the running station's folders
    }
    this.#roots = { atMs: t, roots: [...roots].filter((p) => isAbsolute(p) && existsSync(p)) };
    return this.#roots.roots;
  }

  /** Stops the running station (the services are closing). */
  async shutdown(): Promise<void> {
    await this.#current?.stop().catch(() => undefined);
  }
}

const managers = new WeakMap<ServiceContext, StationManager>();

/** The station manager of a service context (one per context: the handlers and the host's close share it). */
export function stationManager(ctx: ServiceContext): StationManager {
  let m = managers.get(ctx);
  if (!m) managers.set(ctx, (m = new StationManager(ctx)));
  return m;
}

function toStationRun(r: StationRunRecord): StationRun {
  const { options: _options, ...run } = r;
  return run;
}

export function stationHandlers(ctx: ServiceContext): GroupHandlers<'station'> {
  const m = stationManager(ctx);
  return {
    'station.start': (a) => m.start(a),
    'station.stop': (a) => m.stop(a.stationId),
    'station.status': async () => m.status(),
    'station.acknowledgeAlarm': async (a) => m.acknowledge(a.stationId),
    'station.runs': async (a) => listStationRuns(ctx.store, { limit: a.limit }).map(toStationRun),
  };
}
