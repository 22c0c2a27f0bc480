/**
 * `bgad bench engine`: throughput of one BGAD training step (flow + semi-push-pull loss +
 * all gradients, one ONNX Runtime run) at BGAD sizes, next to a plain MatMul measured in
 * the same run, and the three-level MobileNetV2 configuration (C = 24/32/96) as trained.
 */
import * as ort from 'onnxruntime-node';
import { cpus } from 'node:os';
import { Graph } from '../autodiff/graph';
import { emitOnnx } from '../autodiff/emit';
import { createSession } from '../runtime/session';
import { flowDims, initFlowWeights } from '../bgad/flow';
import { buildTrainGraph } from '../bgad/train-graph';
import { positionTable } from '../bgad/posenc';
import { Rng } from '../bgad/rng';
import { ChunkSampler } from '../bgad/sampler';
import { resolveConfig } from '../bgad/config';
import { trainFlows, type LevelData } from './trainer';

export interface EngineBenchOptions { positions?: number; blocks?: number; threads?: number; seconds?: number; channels?: number[]; levelWorkerPath?: string }

export interface FlowBench { channels: number; grid: number; stepMs: number; positionsPerSecond: number; trainStepGflops: number; gflopPerStep: number }

export interface EngineBenchResult {
  cores: number;
  threads: number;
  positions: number;
  blocks: number;
  condDim: number;
  /** Plain MatMul [4096 x 1024] x [1024 x 1024] in the same run. */
  matmulGflops: number;
  /** Per channel count (C in {24, 96, 200} by default). */
  flows: FlowBench[];
  /** Mean over `flows`: the headline figures. */
  positionsPerSecond: number;
  trainStepGflops: number;
  /** trainStepGflops / matmulGflops. */
  fractionOfMatmul: number;
  /** BGAD on MobileNetV2 taps: one step of `positions` through each of the three flows (C = 24/32/96). */
  bgadThreeLevels: {
    stepMs: number;
    positionsPerSecond: number;
    /** Whether the levels in worker threads (as trained) beat taking turns in one thread. */
    levelsRunConcurrently: boolean;
    /** All levels in one thread, each session with all threads. */
    sequentialMs: number;
    /** Each level in its own worker thread (what training does). */
    concurrentMs: number;
    fastPresetChunks: { positions: number[]; sequentialMs: number; concurrentMs: number };
  };
}

/** Multiply-add FLOPs of one training step: 3x the forward matmuls (forward, input and weight gradients). */
export function trainStepFlops(C: number, N: number, blocks: number, grid: number): number {
  const { Cp, Ca, hidden } = flowDims(C);
  const perPos = 2 * (Cp * hidden + hidden * 2 * Ca + C * C);
  const tables = 2 * 2 * grid * 64 * hidden;
  return blocks * (3 * perPos * N + 3 * tables);
}

function timeLoop(fn: () => Promise<unknown>, seconds: number): Promise<number> {
  return (async () => {
    for (let i = 0; i < 2; i++) await fn();
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000 || n < 3) {
      await fn();
      n++;
    }
    return (performance.now() - t0) / n;
  })();
}

async function matmulGflops(threads: number, seconds: number): Promise<number> {
  const g = new Graph('float32', 'mm');
  const a = g.input("a", [4096, 1024]);
  const b = g.input("b", [1024, 1024]);
  g.output('y', g.matmul(a, b));
  // spinning threads as ORT's default (what the benchmark has always measured)
  const { session: s } = await createSession(emitOnnx(g), { threads, spin: true });
  const rng = new Rng(1);
  const feeds = {
    a: new ort.Tensor("float32", Float32Array.from({ length: 4096 * 1024 }, () => rng.normal()), [4096, 1024]),
    b: new ort.Tensor("float32", Float32Array.from({ length: 1024 * 1024 }, () => rng.normal()), [1024, 1024]),
  };
  const ms = await timeLoop(() => s.run(feeds), seconds);
  await s.release();
  return (2 * 4096 * 1024 * 1024) / (ms * 1e6);
}

interface LevelRunner { run(): Promise<void>; release(): Promise<void> }

/** A level of 8 images of random features, 2 of them with an anomalous corner. */
function fakeLevel(C: number, grid: number, seed: number): LevelData {
  const rng = new Rng(seed);
  const HW = grid * grid;
  return {
    channels: C, height: grid, width: grid,
    images: Array.from({ length: 8 }, (_, i) => ({
      features: Float32Array.from({ length: C * HW }, () => rng.normal()),
      mask: i < 2 ? Uint8Array.from({ length: HW }, (_, p) => (p % grid < grid / 4 && Math.floor(p / grid) < grid / 4 ? 1 : 0)) : null,
      weight: 1,
    })),
  };
}

async function levelRunner(C: number, grid: number, N: number, blocks: number, threads: number, seed: number): Promise<LevelRunner> {
  const rng = new Rng(seed);
  const w = initFlowWeights({ channels: C, blocks }, rng);
  const tg = buildTrainGraph(w, { tau: 0.1, focal: true }, { h: grid, w: grid });
  const { session: s } = await createSession(tg.onnx, { threads, spin: true });
  // realistic chunks: features of 8 fake images, 2 of them with an anomalous corner
  const sampler = new ChunkSampler(fakeLevel(C, grid, seed + 1).images, C, grid, grid);
  const chunk = sampler.sample(N, rng, false);
  const nNormal = N - chunk.anomalous;
  const kIdx = Math.floor(nNormal * 0.01);
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor('float32', chunk.x, [N, C]), row: new ort.Tensor('int64', chunk.row, [N]), col: new ort.Tensor('int64', chunk.col, [N]),
    pe_row: new ort.Tensor('float32', positionTable(grid), [grid, 64]), pe_col: new ort.Tensor('float32', positionTable(grid), [grid, 64]),
    mask: new ort.Tensor('float32', chunk.mask, [N]), k: new ort.Tensor('int64', BigInt64Array.from([BigInt(kIdx + 1)]), [1]),
    k_index: new ort.Tensor('int64', BigInt64Array.from([BigInt(kIdx)]), []), lambda: new ort.Tensor('float32', Float32Array.from([1]), []),
  };
  for (const [name, p] of w.params) feeds[name] = new ort.Tensor('float32', p.data, p.shape);
  return { run: async () => { await s.run(feeds); }, release: () => s.release() };
}

export async function benchEngine(opts: EngineBenchOptions = {}, log: (l: string) => void = () => undefined): Promise<EngineBenchResult> {
  const N = opts.positions ?? 4096;
  const blocks = opts.blocks ?? 8;
  const threads = opts.threads ?? Math.min(2, cpus().length);
  const seconds = opts.seconds ?? 3;
  const channels = opts.channels ?? [24, 96, 200];
  log(`MatMul reference (${threads} threads)...`);
  const mm = await matmulGflops(threads, seconds);
  const flows: FlowBench[] = [];
  for (const C of channels) {
    log(`training step C=${C}...`);
    const grid = 64;
    const r = await levelRunner(C, grid, N, blocks, threads, C);
    const ms = await timeLoop(() => r.run(), seconds);
    await r.release();
    const flops = trainStepFlops(C, N, blocks, grid);
    flows.push({ channels: C, grid, stepMs: ms, positionsPerSecond: (N / ms) * 1000, trainStepGflops: flops / (ms * 1e6), gflopPerStep: flops / 1e9 });
  }
  // the three MobileNetV2 levels (C = 24/32/96 on 64/32/16 grids) through the real trainer:
  // equal chunks of N (the reference's layout) and the fast preset's (N, N/2, N/4); each level
  // in its own worker thread (as trained), or all levels taking turns in one thread
  const threeLevels = async (levelPositions: 'equal' | 'sqrt', workers: boolean): Promise<number> => {
    const levels = ([[24, 64], [32, 32], [96, 16]] as const).map(([C, g], i) => fakeLevel(C, g, 100 + i));
    const cfg = resolveConfig('fast', { positionsPerStep: N, levelPositions, blocks, seed: 1 });
    const hooks = { threads, inThread: !workers, levelWorkerPath: opts.levelWorkerPath };
    const short = await trainFlows(levels, cfg, 2, hooks);
    const perStep = short.trainMs / 2;
    const steps = 2 + Math.max(4, Math.round((seconds * 1000) / perStep));
    const long = await trainFlows(levels, cfg, steps, hooks);
    return (long.trainMs - short.trainMs) / (steps - 2);
  };
  log('three-level BGAD step (24/32/96), levels in worker threads and in one thread...');
  const equalPar = await threeLevels('equal', true);
  const equalSeq = await threeLevels('equal', false);
  const fastPar = await threeLevels('sqrt', true);
  const fastSeq = await threeLevels('sqrt', false);
  const best = Math.min(equalSeq, equalPar);
  const mean = (f: (x: FlowBench) => number) => flows.reduce((a, x) => a + f(x), 0) / flows.length;
  const stepG = mean((f) => f.trainStepGflops);
  return {
    cores: cpus().length,
    threads,
    positions: N,
    blocks,
    condDim: 128,
    matmulGflops: mm,
    flows,
    positionsPerSecond: mean((f) => f.positionsPerSecond),
    trainStepGflops: stepG,
    fractionOfMatmul: stepG / mm,
    bgadThreeLevels: {
      stepMs: best,
      positionsPerSecond: (N / best) * 1000,
      levelsRunConcurrently: equalPar < equalSeq,
      sequentialMs: equalSeq,
      concurrentMs: equalPar,
      fastPresetChunks: { positions: [N, N / 2, N / 4], sequentialMs: fastSeq, concurrentMs: fastPar },
    },
  };
}
