/**
 * Trains BGAD flows on cached backbone features: one flow, one Adam and one ONNX training
 * session per level; chunks drawn by ChunkSampler; normal-only phase, then boundary guided.
 * Runs in the engine process (or a CLI process); never on a UI or server event loop.
 */
import * as ort from 'onnxruntime-node';
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Adam, cosineWithWarmup } from '../autodiff/optim';
import { ChunkSampler, type LevelImage } from '../bgad/sampler';
import { initFlowWeights, type FlowWeights } from '../bgad/flow';
import { buildTrainGraph } from '../bgad/train-graph';
import { positionTable } from '../bgad/posenc';
import { Rng } from '../bgad/rng';
import { positionsForLevel, type TrainConfig } from '../bgad/config';
import { AppError, deserializeError, type SerializedError } from '../common/errors';
import type { EngineProgress } from '../common/engine-protocol';
import type { ExecutionProvider } from '../common/records';
import { createSession } from '../runtime/session';
import { findEngineScript } from '../runtime/built-files';

export interface LevelData {
  channels: number;
  height: number;
  width: number;
  images: LevelImage[];
  /** The inspection area at this level (height*width, 1 = trained); absent: every position. */
  area?: Uint8Array | null;
}

export interface LevelResult {
  weights: FlowWeights;
  height: number;
  width: number;
  /** Mean explicit boundary b_n over the last steps of the boundary-guided phase. */
  boundary: number | null;
}

export interface LossPoint { step: number; level: number; loss: number; ml: number; pull: number; push: number; boundary: number }

export interface TrainResult {
  levels: LevelResult[];
  curve: LossPoint[];
  steps: number;
  trainMs: number;
  nanSteps: number;
}

export interface TrainHooks {
  signal?: AbortSignal;
  onProgress?: (p: EngineProgress) => void;
  /** Fraction of the whole job that training spans (for progress of a larger job). */
  progressSpan?: [number, number];
  threads?: number;
  executionProvider?: ExecutionProvider;
  /** The level worker script (default: the built dist/engine/level-worker.js, when present). */
  levelWorkerPath?: string;
  /** Train the levels in this thread, taking turns (no level workers). */
  inThread?: boolean;
}

/** One level's training, as a job that can run in this thread or in a level worker. */
export interface LevelJob {
  index: number;
  channels: number;
  height: number;
  width: number;
  images: LevelImage[];
  /** Positions drawn only inside this (bgad/area.ts at this level); null: all. */
  area: Uint8Array | null;
  /** The training graph (flow + loss + gradients). */
  onnx: Uint8Array;
  paramNames: string[];
  shapes: number[][];
  /** Initial parameter values in `paramNames` order; updated in place. */
  values: Float32Array[];
  /** Positions per step. */
  P: number;
  /** Seed of this level's sampling stream (what `rng.fork()` would seed). */
  seed: number;
  cfg: TrainConfig;
  steps: number;
}

export interface LevelOutcome {
  values: Float32Array[];
  boundary: number | null;
  curve: LossPoint[];
}

/** Learning rate and phase of a step (the same for every level). */
function schedule(step: number, cfg: TrainConfig, steps: number): { lr: number; normalOnly: boolean; tail: boolean } {
  const normalOnlySteps = Math.floor(steps * cfg.normalOnlyFraction);
  const warmupSteps = Math.floor(steps * cfg.warmupFraction);
  const normalOnly = step < normalOnlySteps;
  return {
    lr: cosineWithWarmup(step, { lr: cfg.lr, totalSteps: steps, warmupSteps, finalFactor: cfg.finalLrFactor }),
    normalOnly,
    // the explicit boundary kept with the model: the mean over the last steps
    tail: !normalOnly && step >= steps - Math.max(20, Math.floor(steps * 0.05)),
  };
}

/** Non-finite steps allowed (all levels together) before training is stopped. */
export function nanLimit(steps: number): number {
  return Math.max(10, steps * 0.05);
}

export function divergedError(nanSteps: number): AppError {
  return new AppError('ENGINE_FAILED', `Training diverged: ${nanSteps} steps gave non-finite losses.`, { hint: 'Lower the learning rate (--lr) and train again.' });
}

/**
 * The per-level state of training: ONNX Runtime session, Adam, sampler and sampling stream.
 * `step` runs one optimizer step; a non-finite loss or gradient skips the update.
 */
export class LevelTrainer {
  private readonly boundaries: number[] = [];
  readonly curve: LossPoint[] = [];

  private constructor(
    private readonly job: LevelJob,
    private readonly session: ort.InferenceSession,
    private readonly adam: Adam,
    private readonly sampler: ChunkSampler,
    private readonly rng: Rng,
    private readonly fixed: Record<string, ort.Tensor>,
  ) {}

  static async create(job: LevelJob, opts: { threads?: number; executionProvider?: ExecutionProvider; onNotice?: (m: string) => void } = {}): Promise<LevelTrainer> {
    const { session } = await createSession(job.onnx, { threads: opts.threads, executionProvider: opts.executionProvider ?? 'cpu', onNotice: opts.onNotice });
    const adam = new Adam(job.values, { lr: job.cfg.lr, maxGradNorm: job.cfg.maxGradNorm });
    const sampler = new ChunkSampler(job.images, job.channels, job.height, job.width, job.area);
    const fixed = {
      pe_row: new ort.Tensor('float32', positionTable(job.height), [job.height, 64]),
      pe_col: new ort.Tensor('float32', positionTable(job.width), [job.width, 64]),
    };
    return new LevelTrainer(job, session, adam, sampler, new Rng(job.seed), fixed);
  }

  /** One step; false when it gave a non-finite loss or gradient (and was skipped). */
  async step(step: number): Promise<boolean> {
    const { job } = this;
    const { cfg } = job;
    const { lr, normalOnly, tail } = schedule(step, cfg, job.steps);
    const chunk = this.sampler.sample(job.P, this.rng, normalOnly);
    const nNormal = job.P - chunk.anomalous;
    const kIndex = Math.min(nNormal - 1, Math.floor(nNormal * cfg.beta));
    const lambda = !normalOnly && chunk.anomalous > 0 ? cfg.lambda : 0;
    const feeds: Record<string, ort.Tensor> = {
      ...this.fixed,
      x: new ort.Tensor('float32', chunk.x, [job.P, job.channels]),
      row: new ort.Tensor('int64', chunk.row, [job.P]),
      col: new ort.Tensor('int64', chunk.col, [job.P]),
      mask: new ort.Tensor('float32', chunk.mask, [job.P]),
      k: new ort.Tensor('int64', BigInt64Array.from([BigInt(kIndex + 1)]), [1]),
      k_index: new ort.Tensor('int64', BigInt64Array.from([BigInt(kIndex)]), []),
      lambda: new ort.Tensor('float32', Float32Array.from([lambda]), []),
    };
    job.paramNames.forEach((n, i) => (feeds[n] = new ort.Tensor('float32', job.values[i]!, job.shapes[i]!)));
    const r = await this.session.run(feeds);
    const num = (n: string) => r[n]!.data[0] as number;
    const loss = num('loss');
    const grads = job.paramNames.map((n) => r[`grad.${n}`]!.data as Float32Array);
    // never let a non-finite step reach the weights
    if (!Number.isFinite(loss) || grads.some((g) => !allFinite(g))) return false;
    this.adam.step(grads, lr);
    if (tail) this.boundaries.push(num('boundary'));
    if (step % 10 === 0 || step === job.steps - 1) this.curve.push({ step, level: job.index, loss, ml: num('ml'), pull: num('pull'), push: num('push'), boundary: num('boundary') });
    return true;
  }

  outcome(): LevelOutcome {
    const b = this.boundaries;
    return { values: this.job.values, boundary: b.length ? b.reduce((x, y) => x + y, 0) / b.length : null, curve: this.curve };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Trains one flow per level on cached features. The levels are independent (each has its
 * own sampling stream), so they can run side by side: on the CPU with at least two threads
 * each level trains in its own worker thread (onnxruntime-node runs a session on the calling
 * thread, so levels in one thread would take turns on one core); otherwise, or without the
 * built worker, the levels take turns step by step in this thread. Both give the same model.
 */
export async function trainFlows(levels: LevelData[], cfg: TrainConfig, steps: number, hooks: TrainHooks = {}): Promise<TrainResult> {
  const rng = new Rng(cfg.seed);
  const initRng = rng.fork();
  const t0 = performance.now();
  const finest = Math.max(...levels.map((l) => l.height * l.width));
  const jobs: LevelJob[] = [];
  const weights: FlowWeights[] = [];
  for (const [index, lv] of levels.entries()) {
    const w = initFlowWeights({ channels: lv.channels, blocks: cfg.blocks }, initRng.fork());
    const tg = buildTrainGraph(w, { tau: cfg.tau, focal: cfg.focal }, { h: lv.height, w: lv.width });
    weights.push(w);
    jobs.push({
      index, channels: lv.channels, height: lv.height, width: lv.width, images: lv.images, area: lv.area ?? null, onnx: tg.onnx, paramNames: tg.paramNames,
      shapes: tg.paramNames.map((n) => w.params.get(n)!.shape), values: tg.paramNames.map((n) => w.params.get(n)!.data),
      P: positionsForLevel(cfg, lv.height * lv.width, finest), seed: rng.u32(), cfg, steps,
    });
  }
  const threads = hooks.threads ?? cpus().length;
  const ep = hooks.executionProvider ?? 'cpu';
  const workerPath = levels.length > 1 && threads > 1 && ep === 'cpu' && !hooks.inThread ? hooks.levelWorkerPath ?? findEngineScript('level-worker.js') : null;
  const progress = progressReporter(hooks, cfg, steps, levels.length, t0);
  let run: { outcomes: LevelOutcome[]; nanSteps: number } | null = null;
  if (workerPath) {
    try {
      // one ORT thread per level when there are more levels than threads: two threads per
      // level were faster with equal chunks (194-200 ms a step against 236-241 ms) but split
      // reductions differently from run to run, so the same seed no longer gave the same model
      run = await runInWorkers(jobs, workerPath, Math.max(1, Math.floor(threads / jobs.length)), hooks, progress);
    } catch (e) {
      // a worker that cannot start (e.g. a packaged app that cannot load it) costs nothing:
      // the levels are deterministic, so training them here gives the same model
      if (!(e instanceof WorkerStartError)) throw e;
      hooks.onProgress?.({ fraction: hooks.progressSpan?.[0] ?? 0, message: `Training the levels one after another (${e.message})` });
    }
  }
  run ??= await runInThread(jobs, threads, hooks, progress);
  const curve = run.outcomes.flatMap((o) => o.curve).sort((a, b) => a.step - b.step || a.level - b.level);
  return {
    levels: run.outcomes.map((o, k) => {
      const w = weights[k]!;
      jobs[k]!.paramNames.forEach((n, i) => (w.params.get(n)!.data = o.values[i]!));
      return { weights: w, height: levels[k]!.height, width: levels[k]!.width, boundary: o.boundary };
    }),
    curve,
    steps,
    trainMs: performance.now() - t0,
    nanSteps: run.nanSteps,
  };
}

type Progress = (levelSteps: number[], last: (LossPoint | undefined)[], force?: boolean) => void;

/** Progress of all levels: the slowest level's step, and each level's latest loss. */
function progressReporter(hooks: TrainHooks, cfg: TrainConfig, steps: number, nLevels: number, t0: number): Progress {
  const [p0, p1] = hooks.progressSpan ?? [0, 1];
  let lastReport = 0;
  return (levelSteps, last, force = false) => {
    if (!hooks.onProgress) return;
    const now = performance.now();
    if (!force && now - lastReport <= 500) return;
    lastReport = now;
    const step = Math.min(...levelSteps);
    const done = levelSteps.reduce((a, b) => a + b, 0) / (steps * nLevels);
    const elapsed = now - t0;
    hooks.onProgress({
      fraction: p0 + (p1 - p0) * done,
      message: `training step ${step}/${steps}${step > 0 && schedule(step - 1, cfg, steps).normalOnly ? ' (normal-only phase)' : ''}`,
      etaMs: done > 0 ? (elapsed / done) * (1 - done) : undefined,
      data: { step, steps, losses: last.filter((p): p is LossPoint => !!p).map((p) => ({ level: p.level, loss: p.loss, boundary: p.boundary })) },
    });
  };
}

/** The levels take turns step by step in this thread. */
async function runInThread(jobs: LevelJob[], threads: number, hooks: TrainHooks, progress: Progress): Promise<{ outcomes: LevelOutcome[]; nanSteps: number }> {
  const [p0] = hooks.progressSpan ?? [0, 1];
  const trainers: LevelTrainer[] = [];
  try {
    for (const job of jobs) {
      trainers.push(await LevelTrainer.create(job, { threads, executionProvider: hooks.executionProvider, onNotice: (m) => hooks.onProgress?.({ fraction: p0, message: m }) }));
    }
    const steps = jobs[0]?.steps ?? 0;
    let nanSteps = 0;
    for (let step = 0; step < steps; step++) {
      if (hooks.signal?.aborted) throw new AppError('CANCELLED', 'Training was cancelled.');
      for (const t of trainers) {
        if (!(await t.step(step)) && ++nanSteps > nanLimit(steps)) throw divergedError(nanSteps);
      }
      progress(trainers.map(() => step + 1), trainers.map((t) => t.curve.at(-1)), step === steps - 1);
    }
    return { outcomes: trainers.map((t) => t.outcome()), nanSteps };
  } finally {
    for (const t of trainers) await t.release();
  }
}

/** A level worker failed before any worker reported anything. */
class WorkerStartError extends Error {}

/** Messages of a level worker (src-main/training/level-worker.ts). */
export type LevelWorkerMessage =
  | { type: 'progress'; step: number; point: LossPoint | null }
  | { type: 'done'; outcome: LevelOutcome }
  | { type: 'error'; error: SerializedError };

/** What a level worker gets: its job, ORT threads, and the shared control words. */
export interface LevelWorkerData {
  job: LevelJob;
  threads: number;
  /** Int32Array over it: [0] = 1 to cancel, [1] = non-finite steps of all levels. */
  control: SharedArrayBuffer;
}

/**
 * Each level in its own worker thread (one ORT session each), all at once. A failing level
 * (or a cancel) raises the shared stop word and every worker ends after its current step:
 * workers are never terminated in the middle of a session run, which would abort the process.
 */
async function runInWorkers(jobs: LevelJob[], workerPath: string, threads: number, hooks: TrainHooks, progress: Progress): Promise<{ outcomes: LevelOutcome[]; nanSteps: number }> {
  shareLevelFeatures(jobs);
  const control = new SharedArrayBuffer(8);
  const ctl = new Int32Array(control);
  const stop = () => Atomics.store(ctl, 0, 1);
  const levelSteps = jobs.map(() => 0);
  const last: (LossPoint | undefined)[] = jobs.map(() => undefined);
  let heard = false; // whether any worker has spoken (before that, a failure is a start failure)
  let first: Error | null = null; // the first failure wins; the others follow from the stop word
  const failed = (e: Error) => {
    first ??= heard ? e : new WorkerStartError(e.message);
    stop();
  };
  hooks.signal?.addEventListener('abort', stop, { once: true });
  if (hooks.signal?.aborted) stop();
  try {
    const outcomes = await Promise.all(jobs.map((job, k) => new Promise<LevelOutcome | null>((resolve) => {
      const data: LevelWorkerData = { job, threads, control };
      const w = new Worker(workerPath, { workerData: data });
      let outcome: LevelOutcome | null = null;
      let error = false;
      const again = 'Try again; if it repeats, train with --threads 1 and report the log.';
      w.on('message', (m: LevelWorkerMessage) => {
        heard = true;
        if (m.type === 'progress') {
          levelSteps[k] = m.step;
          if (m.point) last[k] = m.point;
          progress(levelSteps, last);
        } else if (m.type === 'done') {
          levelSteps[k] = job.steps;
          outcome = m.outcome;
        } else {
          error = true;
          failed(deserializeError(m.error));
        }
      });
      w.on('error', (e) => {
        error = true;
        failed(new AppError('ENGINE_FAILED', `Training of level ${k + 1} stopped: ${e.message}`, { hint: again }));
      });
      w.on('exit', (code) => {
        if (!outcome && !error) failed(new AppError('ENGINE_FAILED', `Training of level ${k + 1} ended without a result (exit code ${code}).`, { hint: again }));
        resolve(outcome);
      });
    })));
    if (first) throw first;
    // a cancellation that came after the last step still counts
    if (hooks.signal?.aborted) throw new AppError('CANCELLED', 'Training was cancelled.');
    progress(levelSteps, last, true);
    return { outcomes: outcomes as LevelOutcome[], nanSteps: Atomics.load(ctl, 1) };
  } finally {
    hooks.signal?.removeEventListener('abort', stop);
  }
}

/**
 * One level's features in shared memory, filled image by image: level workers read them in
 * place, and each image's own arrays can be freed as soon as they are copied in. Pages are
 * committed as they are written, so a generous capacity costs nothing.
 */
export class FeatureArena {
  private readonly data: Float32Array;
  private used = 0;

  constructor(readonly perImage: number, readonly capacity: number) {
    this.data = new Float32Array(new SharedArrayBuffer(perImage * capacity * 4));
  }

  /** A copy of `features` in the arena. */
  add(features: Float32Array): Float32Array {
    if (features.length !== this.perImage) throw new Error(`FeatureArena: ${features.length} values, expected ${this.perImage}`);
    if (this.used >= this.capacity) throw new Error(`FeatureArena: more than ${this.capacity} images`);
    const view = this.data.subarray(this.used * this.perImage, (this.used + 1) * this.perImage);
    view.set(features);
    this.used++;
    return view;
  }
}

/**
 * Moves each level's features into one SharedArrayBuffer (the images' arrays become views of
 * it), so level workers read them without a copy; the separate arrays can then be freed.
 */
export function shareLevelFeatures(jobs: { images: LevelImage[] }[]): void {
  for (const job of jobs) {
    if (job.images.every((im) => im.features.buffer instanceof SharedArrayBuffer)) continue;
    const total = job.images.reduce((a, im) => a + im.features.length, 0);
    const shared = new Float32Array(new SharedArrayBuffer(total * 4));
    let off = 0;
    for (const im of job.images) {
      shared.set(im.features, off);
      im.features = shared.subarray(off, off + im.features.length);
      off += im.features.length;
    }
  }
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}
