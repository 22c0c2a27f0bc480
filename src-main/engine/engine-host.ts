/**
 * The caller's side of the engine in Node: starts the engine worker thread, runs jobs by
 * kind with progress events and cancellation. A cancelled job that has not stopped within
 * `hardCancelMs` has its worker terminated (and a fresh one started for the next job), so
 * cancelling always takes effect within about a second. The caller's event loop only relays
 * messages: no ONNX Runtime work ever runs on it.
 */
import { Worker } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import type { EngineEvent, EngineProgress } from '../common/engine-protocol';
import { AppError, deserializeError } from '../common/errors';
import { findEngineScript } from '../runtime/built-files';

export interface RunOptions {
  onProgress?: (p: EngineProgress) => void;
  signal?: AbortSignal;
}

interface Pending {
  worker: Worker;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onProgress?: (p: EngineProgress) => void;
  kill?: ReturnType<typeof setTimeout>;
}


export function defaultWorkerPath(): string {
  const p = findEngineScript('worker.js');
  if (p) return p;
  throw new AppError('UNAVAILABLE', 'The engine is not built (dist/engine/worker.js is missing).', { hint: 'Run "npm run build" in the BGAD Inspector folder.' });
}

export class EngineHost {
  private worker: Worker | null = null;
  private readonly pending = new Map<string, Pending>();
  private readonly logListeners = new Set<(level: string, message: string) => void>();

  constructor(private readonly workerPath = defaultWorkerPath(), private readonly hardCancelMs = 800) {}

  onLog(l: (level: string, message: string) => void): () => void {
    this.logListeners.add(l);
    return () => this.logListeners.delete(l);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.workerPath);
    w.on('message', (e: EngineEvent) => this.onEvent(e));
    w.on('error', (err) => this.failAll(w, new AppError('ENGINE_FAILED', `The engine stopped: ${err.message}`, { hint: 'Try again; if it repeats, report the log.' })));
    w.on('exit', (code) => {
      if (this.worker === w) this.worker = null;
      if (code !== 0) this.failAll(w, new AppError('ENGINE_FAILED', `The engine exited with code ${code}.`, { hint: 'Try again; if it repeats, report the log.' }));
    });
    w.unref();
    this.worker = w;
    return w;
  }

  /** Rejects the jobs that ran on worker `w` (not those already moved to a fresh worker). */
  private failAll(w: Worker, e: Error): void {
    for (const [id, p] of this.pending) {
      if (p.worker !== w) continue;
      clearTimeout(p.kill);
      p.reject(e);
      this.pending.delete(id);
    }
  }

  private onEvent(e: EngineEvent): void {
    if (e.type === 'log') {
      for (const l of this.logListeners) l(e.level, e.message);
      return;
    }
    if (e.type === 'ready') return;
    const p = this.pending.get(e.jobId);
    if (!p) return;
    if (e.type === 'progress') p.onProgress?.(e.progress);
    else {
      clearTimeout(p.kill);
      this.pending.delete(e.jobId);
      if (e.type === 'result') p.resolve(e.value);
      else p.reject(deserializeError(e.error));
    }
  }

  run<T = unknown>(kind: string, params: unknown, opts: RunOptions = {}): Promise<T> {
    const w = this.ensureWorker();
    w.ref();
    const jobId = randomUUID();
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { worker: w, resolve: resolve as (v: unknown) => void, reject, onProgress: opts.onProgress };
      this.pending.set(jobId, entry);
      const cancel = () => {
        w.postMessage({ type: 'cancel', jobId });
        entry.kill = setTimeout(() => {
          // the job did not stop in time: end the thread, which ends every native call in it
          if (!this.pending.has(jobId)) return;
          this.pending.delete(jobId);
          reject(new AppError('CANCELLED', 'The job was cancelled.'));
          if (this.worker === w) this.worker = null;
          void w.terminate();
        }, this.hardCancelMs);
      };
      if (opts.signal?.aborted) cancel();
      else opts.signal?.addEventListener('abort', cancel, { once: true });
      w.postMessage({ type: 'start', jobId, kind, params });
    }).finally(() => {
      if (this.pending.size === 0) this.worker?.unref();
    });
  }

  async dispose(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
