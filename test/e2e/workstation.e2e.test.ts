/**
 * The workstation end to end, in Debian's Chromium through browser mode: create a dataset,
 * import a synthetic MVTec-layout category, paint a defect with mouse drags, undo and redo,
 * save, reload and find the same mask, train with the fast preset while progress shows, see
 * the new model version with metrics and histogram, inspect a folder and see the results with
 * heat maps. Screenshots of every view go to test-artifacts/e2e/ (kept by CI).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from '../../src-main/api-host/serve';
import { generateSyntheticDataset } from '../../src-main/synth/generate';

const CHROMIUM = process.env.BGAD_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'test-artifacts', 'e2e');
const hasChromium = existsSync(CHROMIUM);

let dir: string;
let category: string;
let serve: Awaited<ReturnType<typeof startServe>>;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

async function maskState(): Promise<{ area: number; hash: string }> {
  const el = page.getByTestId('mask-area');
  const text = (await el.textContent()) ?? '';
  const area = Number(text.replace(/^Mask:\s*/, '').split(' px')[0]!.replace(/\D/g, ''));
  return { area, hash: (await el.getAttribute('data-mask-hash')) ?? '' };
}

async function drag(from: [number, number], to: [number, number]): Promise<void> {
  const box = (await page.getByTestId('annotator-canvas').boundingBox())!;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx + from[0], cy + from[1]);
  await page.mouse.down();
  await page.mouse.move(cx + to[0], cy + to[1], { steps: 12 });
  await page.mouse.up();
}

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'bgad-e2e-'));
  const synth = await generateSyntheticDataset({ outDir: join(dir, 'photos'), seed: 7, sizePx: 64, categories: ['grain'] });
  category = synth.categories[0]!.dir;
  serve = await startServe({ appRoot: process.cwd(), dataDir: join(dir, 'data'), out: () => {} });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
  });
  page.on('dialog', (d) => void d.dismiss());
});

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasChromium)('the workstation in Chromium', () => {
  it('creates a dataset and imports a folder with progress', async () => {
    await page.goto(serve.server.url);
    await expect.poll(() => page.getByTestId('app-mode').textContent()).toContain('Browser mode');
    await page.getByTestId('new-dataset-name').fill('Grain line 1');
    await page.getByTestId('create-dataset').click();
    await expect.poll(() => page.getByTestId('datasets').textContent()).toContain('Grain line 1');
    await page.getByTestId('import-folder').fill(category);
    await expect.poll(() => page.locator('.pathfield .ok').first().textContent()).toContain('MVTec');
    await page.getByTestId('import-start').click();
    await page.getByTestId('import-done').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('import-done').textContent()).toMatch(/Imported 79 of 79/);
    await expect.poll(() => page.getByTestId('image-count').textContent()).toContain('79 images');
    // the grid renders (and requests thumbnails for) only the visible cells
    const cells = await page.getByTestId('thumb').count();
    expect(cells).toBeGreaterThan(0);
    expect(cells).toBeLessThan(79);
    await page.locator('[data-testid=thumb] img').first().evaluate((img: HTMLImageElement) => img.decode());
    await shot('1-datasets');
  });

  it('paints a defect with mouse drags, undoes and redoes, saves and finds the same mask after a reload', async () => {
    await page.getByTestId('filter-label').selectOption('good');
    await page.getByTestId('filter-split').selectOption('test');
    await expect.poll(() => page.getByTestId('image-count').textContent()).toContain('12 images');
    await page.getByTestId('thumb').first().click();
    await page.getByTestId('open-annotator').click();
    await page.getByTestId('mask-area').waitFor();
    expect((await maskState()).area).toBe(0);

    await drag([-120, -60], [100, 40]);
    const one = await maskState();
    expect(one.area).toBeGreaterThan(50);
    await drag([-60, 120], [80, 140]);
    const two = await maskState();
    expect(two.area).toBeGreaterThan(one.area);

    await page.getByTestId('undo').click();
    expect(await maskState()).toEqual(one);
    await page.getByTestId('redo').click();
    expect(await maskState()).toEqual(two);

    await page.getByTestId('save-mask').click().catch(() => undefined); // autosave may have been first
    await expect.poll(() => page.getByTestId('save-state').textContent()).toBe('Saved');
    await shot('2-annotator');

    await page.reload();
    await page.getByTestId('mask-area').waitFor();
    await expect.poll(() => maskState(), { timeout: 15_000 }).toEqual(two);
  });

  it('trains with the fast preset while progress is visible', async () => {
    await page.getByTestId('nav-training').click();
    await page.getByTestId('preset-fast').check();
    await page.locator('details summary').click();
    await page.getByTestId('param-steps').fill('40');
    await page.getByTestId('train-start').click();
    await page.getByTestId('train-progress').waitFor({ timeout: 30_000 });
    await page.getByTestId('loss-chart').waitFor({ timeout: 60_000 }).catch(() => undefined); // curves once the flows train
    await shot('3-training-progress');
    await page.getByTestId('train-done').waitFor({ timeout: 240_000 });
    await page.getByTestId('loss-chart').waitFor();
    await shot('4-training-done');
  });

  it('shows the new model version with metrics and the score histogram', async () => {
    await page.getByTestId('nav-models').click();
    await expect.poll(() => page.getByTestId('model-row').count()).toBe(1);
    const metrics = (await page.getByTestId('model-metrics').textContent()) ?? '';
    expect(metrics).toMatch(/Image AUROC/);
    expect(metrics).toMatch(/\d\.\d{3}Image AUROC/);
    await page.getByTestId('histogram').locator('canvas').waitFor();
    await expect.poll(() => page.getByTestId('threshold-rates').textContent()).toMatch(/False rejects .*%/);
    // dragging the threshold changes the rates shown
    const before = await page.getByTestId('threshold-rates').textContent();
    const box = (await page.getByTestId('histogram').boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.2, box.y + box.height * 0.5);
    await expect.poll(() => page.getByTestId('threshold-rates').textContent()).not.toBe(before);
    await page.getByTestId('roc-chart').waitFor();
    await shot('5-models');
    await page.getByTestId('activate-model').click();
    await expect.poll(() => page.locator('[data-testid=model-row] .badge.active').count()).toBe(1);
  });

  it('inspects a folder and shows the results with heat maps', async () => {
    await page.getByTestId('nav-inspect').click();
    await page.getByTestId('batch-folder').fill(join(category, 'test'));
    await page.getByTestId('batch-start').click();
    await expect.poll(() => page.getByTestId('batch-summary').textContent(), { timeout: 120_000 }).toMatch(/30images/);
    await expect.poll(() => page.getByTestId('result-row').count(), { timeout: 60_000 }).toBe(30);
    const heat = page.getByTestId('result-heatmap').first();
    await heat.evaluate((img: HTMLImageElement) => img.decode());
    expect(await heat.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    // single image by path, with its heat map
    await page.getByTestId('single-path').fill(join(category, 'test', 'good', '000.png'));
    await page.getByTestId('single-inspect').click();
    await expect.poll(() => page.getByTestId('single-result').textContent(), { timeout: 60_000 }).toMatch(/PASS|FAIL/);
    await shot('6-inspect');
  });

  it('shows the settings, and the page logged no errors', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('save-settings').waitFor();
    await shot('7-settings');
    expect(pageErrors).toEqual([]);
  });
});
