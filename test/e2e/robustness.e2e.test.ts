/**
 * The Models view's unseen-defect robustness report end to end, in Debian's Chromium through
 * browser mode: a synthetic category imported and one report made through the API (few steps),
 * then in the page: the report's table (one row per defect type) and grouped bar chart, the
 * figure switched, the CSV saved to a typed path; a new report started from the button shows
 * its progress and is cancelled. Screenshots go to test-artifacts/e2e/ like the other e2e tests'.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, jobDone, launchPage, SHOTS } from './harness';
import { startServe } from '../../src-main/api-host/serve';
import { parseCsv } from '../../src-main/reports/csv';
import { generateSyntheticDataset } from '../../src-main/synth/generate';


let dir: string;
let serve: Awaited<ReturnType<typeof startServe>>;
let browser: Browser;
let page: Page;
let datasetId: number;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'bgad-e2e-robustness-'));
  const synth = await generateSyntheticDataset({ outDir: join(dir, 'photos'), seed: 3, sizePx: 64, categories: ['grain'] });
  serve = await startServe({ appRoot: process.cwd(), dataDir: join(dir, 'data'), out: () => {} });
  const h = serve.services.handlers;
  datasetId = (await h['datasets.create']({ name: 'Grain' })).id;
  expect((await jobDone(h, (await h['datasets.importFolder']({ datasetId, folder: synth.categories[0]!.dir })).jobId)).status).toBe('completed');
  const job = await jobDone(h, (await h['models.robustness']({ datasetId, backboneId: 'mobilenetv2', params: { steps: 4, batchSize: 256 } })).jobId);
  expect(job.status, JSON.stringify(job.error)).toBe('completed');
  ({ browser, page } = await launchPage(pageErrors, 1000));
}, 420_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasChromium)('the unseen-defect report in the Models view', () => {
  it('shows the stored report as a table and a grouped bar chart, and saves it as CSV', async () => {
    await page.goto(`${serve.server.url}#/models?ds=${datasetId}`);
    await expect.poll(() => page.getByTestId('app-mode').textContent()).toContain('Browser mode');
    await page.keyboard.press('Alt+4');
    const panel = page.getByTestId('robustness');
    await panel.scrollIntoViewIfNeeded();
    await expect.poll(() => page.getByTestId('robustness-row').count(), { timeout: 20_000 }).toBe(3);
    const first = await page.getByTestId('robustness-row').first().textContent();
    expect(first).toMatch(/^crack6(\d\.\d{3}){9}$/);
    expect(await page.getByTestId('robustness-chart').getAttribute('data-groups')).toBe('3');
    await page.getByTestId('robustness-metric').selectOption('recall');
    await expect.poll(() => panel.textContent()).toContain('Recall at the threshold per defect type');
    expect(await page.getByTestId('robustness-chart').getAttribute('data-y-title')).toBe('Recall at the threshold');
    await panel.screenshot({ path: join(SHOTS, 'robustness-report.png') });

    const out = join(dir, 'grain-robustness');
    await page.getByTestId('robustness-report-path').fill(out);
    await page.getByTestId('robustness-csv').click();
    await expect.poll(() => existsSync(`${out}.csv`), { timeout: 20_000 }).toBe(true);
    const rows = parseCsv(readFileSync(`${out}.csv`, 'utf8'));
    expect(rows.map((r) => r[0])).toEqual(['type', 'crack', 'scratch', 'spot', '(mean)']);
  }, 60_000);

  it('starts a new report from the button with progress, and cancels it', async () => {
    await page.getByTestId('robustness-start').click();
    await expect.poll(() => page.getByTestId('robustness-progress').count(), { timeout: 20_000 }).toBe(1);
    // cancelled while the first training takes its steps (the progress names the run and the step)
    await expect.poll(() => page.getByTestId('robustness-progress').textContent(), { timeout: 120_000 }).toMatch(/baseline \(no known anomalies\) \(1 of 5\): training step/);
    await page.getByTestId('robustness-progress').screenshot({ path: join(SHOTS, 'robustness-running.png') });
    await page.getByTestId('robustness-cancel').click();
    await expect.poll(() => page.getByTestId('robustness-start').count(), { timeout: 60_000 }).toBe(1);
    const jobs = (await serve.services.handlers['jobs.list']({})).filter((j) => j.kind === 'robustness');
    expect(jobs.map((j) => j.status).sort()).toEqual(['cancelled', 'completed']);
    // still the one stored report
    expect(await serve.services.handlers['models.robustnessReports']({ datasetId })).toHaveLength(1);
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
