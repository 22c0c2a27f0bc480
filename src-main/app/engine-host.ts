/**
 * The desktop app's engine host: the same `run(kind, params, { onProgress, signal })` as the
 * Node EngineHost (src-main/engine/engine-host.ts, a worker thread), but the engine lives in
 * an Electron utilityProcess (dist/app/engine-process.cjs). The main process only relays
 * messages. A cancelled job that has not stopped within `hardCancelMs` gets its process
 * killed; the next job starts a fresh one.
 */
import { randomUUID } from 'node:crypto';
import type { UtilityProcess } from 'electron';
import type { EngineEvent, EngineProgress, EngineRequest } from '../common/engine-protocol';
import { AppError, deserializeError } from '../common/errors';
import type { EngineRunner, EngineRunOptions } from '../api-host/services-port';

export interface UtilityProcessApi {
  fork(modulePath: string, args?: string[], options?: { serviceName?: string; stdio?: 'inherit' | 'pipe' | 'ignore' }): UtilityProcess;
}

/** The parts of a UtilityProcess the host uses (tests pass a fake). */
export type EngineChild = Pick<UtilityProcess, 'postMessage' | 'kill' | 'on' | 'once'>;

interface Pending {
  /** The process running the job: only its exit fails the job. */
  child: EngineChild;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onProgress?: (p: EngineProgress) => void;
  kill?: ReturnType<typeof setTimeout>;
}


export class UtilityEngineHost implements EngineRunner {
  #child: EngineChild | null = null;
  readonly #pending = new Map<string, Pending>();

  constructor(
    private readonly spawnChild: () => EngineChild,
    private readonly log: (message: string) => void = (m) => console.error(m),
    private readonly hardCancelMs = 800,
  ) {}

  static fork(utility: UtilityProcessApi, entryPath: string): UtilityEngineHost {
    return new UtilityEngineHost(() => utility.fork(entryPath, [], { serviceName: 'BGAD Inspector engine', stdio: 'inherit' }));
  }

  #ensureChild(): EngineChild {
    if (this.#child) return this.#child;
    const child = this.spawnChild();
    child.on('message', (message: unknown) => this.#onEvent(message as EngineEvent));
    child.on('exit', (code: number) => {
      if (this.#child === child) this.#child = null;
      if (code !== 0) this.#failAll(new AppError('ENGINE_FAILED', `The engine process exited with code ${code}.`, { hint: 'Try again; if it repeats, report the log.' }), child);
    });
    this.#child = child;
    return child;
  }

  #failAll(e: Error, child?: EngineChild): void {
    for (const [id, p] of this.#pending) {
      if (child && p.child !== child) continue;
      clearTimeout(p.kill);
      p.reject(e);
      this.#pending.delete(id);
    }
  }

  #onEvent(e: EngineEvent): void {
    if (e.type === 'log') return this.log(`engine ${e.level}: ${e.message}`);
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

  run<T = unknown>(kind: string, params: unknown, opts: EngineRunOptions = {}): Promise<T> {
    const child = this.#ensureChild();
    const jobId = randomUUID();
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { child, resolve: resolve as (v: unknown) => void, reject, onProgress: opts.onProgress };
      this.#pending.set(jobId, entry);
      const cancel = () => {
        child.postMessage({ type: 'cancel', jobId } satisfies EngineRequest);
        entry.kill = setTimeout(() => {
          // the job did not stop in time: end the process, which ends every native call in it
          if (!this.#pending.has(jobId)) return;
          this.#pending.delete(jobId);
          reject(new AppError('CANCELLED', 'The job was cancelled.'));
          if (this.#child === child) this.#child = null;
          child.kill();
        }, this.hardCancelMs);
      };
      if (opts.signal?.aborted) cancel();
      else opts.signal?.addEventListener('abort', cancel, { once: true });
      child.postMessage({ type: 'start', jobId, kind, params } satisfies EngineRequest);
    });
  }

  async dispose(graceMs = 2000): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child) return;
    this.#failAll(new AppError('CANCELLED', 'The app is closing.'));
    child.postMessage({ type: 'shutdown' } satisfies EngineRequest);
    await new Promise<void>((ok) => {
      const t = setTimeout(() => {
        child.kill();
        ok();
      }, graceMs);
      child.once('exit', () => {
        clearTimeout(t);
        ok();
      });
    });
  }
}
