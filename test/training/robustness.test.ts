/**
 * The unseen-defect robustness report (training/robustness.ts) on the synthetic dataset
 * (grain: three defect types), small images and few steps: one row per defect type with its
 * seen, unseen and baseline figures, each taken from the run that should give it; the
 * progress covers the whole report; a cancelled report stops. The CLI table is made from it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticDataset } from '../../src-main/synth/generate';
import { scanCategory } from '../../src-main/training/dataset';
import { leaveOneTypeOut, robustnessTableLines, robustnessTypes, type RobustnessReport } from '../../src-main/training/robustness';
import { CACHE_DIR } from '../helpers/synth-fixture';

let dir: string;
let category: string;

/** Few steps and positions, the small backbone, the shared backbone cache: seconds per training; one known anomaly per type. */
const SMALL = { preset: 'fast' as const, overrides: { steps: 4, positionsPerStep: 256 }, anomalies: 3, backboneId: 'mobilenetv2', cacheDir: CACHE_DIR };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-robustness-'));
  const synth = await generateSyntheticDataset({ outDir: dir, seed: 5, sizePx: 64, categories: ['grain'] });
  category = synth.categories[0]!.dir;
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the unseen-defect robustness report', () => {
  let report: RobustnessReport;
  const progress: { fraction: number; message?: string }[] = [];
  const announced: string[] = [];

  it('has one row per defect type with the seen, unseen and baseline figures', async () => {
    report = await leaveOneTypeOut({ dataDir: category }, SMALL, { onProgress: (p) => progress.push(p), onRun: (label, i, n) => announced.push(`${label} ${i}/${n}`) });
    expect(report.types).toEqual(['crack', 'scratch', 'spot']);
    expect(report.rows.map((r) => r.type)).toEqual(report.types);
    expect(report.runs.map((r) => r.protocol)).toEqual(['unsupervised', 'seen', 'unseen', 'unseen', 'unseen']);
    expect(announced).toEqual(['baseline (no known anomalies) 1/5', 'all types known 2/5', 'crack held out 3/5', 'scratch held out 4/5', 'spot held out 5/5']);
    const [base, all, ...held] = report.runs;
    expect(base!.anomaliesUsed).toBe(0);
    report.rows.forEach((row, k) => {
      expect(row.count).toBe(6);
      for (const f of [row.seen!, row.unseen!, row.baseline]) {
        expect(f.imageAuroc).toBeGreaterThanOrEqual(0);
        expect(f.imageAuroc).toBeLessThanOrEqual(1);
        expect(f.pixelAuroc).not.toBeNull();
        expect(f.recall).toBeGreaterThanOrEqual(0);
        expect(f.recall).toBeLessThanOrEqual(1);
      }
      // each figure is the one of the run that should give it
      expect(row.seen!.imageAuroc).toBe(all!.perType[row.type]!.imageAuroc);
      expect(all!.perType[row.type]!.seen).toBe(true);
      expect(held[k]!.anomalies.map((a) => a.type)).not.toContain(row.type);
      expect(held[k]!.anomalies.length).toBeGreaterThan(0);
      expect(held[k]!.perType[row.type]!.seen).toBe(false);
      expect(row.unseen!.imageAuroc).toBe(held[k]!.perType[row.type]!.imageAuroc);
      expect(row.baseline.imageAuroc).toBe(base!.perType[row.type]!.imageAuroc);
    });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(report.meanImageAuroc.unseen).toBeCloseTo(mean(report.rows.map((r) => r.unseen!.imageAuroc)), 12);
    // one progress over the whole report, that never goes back, naming the run
    const fractions = progress.map((p) => p.fraction);
    expect(fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1]! - 1e-9))).toBe(true);
    expect(fractions.at(-1)).toBeGreaterThan(0.95);
    expect(progress.some((p) => /^spot held out \(5 of 5\)/.test(p.message ?? ''))).toBe(true);
  }, 120_000);

  it('prints the table the CLI shows: a row per type and the means', () => {
    const lines = robustnessTableLines(report);
    expect(lines[0]).toMatch(/^grain: unseen-defect robustness, backbone mobilenetv2, preset fast/);
    expect(lines.filter((l) => /^(crack|scratch|spot)\s+6\s+\d\.\d{3} /.test(l))).toHaveLength(3);
    expect(lines.at(-1)).toMatch(/^mean image AUROC/);
  });

  it('needs two defect types or more, and says so', () => {
    const cat = scanCategory(category);
    expect(() => robustnessTypes({ ...cat, defectTypes: ['crack'] })).toThrow(/at least two defect types.*found crack/);
  });

  it('stops when cancelled, in the middle of a training', async () => {
    const ac = new AbortController();
    const runs: string[] = [];
    const p = leaveOneTypeOut({ dataDir: category }, SMALL, {
      signal: ac.signal,
      onRun: (label) => runs.push(label),
      onProgress: (pr) => {
        if (/training/.test(pr.message ?? '')) ac.abort();
      },
    });
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(runs).toEqual(['baseline (no known anomalies)']);
  }, 60_000);
});
