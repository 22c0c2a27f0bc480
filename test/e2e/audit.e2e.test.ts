/**
 * The Audit view end to end, in Debian's Chromium through browser mode: a synthetic category
 * imported (its masks are audited) and a few audited changes made through the services (labels, a
 * deleted dataset),
 * then in the page: open the Audit view (Alt+8), see the events, filter by kind and by text,
 * and export the filtered log as CSV. Screenshots go to test-artifacts/e2e/ like the other e2e tests'.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, jobDone, launchPage, SHOTS } from './harness';
import type { ApiHandlers } from '../../src-main/common/api';
import { startServe } from '../../src-main/api-host/serve';
import { parseCsv } from '../../src-main/reports/csv';
import { generateSyntheticDataset } from '../../src-main/synth/generate';


let dir: string;
let serve: Awaited<ReturnType<typeof startServe>>;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** Audited changes: three images relabelled, and a dataset created and deleted. */
async function auditedChanges(h: ApiHandlers, category: string): Promise<void> {
  const ds = await h['datasets.create']({ name: 'Grain audit' });
  expect((await jobDone(h, (await h['datasets.importFolder']({ datasetId: ds.id, folder: category })).jobId)).status).toBe('completed');
  const page = await h['images.list']({ datasetId: ds.id, label: 'good', limit: 3 });
  for (const img of page.items) await h['images.setLabel']({ imageIds: [img.id], label: 'unlabelled' });
  const gone = await h['datasets.create']({ name: 'Old trial' });
  await h['datasets.delete']({ datasetId: gone.id, confirmName: 'Old trial' });
}

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'bgad-e2e-audit-'));
  const synth = await generateSyntheticDataset({ outDir: join(dir, 'photos'), seed: 3, sizePx: 32, categories: ['grain'] });
  serve = await startServe({ appRoot: process.cwd(), dataDir: join(dir, 'data'), out: () => {} });
  await auditedChanges(serve.services.handlers, synth.categories[0]!.dir);
  ({ browser, page } = await launchPage(pageErrors));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const rows = () => page.getByTestId('audit-row');

describe.skipIf(!hasChromium)('the Audit view in Chromium', () => {
  it('opens with Alt+8 and shows the events newest first', async () => {
    await page.goto(serve.server.url);
    await expect.poll(() => page.getByTestId('app-mode').textContent()).toContain('Browser mode');
    await page.keyboard.press('Alt+8');
    expect(await page.getByTestId('nav-audit').getAttribute('title')).toBe('Audit (Alt+8)');
    // the import's masks (mask.mask_create), the three labels and the deletion
    const total = (await serve.services.handlers['audit.list']({})).total;
    expect(total).toBeGreaterThan(4);
    await expect.poll(() => rows().count()).toBe(Math.min(total, 100));
    expect(await rows().first().getAttribute('data-kind')).toBe('dataset.delete');
    expect(await rows().first().textContent()).toContain('Old trial');
    expect(await page.getByTestId('audit-rows').textContent()).toBe(`rows 1–${Math.min(total, 100)} of ${total}`);
    await page.screenshot({ path: join(SHOTS, 'audit-1-log.png') });
  });

  it('filters by kind and by text', async () => {
    await page.getByTestId('audit-kind-image.label').check();
    await expect.poll(() => rows().count()).toBe(3);
    expect(await rows().first().textContent()).toContain('label: good → unlabelled');
    await page.getByTestId('audit-search').fill('no-such-file');
    await expect.poll(() => page.getByTestId('audit-empty').textContent()).toBe('No events match the filters.');
    await page.getByTestId('audit-search').fill('');
    await expect.poll(() => rows().count()).toBe(3);
    await page.screenshot({ path: join(SHOTS, 'audit-2-filtered.png') });
  });

  it('exports the filtered log as CSV', async () => {
    const out = join(dir, 'labels-audit.csv');
    await page.getByTestId('audit-export-path').fill(out);
    await page.getByTestId('audit-export').click();
    await expect.poll(() => existsSync(out)).toBe(true);
    const csv = parseCsv(readFileSync(out, 'utf8'));
    expect(csv[0]![3]).toBe('kind');
    expect(csv.slice(1).map((r) => r[3])).toEqual(['image.label', 'image.label', 'image.label']);
    await expect.poll(() => page.locator('.notice').last().textContent()).toContain('3 events');
    await page.screenshot({ path: join(SHOTS, 'audit-3-exported.png') });
    expect(pageErrors).toEqual([]);
  });
});
