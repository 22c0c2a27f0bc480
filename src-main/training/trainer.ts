/**
 * Trains BGAD flows on cached backbone features: one flow, one Adam and one ONNX training
 * session per level; chunks drawn by ChunkSampler; normal-only phase, then boundary guided.
 * Runs in the engine process (or a CLI process); never on a UI or server event loop.
 */
import * as ort from 'onnxruntime-node';
import { cpus } from 'node:os';
import { Adam, cosineWithWarmup } from '../autodiff/optim';
import { ChunkSampler, type LevelImage } from '../bgad/sampler';
import { initFlowWeights, type FlowWeights } from '../bgad/flow';
import { buildTrainGraph } from '../bgad/train-graph';
import { positionTable } from '../bgad/posenc';
import { Rng } from '../bgad/rng';
import { positionsForLevel, type TrainConfig } from '../bgad/config';
import { AppError } from '../common/errors';
import type { EngineProgress } from '../common/engine-protocol';
import { createSession, type ExecutionProviderName } from '../runtime/session';

export interface LevelData {
  channels: number;
  height: number;
  width: number;
  images: LevelImage[];
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
  executionProvider?: ExecutionProviderName;
}

export async function trainFlows(levels: LevelData[], cfg: TrainConfig, steps: number, hooks: TrainHooks = {}): Promise<TrainResult> {
  const rng = new Rng(cfg.seed);
  const initRng = rng.fork();
  const t0 = performance.now();
  const [p0, p1] = hooks.progressSpan ?? [0, 1];
  const concurrentLevels = levels.length > 1 && (hooks.threads ?? cpus().length) <= levels.length;
  const states = [];
  for (const lv of levels) {
    const weights = initFlowWeights({ channels: lv.channels, blocks: cfg.blocks }, initRng.fork());
    const tg = buildTrainGraph(weights, { tau: cfg.tau, focal: cfg.focal }, { h: lv.height, w: lv.width });
    // Levels run concurrently, one intra-op thread each, when there are at least as many
    // levels as threads: small elementwise ops scale poorly across threads (bgad bench engine).
    const { session } = await createSession(tg.onnx, {
      threads: concurrentLevels ? 1 : hooks.threads,
      executionProvider: hooks.executionProvider ?? 'cpu',
      onNotice: (m) => hooks.onProgress?.({ fraction: p0, message: m }),
    });
    const values = tg.paramNames.map((n) => weights.params.get(n)!.data);
    const shapes = tg.paramNames.map((n) => weights.params.get(n)!.shape);
    const adam = new Adam(values, { lr: cfg.lr, maxGradNorm: cfg.maxGradNorm });
    const sampler = new ChunkSampler(lv.images, lv.channels, lv.height, lv.width);
    const finest = Math.max(...levels.map((l) => l.height * l.width));
    const P = positionsForLevel(cfg, lv.height * lv.width, finest);
    const fixed = {
      pe_row: new ort.Tensor('float32', positionTable(lv.height), [lv.height, 64]),
      pe_col: new ort.Tensor('float32', positionTable(lv.width), [lv.width, 64]),
    };
    states.push({ lv, weights, tg, session, values, shapes, adam, sampler, P, fixed, rng: rng.fork(), boundaries: [] as number[] });
  }
  const curve: LossPoint[] = [];
  const normalOnlySteps = Math.floor(steps * cfg.normalOnlyFraction);
  const warmupSteps = Math.floor(steps * cfg.warmupFraction);
  let nanSteps = 0;
  let lastReport = 0;
  try {
    for (let step = 0; step < steps; step++) {
      if (hooks.signal?.aborted) throw new AppError('CANCELLED', 'Training was cancelled.');
      const lr = cosineWithWarmup(step, { lr: cfg.lr, totalSteps: steps, warmupSteps, finalFactor: cfg.finalLrFactor });
      const normalOnly = step < normalOnlySteps;
      // sample every level's chunk first (fixed RNG order), then run the levels together
      const runs = states.map((st) => {
        const chunk = st.sampler.sample(st.P, st.rng, normalOnly);
        const nNormal = st.P - chunk.anomalous;
        const kIndex = Math.min(nNormal - 1, Math.floor(nNormal * cfg.beta));
        const lambda = !normalOnly && chunk.anomalous > 0 ? cfg.lambda : 0;
        const feeds: Record<string, ort.Tensor> = {
          ...st.fixed,
          x: new ort.Tensor('float32', chunk.x, [st.P, st.lv.channels]),
          row: new ort.Tensor('int64', chunk.row, [st.P]),
          col: new ort.Tensor('int64', chunk.col, [st.P]),
          mask: new ort.Tensor('float32', chunk.mask, [st.P]),
          k: new ort.Tensor('int64', BigInt64Array.from([BigInt(kIndex + 1)]), [1]),
          k_index: new ort.Tensor('int64', BigInt64Array.from([BigInt(kIndex)]), []),
          lambda: new ort.Tensor('float32', Float32Array.from([lambda]), []),
        };
        st.tg.paramNames.forEach((n, i) => (feeds[n] = new ort.Tensor('float32', st.values[i]!, st.shapes[i]!)));
        return () => st.session.run(feeds);
      });
      const results = concurrentLevels ? await Promise.all(runs.map((run) => run())) : await sequential(runs);
      for (let k = 0; k < states.length; k++) {
        const st = states[k]!;
        const r = results[k]!;
        const num = (n: string) => r[n]!.data[0] as number;
        const loss = num('loss');
        const grads = st.tg.paramNames.map((n) => r[`grad.${n}`]!.data as Float32Array);
        if (!Number.isFinite(loss) || grads.some((g) => !allFinite(g))) {
          nanSteps++; // skip the update; never let a non-finite step reach the weights
          if (nanSteps > Math.max(10, steps * 0.05)) throw new AppError('ENGINE_FAILED', `Training diverged: ${nanSteps} steps gave non-finite losses.`, { hint: 'Lower the learning rate (--lr) and train again.' });
          continue;
        }
        st.adam.step(grads, lr);
        if (!normalOnly && step >= steps - Math.max(20, Math.floor(steps * 0.05))) st.boundaries.push(num('boundary'));
        if (step % 10 === 0 || step === steps - 1) curve.push({ step, level: k, loss, ml: num('ml'), pull: num('pull'), push: num('push'), boundary: num('boundary') });
      }
      const now = performance.now();
      if (hooks.onProgress && (now - lastReport > 500 || step === steps - 1)) {
        lastReport = now;
        const done = (step + 1) / steps;
        const elapsed = now - t0;
        const last = curve.slice(-states.length);
        hooks.onProgress({
          fraction: p0 + (p1 - p0) * done,
          message: `training step ${step + 1}/${steps}${normalOnly ? ' (normal-only phase)' : ''}`,
          etaMs: (elapsed / done) * (1 - done),
          data: { step: step + 1, steps, losses: last.map((p) => ({ level: p.level, loss: p.loss, boundary: p.boundary })) },
        });
      }
    }
  } finally {
    for (const st of states) await st.session.release();
  }
  return {
    levels: states.map((st) => ({
      weights: st.weights,
      height: st.lv.height,
      width: st.lv.width,
      boundary: st.boundaries.length ? st.boundaries.reduce((a, b) => a + b, 0) / st.boundaries.length : null,
    })),
    curve,
    steps,
    trainMs: performance.now() - t0,
    nanSteps,
  };
}

async function sequential<T>(thunks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  for (const run of thunks) out.push(await run());
  return out;
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}
