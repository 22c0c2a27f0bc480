/**
 * An ONNX Runtime session hosted in a worker thread (runtime/session-worker.ts). onnxruntime-
 * node runs `session.run` synchronously on the calling thread, so sessions opened in one
 * thread take turns; a model whose backbone and scoring head each run in their own worker
 * scores image i+1's backbone while image i's head runs (inspection/inspect.ts keeps two
 * images in flight), which uses both cores of a 2-core PC for ONNX Runtime while the main
 * thread decodes images and writes pictures. Same graphs, same thread counts: same numbers.
 *
 * `openSessionInWorker` returns null when the built worker is not there (a test run from the
 * sources without a build): the caller then opens the session in its own thread.
 */
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { AppError, deserializeError } from '../common/errors';
import type { ExecutionProvider } from '../common/records';
import { findEngineScript } from './built-files';
import type { SessionOptions } from './session';
import type { FromSessionWorker, SessionWorkerData, ToSessionWorker, WireTensor } from './session-worker-protocol';

/** What the scorer and the inspection model need of a session, in this thread or a worker. */
export interface RunnableSession {
  run(feeds: Record<string, ort.Tensor>, opts?: { transferInputs?: boolean }): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

/** An in-thread ORT session as a RunnableSession. */
export function localSession(session: ort.InferenceSession): RunnableSession {
  return {
    run: async (feeds) => (await session.run(feeds)) as Record<string, ort.Tensor>,
    release: () => session.release(),
  };
}

export class RemoteSession implements RunnableSession {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (o: Record<string, ort.Tensor>) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  private releasing: Promise<void> | null = null;

  private constructor(private readonly worker: Worker, readonly executionProvider: ExecutionProvider) {
    worker.on('message', (m: FromSessionWorker) => this.onMessage(m));
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => this.fail(new AppError('ENGINE_FAILED', `The ONNX Runtime worker thread stopped (exit code ${code}).`, { hint: 'Run the command again; if it keeps happening, run it with --threads 1.' })));
    worker.unref();
  }

  static async open(script: string, model: string | Uint8Array, opts: SessionOptions): Promise<RemoteSession> {
    const data: SessionWorkerData = { model, threads: opts.threads, spin: opts.spin, executionProvider: opts.executionProvider, optimization: opts.optimization };
    const worker = new Worker(script, { workerData: data });
    const ready = await new Promise<Extract<FromSessionWorker, { type: 'ready' }>>((resolve, reject) => {
      const onMessage = (m: FromSessionWorker) => {
        cleanup();
        if (m.type === 'ready') resolve(m);
        else if (m.type === 'error') reject(deserializeError(m.error));
        else reject(new Error(`unexpected ${m.type} from the session worker`));
      };
      const onError = (e: Error) => { cleanup(); reject(e); };
      const onExit = (code: number) => { cleanup(); reject(new Error(`the session worker stopped while opening the model (exit code ${code})`)); };
      const cleanup = () => { worker.off('message', onMessage); worker.off('error', onError); worker.off('exit', onExit); };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    }).catch(async (e: unknown) => {
      await worker.terminate().catch(() => undefined);
      throw e;
    });
    if (ready.notice) opts.onNotice?.(ready.notice);
    return new RemoteSession(worker, ready.executionProvider);
  }

  run(feeds: Record<string, ort.Tensor>, opts: { transferInputs?: boolean } = {}): Promise<Record<string, ort.Tensor>> {
    if (this.releasing) return Promise.reject(new AppError('ENGINE_FAILED', 'The model was closed.'));
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const wire: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(feeds)) {
      wire[name] = { type: t.type as WireTensor['type'], data: t.data as WireTensor['data'], dims: t.dims.map(Number) };
      const buf = (t.data as ArrayBufferView).buffer as ArrayBuffer;
      if (opts.transferInputs && !transfer.includes(buf)) transfer.push(buf);
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ type: 'run', id, feeds: wire } satisfies ToSessionWorker, transfer);
    });
  }

  release(): Promise<void> {
    this.releasing ??= new Promise<void>((resolve) => {
      if (this.failure) return resolve();
      this.worker.ref();
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ type: 'release' } satisfies ToSessionWorker);
    });
    return this.releasing;
  }

  private settle(id: number): { resolve: (o: Record<string, ort.Tensor>) => void; reject: (e: Error) => void } | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0 && !this.releasing) this.worker.unref();
    return p;
  }

  private onMessage(m: FromSessionWorker): void {
    if (m.type === 'result') {
      const out: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(m.outputs)) out[name] = new ort.Tensor(t.type, t.data, t.dims);
      this.settle(m.id)?.resolve(out);
    } else if (m.type === 'error') {
      const e = deserializeError(m.error);
      if (m.id === null) this.fail(e);
      else this.settle(m.id)?.reject(e);
    }
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

/**
 * Opens a session in a worker thread; null when the worker script is not built. An error
 * creating the session (a bad graph, a provider) is thrown as createSession would.
 */
export async function openSessionInWorker(model: string | Uint8Array, opts: SessionOptions = {}, script: string | null = findEngineScript('session-worker.js')): Promise<RemoteSession | null> {
  if (!script) return null;
  return RemoteSession.open(script, model, opts);
}
