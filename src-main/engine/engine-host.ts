/**
 * THE caller's side of the engine: runs jobs of the engine job contract
 * (src-main/common/engine-jobs.ts) by kind, with progress events and cancellation, over a
 * small channel to wherever the engine loop runs: a Node worker thread (`workerThreadChannel`
 * below: CLI, browser-mode server, tests) or an Electron utilityProcess
 * (src-main/app/engine-channel.ts, since only app/ may import electron). The engine is
 * started on the first job. A cancelled job that has not stopped within `hardCancelMs` is
 * given up: its caller gets CANCELLED and the next job starts a fresh engine, so cancelling
 * always takes effect within about a second. The old engine is killed where it is a process;
 * a worker thread is retired instead (it exits once its ONNX Runtime call returns), since
 * terminating a thread inside ONNX Runtime aborts the whole process. The caller's event loop only relays messages: no ONNX
 * Runtime work ever runs on it.
 */
import { Worker } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import type { EngineEvent, EngineRequest } from '../common/engine-protocol';
import type { DefArgs, DefResult, EngineJobs, EngineRunner, EngineRunOptions, JobTable } from '../common/engine-jobs';
import { AppError, deserializeError } from '../common/errors';
import { findEngineScript } from '../runtime/built-files';

export type RunOptions = EngineRunOptions;

/** One running engine (a thread or a process), as the host sees it. */
export interface EngineChannel {
  send(request: EngineRequest): void;
  onMessage(listener: (event: EngineEvent) => void): void;
  /** Called once when the engine has ended; `reason` when it ended on an error of its own. */
  onExit(listener: (code: number, reason?: string) => void): void;
  /** Ends the engine now (every native call in it ends too). */
  terminate(): void;
  /**
   * Where ending the engine at once is unsafe (a worker thread inside ONNX Runtime aborts the
   * whole process when terminated): let it cancel its jobs and exit once its native calls have
   * returned. Absent: `terminate` is used (a separate process can always be killed).
   */
  retire?(): void;
  /** Whether the engine keeps the caller's process alive (only while jobs run); optional. */
  keepAlive?(on: boolean): void;
}

export interface EngineHostOptions {
  /** How long a cancelled job may take to stop before its engine is terminated. */
  hardCancelMs?: number;
  /** Where the engine's log lines go (besides `onLog` listeners). */
  log?: (level: string, message: string) => void;
  /** How the engine is named in error messages ("The engine", "The engine process"). */
  name?: string;
  /**
   * `dispose()` default: 0 terminates the engine at once (its running jobs fail as the engine
   * ends); more asks it to shut down (running jobs are cancelled) and waits that long first.
   */
  shutdownGraceMs?: number;
}

interface Pending {
  /** The engine running the job: only its end fails the job. */
  channel: EngineChannel;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onProgress?: EngineRunOptions['onProgress'];
  kill?: ReturnType<typeof setTimeout>;
}

export class EngineHost<T extends JobTable = EngineJobs> implements EngineRunner<T> {
  #channel: EngineChannel | null = null;
  readonly #pending = new Map<string, Pending>();
  readonly #logListeners = new Set<(level: string, message: string) => void>();
  readonly #hardCancelMs: number;
  readonly #name: string;

  constructor(private readonly spawn: () => EngineChannel, private readonly opts: EngineHostOptions = {}) {
    this.#hardCancelMs = opts.hardCancelMs ?? 800;
    this.#name = opts.name ?? 'The engine';
  }

  /** The engine in a Node worker thread running dist/engine/worker.js (or `workerPath`). */
  static workerThread(workerPath = defaultWorkerPath(), hardCancelMs = 800): EngineHost {
    return new EngineHost(() => workerThreadChannel(workerPath), { hardCancelMs });
  }

  onLog(l: (level: string, message: string) => void): () => void {
    this.#logListeners.add(l);
    return () => this.#logListeners.delete(l);
  }

  #ensureChannel(): EngineChannel {
    if (this.#channel) return this.#channel;
    const ch = this.spawn();
    ch.onMessage((e) => this.#onEvent(e));
    ch.onExit((code, reason) => {
      if (this.#channel === ch) this.#channel = null;
      if (reason !== undefined) this.#failAll(ch, new AppError('ENGINE_FAILED', `${this.#name} stopped: ${reason}`, { hint: 'Try again; if it repeats, report the log.' }));
      else if (code !== 0) this.#failAll(ch, new AppError('ENGINE_FAILED', `${this.#name} exited with code ${code}.`, { hint: 'Try again; if it repeats, report the log.' }));
    });
    ch.keepAlive?.(false);
    this.#channel = ch;
    return ch;
  }

  /** Rejects the jobs that ran on `ch` (all when none is named; not those moved to a fresh engine). */
  #failAll(ch: EngineChannel | null, e: Error): void {
    for (const [id, p] of this.#pending) {
      if (ch && p.channel !== ch) continue;
      clearTimeout(p.kill);
      p.reject(e);
      this.#pending.delete(id);
    }
  }

  #onEvent(e: EngineEvent): void {
    if (e.type === 'log') {
      this.opts.log?.(e.level, e.message);
      for (const l of this.#logListeners) l(e.level, e.message);
      return;
    }
    if (e.type === 'ready') return;
    const p = this.#pending.get(e.jobId);
    if (!p) return;
    if (e.type === 'progress') p.onProgress?.(e.progress);
    else {
      clearTimeout(p.kill);
      this.#pending.delete(e.jobId);
      if (e.type === 'result') p.resolve(e.value);
      else p.reject(deserializeError(e.error));
    }
  }

  run<K extends keyof T & string>(kind: K, params: DefArgs<T[K]>, opts: EngineRunOptions = {}): Promise<DefResult<T[K]>> {
    const ch = this.#ensureChannel();
    ch.keepAlive?.(true);
    const jobId = randomUUID();
    return new Promise<DefResult<T[K]>>((resolve, reject) => {
      const entry: Pending = { channel: ch, resolve: resolve as (v: unknown) => void, reject, onProgress: opts.onProgress };
      this.#pending.set(jobId, entry);
      const cancel = () => {
        ch.send({ type: 'cancel', jobId });
        entry.kill = setTimeout(() => {
          // the job did not stop in time: end the engine, which ends every native call in it
          if (!this.#pending.has(jobId)) return;
          this.#pending.delete(jobId);
          reject(new AppError('CANCELLED', 'The job was cancelled.'));
          if (this.#channel === ch) this.#channel = null;
          if (ch.retire) ch.retire();
          else ch.terminate();
        }, this.#hardCancelMs);
      };
      if (opts.signal?.aborted) cancel();
      else opts.signal?.addEventListener('abort', cancel, { once: true });
      ch.send({ type: 'start', jobId, kind, params });
    }).finally(() => {
      if (this.#pending.size === 0) this.#channel?.keepAlive?.(false);
    });
  }

  /** Ends the engine (see `EngineHostOptions.shutdownGraceMs`). */
  async dispose(graceMs = this.opts.shutdownGraceMs ?? 0): Promise<void> {
    const ch = this.#channel;
    this.#channel = null;
    if (!ch) return;
    if (graceMs <= 0) {
      await new Promise<void>((ok) => {
        ch.onExit(() => ok());
        ch.terminate();
      });
      return;
    }
    this.#failAll(null, new AppError('CANCELLED', 'The app is closing.'));
    ch.send({ type: 'shutdown' });
    await new Promise<void>((ok) => {
      const t = setTimeout(() => {
        ch.terminate();
        ok();
      }, graceMs);
      ch.onExit(() => {
        clearTimeout(t);
        ok();
      });
    });
  }
}

export function defaultWorkerPath(): string {
  const p = findEngineScript('worker.js');
  if (p) return p;
  throw new AppError('UNAVAILABLE', 'The engine is not built (dist/engine/worker.js is missing).', { hint: 'Run "npm run build" in the BGAD Inspector folder.' });
}

/** How long a retired worker thread may take to finish its native call and exit. */
const RETIRE_LIMIT_MS = 120_000;

/** The engine in a Node worker thread (dist/engine/worker.js). */
export function workerThreadChannel(workerPath: string): EngineChannel {
  const w = new Worker(workerPath);
  let error: string | undefined;
  w.on('error', (err) => {
    error ??= err.message;
  });
  return {
    send: (request) => w.postMessage(request),
    onMessage: (listener) => w.on('message', listener),
    onExit: (listener) => w.on('exit', (code) => listener(code, error)),
    terminate: () => void w.terminate(),
    retire: () => {
      // the job stops at its next check once the native call it is in returns; a thread that
      // has not exited after RETIRE_LIMIT_MS is stuck and is ended anyway
      w.postMessage({ type: 'retire' } satisfies EngineRequest);
      w.unref();
      setTimeout(() => void w.terminate(), RETIRE_LIMIT_MS).unref();
    },
    keepAlive: (on) => (on ? w.ref() : w.unref()),
  };
}
