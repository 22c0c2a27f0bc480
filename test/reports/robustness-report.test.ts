/** The robustness report's CSV and PDF (reports/robustness.ts) from a stored report: every row, empty cells where a figure does not exist, formula-safe names. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RobustnessReport } from '../../src-main/common/robustness';
import { parseCsv } from '../../src-main/reports/csv';
import { ROBUSTNESS_CSV_COLUMNS, robustnessCsv, writeRobustnessPdf } from '../../src-main/reports/robustness';
import { pdfText } from '../helpers/pdf-text';

const dir = mkdtempSync(join(tmpdir(), 'bgad-robustness-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fig = (imageAuroc: number, pixelAuroc: number | null = imageAuroc - 0.02, recall = 0.5) => ({ imageAuroc, pixelAuroc, recall });
const run = (protocol: 'unsupervised' | 'seen' | 'unseen', types: string[]) => ({
  dataset: 'Tiles', imageAuroc: 0.8, pixelAuroc: 0.9, aupro: 0.7, f1: 0.6, threshold: 1.2345, perType: {}, unseenMeanImageAuroc: null, trainSeconds: 12, totalSeconds: 20,
  featureMsPerImage: null, inferMsPerImage: 3, peakRssMb: 500, anomaliesUsed: types.length, anomalies: types.map((type) => ({ type, file: `${type}.png` })), protocol, backbone: 'mobilenetv2',
  preset: 'fast', seed: 0, steps: 40, nanSteps: 0, testCounts: { good: 12, defective: 18 }, skippedImages: [], note: '',
});

const report: RobustnessReport = {
  dataset: 'Tiles', backbone: 'mobilenetv2', preset: 'fast', seed: 0, types: ['=crack', 'blowhole'],
  rows: [
    { type: '=crack', count: 6, seen: fig(0.95), unseen: fig(0.81), baseline: fig(0.7, null, 0.25) },
    { type: 'blowhole', count: 5, seen: fig(0.9), unseen: null, baseline: fig(0.6) },
  ],
  meanImageAuroc: { seen: 0.925, unseen: 0.81, baseline: 0.65 },
  runs: [run('unsupervised', []), run('seen', ['=crack', 'blowhole']), run('unseen', ['blowhole']), run('unseen', ['=crack'])],
};

describe('the robustness report as CSV and PDF', () => {
  it('CSV: a row per defect type with the nine figures, an empty cell where there is none, then the means', () => {
    const rows = parseCsv(robustnessCsv(report));
    expect(rows[0]).toEqual([...ROBUSTNESS_CSV_COLUMNS]);
    expect(rows[0]).toEqual(['type', 'n', 'seen_image_auroc', 'seen_pixel_auroc', 'seen_recall', 'unseen_image_auroc', 'unseen_pixel_auroc', 'unseen_recall', 'baseline_image_auroc', 'baseline_pixel_auroc', 'baseline_recall']);
    // a name that looks like a formula is written as text
    expect(rows[1]).toEqual(["'=crack", '6', '0.9500', '0.9300', '0.5000', '0.8100', '0.7900', '0.5000', '0.7000', '', '0.2500']);
    expect(rows[2]).toEqual(['blowhole', '5', '0.9000', '0.8800', '0.5000', '', '', '', '0.6000', '0.5800', '0.5000']);
    expect(rows[3]).toEqual(['(mean)', '', '0.9250', '', '', '0.8100', '', '', '0.6500', '', '']);
    expect(rows).toHaveLength(4);
  });

  it('PDF: the title, the dataset, the table rows and the runs', async () => {
    const file = join(dir, 'r.pdf');
    await writeRobustnessPdf(file, { report, createdAtMs: Date.UTC(2025, 4, 4, 10, 0), durationMs: 90_000, datasetName: 'Tiles line 2' });
    const text = await pdfText(file);
    expect(text).toContain('Will it catch a defect we have never seen?');
    expect(text).toContain('"Tiles line 2"');
    expect(text).toContain('2025-05-04 10:00 UTC');
    expect(text).toMatch(/=crack\s+6\s+0\.950\s+0\.930\s+0\.500\s+0\.810\s+0\.790\s+0\.500\s+0\.700\s+–\s+0\.250/);
    expect(text).toMatch(/blowhole\s+5\s+0\.900\s+0\.880\s+0\.500\s+–\s+–\s+–\s+0\.600/);
    expect(text).toMatch(/mean image AUROC\s+0\.925\s+0\.810\s+0\.650/);
    expect(text).toMatch(/blowhole held out: 1 known anomaly \(=crack\)/);
    expect(text).toMatch(/all types known: 2 known anomalies \(=crack, blowhole\)/);
    expect(text).toMatch(/baseline \(no known anomalies\): no known anomalies/);
  });
});
