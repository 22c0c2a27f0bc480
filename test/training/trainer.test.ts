/**
 * trainFlows: the levels train side by side in worker threads (one ORT session each) or take
 * turns in this thread; both must give the very same model, stop on cancel and on divergence.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src-main/bgad/config';
import { Rng } from '../../src-main/bgad/rng';
import type { EngineProgress } from '../../src-main/common/engine-protocol';
import { trainFlows, type LevelData, type TrainResult } from '../../src-main/training/trainer';
import { bundleForTest } from '../helpers/bundle-for-test';

const REPO_ROOT = join(__dirname, '..', '..');
let workerPath: string;
beforeAll(async () => {
  workerPath = await bundleForTest(REPO_ROOT, join(REPO_ROOT, 'src-main', 'training', 'level-worker.ts'), 'bgad-level-worker', 'level-worker');
}, 120_000);
afterAll(() => rmSync(workerPath, { force: true }));

/** Three levels like a backbone's (finer levels have fewer channels); a few images with defects. */
function levels(opts: { nan?: boolean } = {}): LevelData[] {
  const rng = new Rng(11);
  return [[6, 8], [10, 4], [16, 2]].map(([C, H]) => ({
    channels: C!, height: H!, width: H!,
    images: Array.from({ length: 12 }, (_, i) => {
      const f = new Float32Array(C! * H! * H!);
      for (let j = 0; j < f.length; j++) f[j] = opts.nan ? NaN : rng.normal() + (i >= 10 ? 2 : 0);
      const mask = i >= 10 ? Uint8Array.from({ length: H! * H! }, (_, p) => (p % 3 === 0 ? 1 : 0)) : null;
      return { features: f, mask, weight: 1 };
    }),
  }));
}

const cfg = resolveConfig('fast', { steps: 40, positionsPerStep: 64, seed: 5 });
const weightsOf = (r: TrainResult) => r.levels.map((l) => [...l.weights.params].map(([n, p]) => [n, Array.from(p.data)]));

describe('trainFlows', () => {
  it('gives the same model with the levels in worker threads as in this thread', async () => {
    const inThread = await trainFlows(levels(), cfg, cfg.steps!, { threads: 1 });
    const messages: string[] = [];
    const inWorkers = await trainFlows(levels(), cfg, cfg.steps!, { threads: 2, levelWorkerPath: workerPath, onProgress: (p: EngineProgress) => messages.push(p.message ?? "") });
    expect(weightsOf(inWorkers)).toEqual(weightsOf(inThread));
    expect(inWorkers.curve).toEqual(inThread.curve);
    expect(inWorkers.levels.map((l) => l.boundary)).toEqual(inThread.levels.map((l) => l.boundary));
    expect(inWorkers.nanSteps).toBe(0);
    // the weights moved: this is a trained model, not the initial one
    const init = await trainFlows(levels(), { ...cfg, lr: 0 }, 2, { threads: 1 });
    expect(weightsOf(inWorkers)[0]).not.toEqual(weightsOf(init)[0]);
    expect(messages.at(-1)).toBe(`training step ${cfg.steps}/${cfg.steps}`);
    expect(messages.some((m) => /one after another/.test(m))).toBe(false);
  }, 120_000);

  it('trains in this thread, with the same model, when the worker cannot start', async () => {
    const messages: string[] = [];
    const r = await trainFlows(levels(), cfg, cfg.steps!, { threads: 2, levelWorkerPath: join(REPO_ROOT, 'no-such-level-worker.js'), onProgress: (p) => messages.push(p.message ?? "") });
    const ref = await trainFlows(levels(), cfg, cfg.steps!, { threads: 1 });
    expect(weightsOf(r)).toEqual(weightsOf(ref));
    expect(messages.some((m) => /one after another/.test(m))).toBe(true);
  }, 120_000);

  it('stops every level worker when cancelled', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    const p = trainFlows(levels(), cfg, 100_000, {
      threads: 2, levelWorkerPath: workerPath, signal: ac.signal,
      onProgress: (e) => { if ((e.data as { step?: number } | undefined)?.step) ac.abort(); },
    });
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(performance.now() - t0).toBeLessThan(30_000);
  }, 60_000);

  it('stops with ENGINE_FAILED when the losses are not finite, in workers and in this thread', async () => {
    await expect(trainFlows(levels({ nan: true }), cfg, 400, { threads: 2, levelWorkerPath: workerPath })).rejects.toMatchObject({ code: 'ENGINE_FAILED', message: expect.stringMatching(/diverged/) });
    await expect(trainFlows(levels({ nan: true }), cfg, 400, { threads: 1 })).rejects.toMatchObject({ code: 'ENGINE_FAILED', message: expect.stringMatching(/diverged/) });
  }, 60_000);
});
