import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { EngineHost } from '../../src-main/engine/engine-host';
import { loadBundle } from '../../src-main/model/bundle-file';
import { scanCategory } from '../../src-main/training/dataset';
import { CACHE_DIR, REPO, ensureBuilt, synthDataset } from '../helpers/synth-fixture';

let host: EngineHost;
let data: string;
const out = mkdtempSync(join(tmpdir(), 'bgad-engine-'));

beforeAll(async () => {
  ensureBuilt();
  data = join(await synthDataset(['woven_grid']), 'woven_grid');
  host = EngineHost.workerThread(join(REPO, 'dist', 'engine', 'worker.js'));
});
afterAll(async () => host?.dispose());

describe('engine host (training off the caller\'s event loop)', () => {
  it('trains a model in the engine worker and writes a loadable bundle', async () => {
    const steps: number[] = [];
    const r = await host.run('train', { dataDir: data, out: join(out, 'm.bgad'), anomalies: 3, overrides: { steps: 20 }, cacheDir: CACHE_DIR, threads: 1 }, {
      onProgress: (p) => steps.push(p.fraction),
    });
    expect(steps.length).toBeGreaterThan(2);
    expect(Math.max(...steps)).toBeCloseTo(1, 5);
    const b = await loadBundle(r.out);
    expect(b.meta.threshold).toBe(r.threshold);
    expect(b.meta.anomaliesUsed).toHaveLength(3);
    // the frozen test split's scores come back with the model (scored by the job when it does not evaluate)
    const cat = scanCategory(data);
    expect(r.testScores.normal).toHaveLength(cat.testGood.length);
    expect(r.testScores.defect).toHaveLength(cat.testDefects.length);
    expect([...r.testScores.normal, ...r.testScores.defect].every(Number.isFinite)).toBe(true);
    expect(r.backbone).toEqual(b.meta.backbone);
  }, 240_000); // 12 s alone; over 60 s with the rest of the suite on 2 busy cores

  it('keeps the event loop responsive during training (no stall as long as a step) and cancels a running training within 1 s', async () => {
    // Training on the event loop would stall it for a whole step at every step (native work);
    // off it, only an odd GC pause or a busy machine delays a tick. The step time is measured
    // in the same run, so a loaded machine (slower steps, later ticks) moves both alike.
    const lags: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      lags.push(now - last - 10);
      last = now;
    }, 10);
    const ac = new AbortController();
    let trainingSteps = 0;
    let cancelledAt = 0;
    const stepTimes: { step: number; at: number }[] = [];
    const job = host.run('train', { dataDir: data, out: join(out, 'long.bgad'), anomalies: 3, overrides: { steps: 100000 }, cacheDir: CACHE_DIR, threads: 1 }, {
      signal: ac.signal,
      onProgress: (p) => {
        const d = p.data as { step?: number } | undefined;
        if (d?.step) {
          trainingSteps = d.step;
          stepTimes.push({ step: d.step, at: performance.now() });
        }
        if (trainingSteps >= 8 && !cancelledAt) {
          cancelledAt = performance.now();
          ac.abort();
        }
      },
    });
    await expect(job).rejects.toMatchObject({ code: 'CANCELLED' });
    const stopMs = performance.now() - cancelledAt;
    clearInterval(timer);
    expect(trainingSteps).toBeGreaterThanOrEqual(8);
    expect(stopMs).toBeLessThan(1000);
    const first = stepTimes[0]!, lastStep = stepTimes.at(-1)!;
    const stepMs = (lastStep.at - first.at) / Math.max(1, lastStep.step - first.step);
    expect(stepMs).toBeGreaterThan(0);
    const stalls = lags.filter((l) => l > 0.8 * stepMs);
    expect(stalls.length, `step ${stepMs.toFixed(0)} ms, lags over 80 % of it: ${stalls.map((l) => l.toFixed(0)).join(', ')}`).toBeLessThanOrEqual(1);
  });

  it('starts a paper-preset training that shows progress with an ETA and can be cancelled', async () => {
    const ac = new AbortController();
    let seen: { step: number; steps: number; etaMs?: number } | null = null;
    const job = host.run('train', { dataDir: data, out: join(out, 'paper.bgad'), anomalies: 3, preset: 'paper', cacheDir: CACHE_DIR, threads: 1 }, {
      signal: ac.signal,
      onProgress: (p) => {
        const d = p.data as { step?: number; steps?: number } | undefined;
        if (d?.step && d.step >= 2 && !seen) {
          seen = { step: d.step, steps: d.steps!, etaMs: p.etaMs };
          ac.abort();
        }
      },
    });
    await expect(job).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(seen).not.toBeNull();
    // 200 epochs over every position of the pool: far more steps than the fast preset's 1200
    // (about 8,800 with inceptionv3-lite's 60x60 finest level, 10,000 and more at 64x64)
    expect(seen!.steps).toBeGreaterThanOrEqual(5_000);
    expect(seen!.etaMs).toBeGreaterThan(0);
  });

  it('runs the next job on a fresh worker after a job was killed, without failing it', async () => {
    const ac = new AbortController();
    const hung = host.run('sleep', { ms: 60_000, ignoreCancel: true }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(hung).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(host.run('sleep', { ms: 300 })).resolves.toMatchObject({ sleptMs: expect.any(Number) });
  });

  it('gives up a job cancelled inside ONNX Runtime without ending the process (the worker is retired, not terminated), and the next job runs', async () => {
    // a fresh feature cache (the converted backbone is shared), so the job spends its time in
    // ONNX Runtime extracting features; a 20 ms hard-cancel limit gives it up mid-call. Ending a
    // worker thread there aborted the whole process ("terminate called after throwing").
    const quick = EngineHost.workerThread(join(REPO, 'dist', 'engine', 'worker.js'), 20);
    const cache = mkdtempSync(join(tmpdir(), 'bgad-engine-cache-'));
    symlinkSync(join(CACHE_DIR, 'backbones'), join(cache, 'backbones'), 'dir');
    try {
      for (const delayMs of [0, 150, 400]) {
        const ac = new AbortController();
        let seen = false;
        const job = quick.run('train', { dataDir: data, out: join(out, `cut-${delayMs}.bgad`), anomalies: 3, overrides: { steps: 20 }, cacheDir: cache, threads: 1 }, {
          signal: ac.signal,
          onProgress: (p) => {
            if (seen || !/feature|extract/i.test(p.message ?? '')) return;
            seen = true;
            setTimeout(() => ac.abort(), delayMs);
          },
        });
        await expect(job).rejects.toMatchObject({ code: 'CANCELLED' });
        expect(seen).toBe(true);
      }
      await expect(quick.run('sleep', { ms: 20 })).resolves.toMatchObject({ sleptMs: expect.any(Number) });
    } finally {
      await quick.dispose(1000);
    }
  });

  it('answers an unknown job kind with a clear error and stays usable', async () => {
    await expect(host.run('no-such-job' as 'sleep', {})).rejects.toThrow(/no job kind "no-such-job"/);
    await expect(host.run('sleep', { ms: 20 })).resolves.toMatchObject({ sleptMs: expect.any(Number) });
  });

  it('validates a job\'s params with the engine job contract before the job runs', async () => {
    await expect(host.run('sleep', { ms: 'long' } as never)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/sleep params\.ms/) });
    await expect(host.run('export-model', { bundle: '/m.bgad' } as never)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/export-model params\.out/) });
  });
});
