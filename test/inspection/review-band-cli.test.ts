/**
 * `bgad inspect --review-band` / `--review-range` on the small trained fixture model (issue 20):
 * off by default (exit statuses as documented), the model's band from its bundle, exit 4 for
 * "only reviews", fail before review, the CSV and PDF carry the reviews, re-judging a folder
 * without re-scoring, and a bundle written before the band existed loads and inspects as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withReviewBand, type ModelBundle } from '../../src-main/bgad/bundle';
import { loadBundle, readModelSource, saveBundle } from '../../src-main/model/bundle-file';
import { parseCsv } from '../../src-main/reports/csv';
import { pdfText } from '../helpers/pdf-text';
import { bundledCli, getFixture, removeDir, REPO_ROOT, tempDir, type Fixture } from './fixture';

let fx: Fixture;
let cli: string;
let root: string;
/** Scores of good/000..003 without a band, by file. */
let scores: Map<string, number>;
let threshold: number;
/** A band up to the threshold that catches the two highest of the four good scores. */
let band: { low: number; high: number };

type Summary = { total: number; pass: number; fail: number; error: number; review: number; resumed: number; reviewBand: { low: number; high: number } | null; files: { path: string; score: number; verdict: string }[] };

function bgad(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const GOOD = ['--include', 'good/00[0-3].png'];
const inspect = (model: string, out: string, ...extra: string[]) =>
  bgad(['inspect', '--model', model, '--input', fx.testDir, '--out', join(root, out), '--threads', '2', '--format', 'csv', '-q', ...extra]);

beforeAll(async () => {
  [fx, cli] = await Promise.all([getFixture(), bundledCli()]);
  root = tempDir('bgad-review-band-');
  const r = inspect(fx.modelPath, 'plain', ...GOOD, '--json');
  expect(r.code).toBe(0);
  const s = JSON.parse(r.out) as Summary;
  scores = new Map(s.files.map((f) => [f.path, f.score]));
  threshold = fx.bundle.meta.threshold;
  const sorted = [...scores.values()].sort((a, b) => a - b);
  expect(sorted[3]).toBeLessThanOrEqual(threshold); // all four pass
  expect(sorted[2]).toBeGreaterThan(sorted[1]!);
  band = { low: (sorted[1]! + sorted[2]!) / 2, high: threshold }; // a fail stays a fail
}, 300_000);
afterAll(() => removeDir(root));

describe('bgad inspect --review-range', () => {
  it('gives the images in the band the verdict review, exits 4, and writes them in the CSV and the PDF', async () => {
    const r = bgad(['inspect', '--model', fx.modelPath, '--input', fx.testDir, '--out', join(root, 'range'), ...GOOD, '--threads', '2', '--format', 'csv,pdf', '-q', '--review-range', `${band.low},${band.high}`]);
    expect(r.err).toBe('');
    expect(r.code).toBe(4);
    expect(r.out).toMatch(/4 files: 2 pass, 0 fail, 0 error, 2 review; threshold [\d.]+ \(the model's\); review when [\d.]+ < score <= [\d.]+/);
    const reviewed = [...scores].filter(([, s]) => s > band.low).map(([p]) => p).sort();
    expect(reviewed).toHaveLength(2);
    for (const p of reviewed) expect(r.out).toContain(`review ${p}  score`);
    const rows = parseCsv(readFileSync(join(root, 'range', 'results.csv'), 'utf8')).slice(1).filter((x) => x.length > 1);
    expect(rows.filter((x) => x[3] === 'review').map((x) => x[0]).sort()).toEqual(reviewed);
    expect(rows.filter((x) => x[3] === 'pass')).toHaveLength(2);
    const pdf = await pdfText(join(root, 'range', 'report.pdf'));
    expect(pdf).toMatch(/Total Pass Fail Error Review\s+4 2 0 0 2/);
    expect(pdf).toContain('Images to review (2)');
    expect(pdf).toMatch(/review when [\d.]+ < score <= [\d.]+/);
  });

  it('exits 1 when a file fails, whatever is in the band', () => {
    const r = inspect(fx.modelPath, 'fail-and-review', '--include', 'good/00[0-3].png', '--include', 'spot/000.png', '--review-range', `${band.low},${band.high}`);
    expect(r.out).toMatch(/5 files: 2 pass, 1 fail, 0 error, 2 review/);
    expect(r.code).toBe(1);
  });

  it('refuses a range that does not hold the threshold or is not two numbers (exit 2)', () => {
    const beside = inspect(fx.modelPath, 'beside', ...GOOD, '--review-range', `${threshold + 1},${threshold + 2}`);
    expect(beside.code).toBe(2);
    expect(beside.err).toMatch(/does not hold the threshold/);
    const junk = inspect(fx.modelPath, 'junk', ...GOOD, '--review-range', 'low,high');
    expect(junk.code).toBe(2);
    expect(junk.err).toMatch(/--review-range must be two numbers LOW,HIGH/);
  });
});

describe('bgad inspect --review-band with the model\'s band', () => {
  let banded: string;
  beforeAll(async () => {
    banded = join(root, 'banded.bgad');
    await saveBundle(banded, withReviewBand(fx.bundle, band));
  });

  it('is off by default: the same model passes everything and exits 0; the band re-judges the folder without scoring again', () => {
    const off = inspect(banded, 'banded', ...GOOD);
    expect(off.code).toBe(0);
    expect(off.out).toMatch(/4 files: 4 pass, 0 fail, 0 error; threshold/);
    const on = inspect(banded, 'banded', ...GOOD, '--review-band', '--json');
    expect(on.code).toBe(4);
    const s = JSON.parse(on.out) as Summary;
    expect([s.resumed, s.pass, s.review]).toEqual([4, 2, 2]);
    expect(s.reviewBand).toEqual(band);
    expect(s.files.filter((f) => f.verdict === 'review').map((f) => f.path).sort()).toEqual([...scores].filter(([, x]) => x > band.low).map(([p]) => p).sort());
  });

  it('keeps the scoring identity of the model: a band changes neither scores nor the folder binding', async () => {
    const [a, b] = await Promise.all([readModelSource(fx.modelPath), readModelSource(banded)]);
    expect(a.sha256).not.toBe(b.sha256);
    expect(a.scoringSha256).toBe(b.scoringSha256);
  });

  it('a bundle written before the review band loads and inspects as before; --review-band on it says it has none', async () => {
    const { reviewBand: _b, heldOutScores: _h, ...meta } = fx.bundle.meta;
    const old: ModelBundle = { ...fx.bundle, meta };
    const file = join(root, 'old.bgad');
    await saveBundle(file, old);
    const back = await loadBundle(file);
    expect('reviewBand' in back.meta || 'heldOutScores' in back.meta).toBe(false);
    const r = inspect(file, 'old', ...GOOD, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as Summary;
    expect(s.files.map((f) => [f.path, f.score, f.verdict])).toEqual([...scores].map(([p, x]) => [p, x, 'pass']));
    const asked = inspect(file, 'old-band', ...GOOD, '--review-band');
    expect(asked.code).toBe(2);
    expect(asked.err).toMatch(/has no review band/);
    expect(asked.err).toMatch(/--review-range/);
  });
});

describe('bgad watch --review-band', () => {
  it('refuses a model without a band, and a bad range, before it starts watching (exit 2)', async () => {
    const { reviewBand: _b, ...meta } = fx.bundle.meta;
    const file = join(root, 'watch-old.bgad');
    await saveBundle(file, { ...fx.bundle, meta });
    const watch = (...extra: string[]) => bgad(['watch', '--model', file, '--input', fx.testDir, '--out', join(root, 'watch-out'), '-q', ...extra]);
    const none = watch('--review-band');
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/bgad watch: .*has no review band/);
    const junk = watch('--review-range', '3');
    expect(junk.code).toBe(2);
    expect(junk.err).toMatch(/--review-range must be two numbers/);
    const help = bgad(['watch', '--help']).out;
    expect(help).toMatch(/--review-band {10}judge with the model's review band/);
    expect(help).toMatch(/DIR\/review with a review band/);
  });
});
