/**
 * `bgad bench watch` in short: the fixture model, files dropped at 5/s for 4 s. Checks the
 * report's fields and that it is consistent (one result per file, ordered percentiles, temp
 * folders removed), never timing thresholds (the machine is shared).
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchWatch, percentiles, type BenchWatchReport } from '../../src-main/station/bench';
import { getFixture, type Fixture } from './helpers';

let fx: Fixture;
beforeAll(async () => {
  fx = await getFixture();
}, 300_000);

function checkPercentiles(p: BenchWatchReport['latencyMs']): void {
  for (const k of ['p50', 'p95', 'p99', 'max', 'mean'] as const) expect(Number.isFinite(p[k])).toBe(true);
  expect(p.p50).toBeLessThanOrEqual(p.p95);
  expect(p.p95).toBeLessThanOrEqual(p.p99);
  expect(p.p99).toBeLessThanOrEqual(p.max);
}

describe('bgad bench watch', () => {
  it('percentiles by nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(xs)).toMatchObject({ p50: 50, p95: 95, p99: 99, max: 100, mean: 50.5 });
    expect(percentiles([7])).toMatchObject({ p50: 7, p95: 7, p99: 7 });
    expect(Number.isNaN(percentiles([]).p50)).toBe(true);
  });

  it('drops files at a steady rate and reports one result per file', async () => {
    const lines: string[] = [];
    const r = await benchWatch({ model: fx.modelPath, images: join(fx.testDir, 'good'), rate: 5, seconds: 4, settleMs: 300, warmupSeconds: 1, threads: 1, log: (l) => lines.push(l) });
    expect(r).toMatchObject({ benchmark: 'watch', rate: 5, seconds: 4, settleMs: 300, write: 'atomic-rename', threads: 1 });
    expect(r.dropped).toBe(20);
    expect(r.results).toBe(20);
    expect(r.missing).toBe(0);
    expect(r.duplicates).toBe(0);
    expect(r.reused).toBe(0); // every copy was scored, none answered from the same bytes seen before
    expect(r.verdicts.pass + r.verdicts.fail + r.verdicts.error).toBe(20);
    expect(r.verdicts.error).toBe(0);
    expect(r.steadyFiles).toBeGreaterThan(1);
    expect(r.steadyFiles).toBeLessThanOrEqual(20);
    expect(r.imagesPerSecond).toBeGreaterThan(0);
    expect(r.dropRate).toBeGreaterThan(0);
    checkPercentiles(r.latencyMs);
    checkPercentiles(r.stationLatencyMs);
    expect(r.latencyMs.p50).toBeGreaterThan(0);
    // the settle wait is part of the latency
    expect(r.latencyMs.p50).toBeGreaterThanOrEqual(300);
    expect(r.latencyMinusSettleMs.p50).toBeCloseTo(r.latencyMs.p50 - 300, 5);
    expect(r.cores).toBeGreaterThan(0);
    expect(r.loadAverage.start).toHaveLength(3);
    expect(r.loadAverage.end).toHaveLength(3);
    expect(r.peakRssMb).toBeGreaterThan(0);
    expect(r.cpuMsPerImage).toBeGreaterThan(0);
    expect(r.backlogAtEnd).toBeGreaterThanOrEqual(0);
    expect(r.drainSeconds).toBeGreaterThanOrEqual(0);
    expect(r.target).toMatchObject({ imagesPerSecond: 10, p95Ms: 1000 });
    expect(r.target.line).toMatch(/^TARGET (MET|MISSED): /);
    expect(lines[0]).toMatch(/^bench watch: /);
    expect(existsSync(r.tempDir)).toBe(false);
  }, 300_000);

  it('slow writes: each file is read once, complete', async () => {
    const r = await benchWatch({ model: fx.modelPath, images: join(fx.testDir, 'good'), rate: 4, seconds: 2, settleMs: 400, warmupSeconds: 0, threads: 1, slowWrite: true });
    expect(r.write).toBe('slow-chunks');
    expect(r).toMatchObject({ dropped: 8, results: 8, missing: 0, duplicates: 0 });
    expect(r.verdicts.error).toBe(0);
    expect(existsSync(r.tempDir)).toBe(false);
  }, 300_000);
});
