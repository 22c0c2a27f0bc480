import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import evalCommand, { meanSpread, parseSeeds } from '../../src-main/cli/commands/eval';
import { parseCommandArgs, type CliIO } from '../../src-main/cli/command';
import { CACHE_DIR, synthDataset } from '../helpers/synth-fixture';

function capture(): CliIO & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (l) => lines.push(l), err: () => undefined, progress: () => undefined };
}

describe('bgad eval --seeds and --leave-one-type-out', () => {
  it('parses lists and ranges, and refuses repeats and nonsense', () => {
    expect(parseSeeds('0,1,2')).toEqual([0, 1, 2]);
    expect(parseSeeds('3-5')).toEqual([3, 4, 5]);
    expect(parseSeeds(undefined)).toBeUndefined();
    for (const bad of ['1,1', 'a', '-1', '', '2.5']) expect(() => parseSeeds(bad), bad).toThrow(/--seeds/);
  });

  it('gives the mean and the sample standard deviation', () => {
    const s = meanSpread([0.8, 0.9, null, 1.0])!;
    expect(s.mean).toBeCloseTo(0.9, 12);
    expect(s.sd).toBeCloseTo(0.1, 12);
    expect([s.min, s.max, s.n]).toEqual([0.8, 1.0, 3]);
    expect(meanSpread([null, undefined, NaN])).toBeNull();
    expect(meanSpread([0.7])!.sd).toBe(0);
  });

  it('trains once per seed, prints each run and the mean and spread, and writes them as JSON', async () => {
    const data = join(await synthDataset(), 'grain');
    const json = join(mkdtempSync(join(tmpdir(), 'bgad-eval-seeds-')), 'seeds.json');
    const io = capture();
    const args = parseCommandArgs(evalCommand, ['--data', data, '--seeds', '0,1', '--steps', '8', '--anomalies', '2', '--anomaly-types', 'crack', '--cache-dir', CACHE_DIR, '--json', json, '-q']);
    expect(await evalCommand.run(args, io)).toBe(0);
    const r = JSON.parse(readFileSync(json, 'utf8')) as {
      seeds: number[];
      runs: { seed: number; imageAuroc: number; unseenMeanImageAuroc: number | null; perType: Record<string, { seen: boolean; imageAuroc: number }> }[];
      summary: Record<string, { mean: number; sd: number; n: number } | null>;
    };
    expect(r.seeds).toEqual([0, 1]);
    expect(r.runs.map((x) => x.seed)).toEqual([0, 1]);
    const m = (r.runs[0]!.imageAuroc + r.runs[1]!.imageAuroc) / 2;
    expect(r.summary.imageAuroc!.mean).toBeCloseTo(m, 12);
    expect(r.summary.imageAuroc!.sd).toBeCloseTo(Math.abs(r.runs[0]!.imageAuroc - r.runs[1]!.imageAuroc) / Math.SQRT2, 12);
    // the unseen protocol's figure: the mean image AUROC over the types no known anomaly came from
    const unseen = Object.values(r.runs[0]!.perType).filter((t) => !t.seen).map((t) => t.imageAuroc);
    expect(unseen.length).toBeGreaterThan(0);
    expect(r.runs[0]!.unseenMeanImageAuroc).toBeCloseTo(unseen.reduce((a, b) => a + b, 0) / unseen.length, 12);
    expect(io.lines.some((l) => /^over seeds 0, 1: mean ± sample standard deviation$/.test(l))).toBe(true);
    expect(io.lines.some((l) => /^mean image AUROC of unseen types\s+\d\.\d{3} ± \d\.\d{3}/.test(l))).toBe(true);
    // both runs printed in full
    expect(io.lines.filter((l) => /seed [01]$/.test(l))).toHaveLength(2);
  }, 600_000);

  it('--leave-one-type-out: one row per defect type with its seen, unseen and baseline figures', async () => {
    const data = join(await synthDataset(), 'grain');
    const json = join(mkdtempSync(join(tmpdir(), 'bgad-eval-loto-')), 'loto.json');
    const io = capture();
    const args = parseCommandArgs(evalCommand, ['--data', data, '--leave-one-type-out', '--steps', '8', '--anomalies', '3', '--cache-dir', CACHE_DIR, '--json', json, '-q']);
    expect(await evalCommand.run(args, io)).toBe(0);
    const r = JSON.parse(readFileSync(json, 'utf8')) as {
      types: string[];
      rows: { type: string; count: number; seen: { imageAuroc: number; recall: number } | null; unseen: { imageAuroc: number; recall: number } | null; baseline: { imageAuroc: number } }[];
      runs: { protocol: string; anomalies: { type: string }[]; perType: Record<string, { imageAuroc: number; seen: boolean }> }[];
    };
    expect(r.types).toEqual(['crack', 'scratch', 'spot']);
    expect(r.rows.map((x) => x.type)).toEqual(r.types);
    expect(r.runs.map((x) => x.protocol)).toEqual(['unsupervised', 'seen', 'unseen', 'unseen', 'unseen']);
    r.rows.forEach((row, k) => {
      expect(row.count).toBeGreaterThan(0);
      expect(row.seen!.imageAuroc).toBe(r.runs[1]!.perType[row.type]!.imageAuroc);
      // the held-out run never trained on this type, and its figure is the one reported as unseen
      const held = r.runs[2 + k]!;
      expect(held.anomalies.map((a) => a.type)).not.toContain(row.type);
      expect(held.perType[row.type]!.seen).toBe(false);
      expect(row.unseen!.imageAuroc).toBe(held.perType[row.type]!.imageAuroc);
      expect(row.baseline.imageAuroc).toBe(r.runs[0]!.perType[row.type]!.imageAuroc);
      for (const v of [row.seen!.recall, row.unseen!.recall]) expect(v).toBeGreaterThanOrEqual(0);
    });
    expect(io.lines.filter((l) => /^(crack|scratch|spot)\s+\d+\s+\d\.\d{3}/.test(l))).toHaveLength(3);
  }, 900_000);

  it('refuses --leave-one-type-out with options that choose the known anomalies', async () => {
    const args = parseCommandArgs(evalCommand, ['--data', '/nowhere', '--leave-one-type-out', '--anomaly-types', 'crack']);
    await expect(evalCommand.run(args, capture())).rejects.toThrow(/chooses the known anomalies itself/);
  });

  it('refuses --seed together with --seeds', async () => {
    const args = parseCommandArgs(evalCommand, ['--data', '/nowhere', '--seeds', '0,1', '--seed', '3']);
    await expect(evalCommand.run(args, capture())).rejects.toThrow(/either --seed or --seeds/);
  });
});
