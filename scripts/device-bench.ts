/**
 * GPU check for the engine, run on a lent GPU machine (see README "GPU execution providers").
 * Times one BGAD training step (C = 24, 96, 200; 4096 positions; 8 blocks) and an inference
 * pass (backbone + scoring head, batch 8 at 256x256) on the CPU EP and on the WebGPU EP
 * (Vulkan), and checks that the GPU results agree with the CPU's. Prints one JSON object.
 *
 * Bundled with esbuild (onnxruntime-node external) into .device/ by scripts/device-prepare.sh.
 */
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { initFlowWeights } from '../src-main/bgad/flow';
import { buildTrainGraph } from '../src-main/bgad/train-graph';
import { positionTable } from '../src-main/bgad/posenc';
import { Rng } from '../src-main/bgad/rng';
import { trainStepFlops } from '../src-main/training/bench-engine';

const dir = process.argv[2] ?? '.device';
const N = 4096, GRID = 64;
const result: Record<string, unknown> = { cores: cpus().length, backends: ort.listSupportedBackends() };

async function time(run: () => Promise<unknown>, reps: number): Promise<number> {
  for (let i = 0; i < 3; i++) await run();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await run();
  return (performance.now() - t0) / reps;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function session(model: Uint8Array | string, ep: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model as Uint8Array, { executionProviders: [ep], graphOptimizationLevel: 'all' });
}

const train: Record<string, unknown>[] = [];
for (const C of [24, 96, 200]) {
  const rng = new Rng(C);
  const w = initFlowWeights({ channels: C, blocks: 8 }, rng);
  const tg = buildTrainGraph(w, { tau: 0.1, focal: true }, { h: GRID, w: GRID });
  const mask = Float32Array.from({ length: N }, (_, i) => (i % 40 === 0 ? 1 : 0));
  const nNormal = N - mask.reduce((a, b) => a + b, 0);
  const kIdx = Math.floor(nNormal * 0.01);
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor('float32', Float32Array.from({ length: N * C }, () => rng.normal()), [N, C]),
    row: new ort.Tensor('int64', BigInt64Array.from({ length: N }, (_, i) => BigInt(Math.floor(i / GRID) % GRID)), [N]),
    col: new ort.Tensor('int64', BigInt64Array.from({ length: N }, (_, i) => BigInt(i % GRID)), [N]),
    pe_row: new ort.Tensor('float32', positionTable(GRID), [GRID, 64]),
    pe_col: new ort.Tensor('float32', positionTable(GRID), [GRID, 64]),
    mask: new ort.Tensor('float32', mask, [N]),
    k: new ort.Tensor('int64', BigInt64Array.from([BigInt(kIdx + 1)]), [1]),
    k_index: new ort.Tensor('int64', BigInt64Array.from([BigInt(kIdx)]), []),
    lambda: new ort.Tensor('float32', Float32Array.from([1]), []),
  };
  for (const [name, p] of w.params) feeds[name] = new ort.Tensor('float32', p.data, p.shape);
  const entry: Record<string, unknown> = { channels: C, positions: N, gflopPerStep: trainStepFlops(C, N, 8, GRID) / 1e9 };
  let ref: ort.InferenceSession.OnnxValueMapType | null = null;
  for (const ep of ['cpu', 'webgpu']) {
    try {
      const s = await session(tg.onnx, ep);
      const out = await s.run(feeds);
      const ms = await time(() => s.run(feeds), ep === 'cpu' ? 5 : 20);
      const e: Record<string, unknown> = { stepMs: ms, positionsPerSecond: (N / ms) * 1000, gflops: trainStepFlops(C, N, 8, GRID) / (ms * 1e6), loss: out.loss!.data[0] };
      if (ref) {
        e.lossDiff = Math.abs((out.loss!.data[0] as number) - (ref.loss!.data[0] as number));
        const g = tg.paramNames[0]!;
        e.maxGradDiff = maxAbsDiff(out[`grad.${g}`]!.data as Float32Array, ref[`grad.${g}`]!.data as Float32Array);
      } else ref = out;
      entry[ep] = e;
      await s.release();
    } catch (err) {
      entry[ep] = { error: String((err as Error).message).split('\n')[0] };
    }
  }
  train.push(entry);
  console.error(JSON.stringify(entry));
}
result.trainStep = train;

// inference pass: backbone + scoring head, batch 8
const inference: Record<string, unknown> = {};
try {
  const backbone = readFileSync(join(dir, 'backbone.onnx'));
  const head = readFileSync(join(dir, 'head.onnx'));
  const B = 8, S = 256;
  const rng = new Rng(3);
  const image = new ort.Tensor('float32', Float32Array.from({ length: B * 3 * S * S }, () => rng.next()), [B, 3, S, S]);
  let refMap: Float32Array | null = null;
  for (const ep of ['cpu', 'webgpu']) {
    try {
      const bs = await session(backbone, ep);
      const hs = await session(head, ep);
      const taps = bs.outputNames;
      const run = async () => {
        const f = await bs.run({ image });
        const feeds: Record<string, ort.Tensor> = {};
        taps.forEach((t, k) => (feeds[`feat_${k}`] = f[t]!));
        return hs.run(feeds);
      };
      const out = await run();
      const ms = await time(run, ep === 'cpu' ? 5 : 20);
      const map = out.anomaly_map!.data as Float32Array;
      const e: Record<string, unknown> = { batchMs: ms, msPerImage: ms / B, imagesPerSecond: (B / ms) * 1000 };
      if (refMap) e.maxMapDiff = maxAbsDiff(map, refMap);
      else refMap = map;
      inference[ep] = e;
      await bs.release();
      await hs.release();
    } catch (err) {
      inference[ep] = { error: String((err as Error).message).split('\n')[0] };
    }
  }
} catch (err) {
  inference.error = String(err);
}
result.inference = inference;
console.log(JSON.stringify(result, null, 2));
