/**
 * Long-running work (import, training, batch inspection) as jobs: an id handed back at once,
 * progress/result/error pushed as ApiEvents to every window or browser tab, cancel by id.
 * The hub only bookkeeps and knows no transport (the HTTP server and the IPC handlers subscribe
 * to it); the work itself runs in the services / engine host.
 */
import { randomUUID } from 'node:crypto';
import type { ApiEvent, JobKind, JobState } from '../common/api';
import type { EngineProgress } from '../common/engine-protocol';
import { AppError, serializeError } from '../common/errors';

export type Awaitable<T> = T | Promise<T>;

/** Handed to a service that runs a job: report progress, stop when the signal aborts. */
export interface JobContext {
  jobId: string;
  signal: AbortSignal;
  progress(progress: EngineProgress): void;
}

/** A job that has started: its database row (when any) and its completion. */
export interface StartedJob<R> {
  runId?: number;
  done: Promise<R>;
}

export type EventListener = (event: ApiEvent) => void;

export interface JobHubOptions {
  /** Minimum time between two progress events of one job (the last one is never dropped). */
  progressIntervalMs?: number;
  /** How many finished jobs to remember for `jobs.get`/`jobs.list`. */
  keepFinished?: number;
}

interface Job {
  state: JobState;
  abort: AbortController;
  lastProgressMs: number;
  pending?: ReturnType<typeof setTimeout>;
}

export class JobHub {
  readonly #jobs = new Map<string, Job>();
  readonly #listeners = new Set<EventListener>();
  readonly #progressIntervalMs: number;
  readonly #keepFinished: number;

  constructor(opts: JobHubOptions = {}) {
    this.#progressIntervalMs = opts.progressIntervalMs ?? 50;
    this.#keepFinished = opts.keepFinished ?? 200;
  }

  /** Receives every event; returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: ApiEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch (e) {
        console.error('bgad: an event listener failed:', e);
      }
    }
  }

  /**
   * Starts a job: `begin` receives the job context and returns once the work has started
   * (with its database row id), so a failure to start is an error of the call itself.
   */
  async start<R>(kind: JobKind, begin: (ctx: JobContext) => Awaitable<StartedJob<R>>): Promise<{ jobId: string; runId?: number }> {
    const jobId = randomUUID();
    const abort = new AbortController();
    const job: Job = {
      state: { jobId, kind, status: 'running', progress: { fraction: 0 }, startedAtMs: Date.now() },
      abort,
      lastProgressMs: 0,
    };
    const ctx: JobContext = { jobId, signal: abort.signal, progress: (p) => this.#progress(job, p) };
    const started = await begin(ctx); // throws: nothing registered, the caller gets the error
    if (started.runId !== undefined) job.state.runId = started.runId;
    this.#jobs.set(jobId, job);
    started.done.then(
      (value) => this.#finish(job, { status: 'completed', result: value }),
      (e: unknown) => {
        const error = serializeError(e);
        this.#finish(job, { status: error.code === 'CANCELLED' || abort.signal.aborted ? 'cancelled' : 'failed', error });
      },
    );
    return started.runId === undefined ? { jobId } : { jobId, runId: started.runId };
  }

  #progress(job: Job, progress: EngineProgress): void {
    if (job.state.status !== 'running') return;
    job.state.progress = progress;
    const now = Date.now();
    const wait = job.lastProgressMs + this.#progressIntervalMs - now;
    if (wait <= 0) {
      job.lastProgressMs = now;
      this.#emit({ type: 'progress', jobId: job.state.jobId, kind: job.state.kind, progress });
    } else if (!job.pending) {
      job.pending = setTimeout(() => {
        job.pending = undefined;
        if (job.state.status !== 'running') return;
        job.lastProgressMs = Date.now();
        this.#emit({ type: 'progress', jobId: job.state.jobId, kind: job.state.kind, progress: job.state.progress });
      }, wait);
    }
  }

  #finish(job: Job, end: { status: 'completed'; result: unknown } | { status: 'failed' | 'cancelled'; error: ReturnType<typeof serializeError> }): void {
    if (job.pending) clearTimeout(job.pending);
    job.pending = undefined;
    const { state } = job;
    state.status = end.status;
    state.finishedAtMs = Date.now();
    if (end.status === 'completed') {
      state.progress = { ...state.progress, fraction: 1 };
      state.result = end.result;
      this.#emit({ type: 'result', jobId: state.jobId, kind: state.kind, value: end.result });
    } else {
      state.error = end.error;
      this.#emit({ type: 'error', jobId: state.jobId, kind: state.kind, error: end.error });
    }
    this.#prune();
  }

  #prune(): void {
    const finished = [...this.#jobs.values()].filter((j) => j.state.status !== 'running');
    for (const j of finished.slice(0, Math.max(0, finished.length - this.#keepFinished))) this.#jobs.delete(j.state.jobId);
  }

  get(jobId: string): JobState {
    const job = this.#jobs.get(jobId);
    if (!job) throw new AppError('NOT_FOUND', `No job with id ${jobId}.`, { hint: 'It may have finished before the app was restarted.' });
    return structuredClone(job.state);
  }

  list(): JobState[] {
    return [...this.#jobs.values()].map((j) => structuredClone(j.state)).sort((a, b) => b.startedAtMs - a.startedAtMs);
  }

  /** Asks a running job to stop; false when it is unknown or already finished. */
  cancel(jobId: string): boolean {
    const job = this.#jobs.get(jobId);
    if (!job || job.state.status !== 'running') return false;
    job.abort.abort(new AppError('CANCELLED', 'Cancelled by the user.'));
    return true;
  }

  /** Cancels every running job (shutdown). */
  cancelAll(): void {
    for (const id of this.#jobs.keys()) this.cancel(id);
  }
}
