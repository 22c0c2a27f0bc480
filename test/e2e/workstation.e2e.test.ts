/**
 * The workstation end to end, in Debian's Chromium through browser mode: create a dataset,
 * import a synthetic MVTec-layout category, paint a defect with mouse drags, undo and redo,
 * save, reload and find the same mask, train with the fast preset while progress shows, see
 * the new model version with metrics and histogram, inspect a folder and see the results with
 * heat maps, page through them, save a report, and see the heat map over the annotated
 * image. Screenshots of every view go to test-artifacts/e2e/ (kept by CI).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchPage, SHOTS } from './harness';
import { startServe } from '../../src-main/api-host/serve';
import { generateSyntheticDataset } from '../../src-main/synth/generate';


let dir: string;
let category: string;
let serve: Awaited<ReturnType<typeof startServe>>;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
/** Messages of confirm()/alert() dialogs, answered yes while acceptDialogs is set, else no. */
const dialogs: string[] = [];
let acceptDialogs = false;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

async function maskState(): Promise<{ area: number; hash: string }> {
  const el = page.getByTestId('mask-area');
  const text = (await el.textContent()) ?? '';
  const area = Number(text.replace(/^Mask:\s*/, '').split(' px')[0]!.replace(/\D/g, ''));
  return { area, hash: (await el.getAttribute('data-mask-hash')) ?? '' };
}

/** Pixels of an annotator layer (Konva canvases: 0 image, 1 heat map, 2 masks): how many are drawn, and their strongest alpha. */
async function layerPixels(layer: 'heat' | 'mask'): Promise<{ drawn: number; maxAlpha: number }> {
  return page.getByTestId('annotator-canvas').evaluate((host, index) => {
    const c = host.querySelectorAll('canvas')[index] as HTMLCanvasElement;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let drawn = 0;
    let maxAlpha = 0;
    for (let i = 3; i < data.length; i += 4) {
      if (data[i]! > 0) drawn++;
      if (data[i]! > maxAlpha) maxAlpha = data[i]!;
    }
    return { drawn, maxAlpha };
  }, layer === 'heat' ? 1 : 2);
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
  ({ browser, page } = await launchPage(pageErrors));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void (acceptDialogs ? d.accept() : d.dismiss());
  });
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
    // images load with the session cookie: no token in their addresses
    expect(await page.locator('[data-testid=thumb] img').first().getAttribute('src')).not.toContain('token');
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
    // not inspected yet: the heat-map toggle is off, and says why
    const toggle = page.getByTestId('heatmap-toggle');
    await expect.poll(() => toggle.getAttribute('data-heatmap')).toBe('missing');
    expect(await toggle.isDisabled()).toBe(true);
    expect(await toggle.getAttribute('title')).toMatch(/not been inspected yet/);

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
    // the input shape is offered beside the preset, square by default
    expect(await page.getByTestId('geometry-square').isChecked()).toBe(true);
    expect(await page.getByTestId('geometry-aspect').isChecked()).toBe(false);
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
    await expect.poll(() => page.getByTestId('rows-indicator').textContent()).toBe('rows 1–30 of 30');
    const heat = page.getByTestId('result-heatmap').first();
    await heat.evaluate((img: HTMLImageElement) => img.decode());
    expect(await heat.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    // pages of 25: PageDown in the table shows the other 5, still highest score first
    const scores = async () => (await page.getByTestId('result-row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-score')))));
    await page.getByTestId('page-size').selectOption('25');
    await expect.poll(() => page.getByTestId('rows-indicator').textContent()).toBe('rows 1–25 of 30');
    const first = await scores();
    expect(first).toHaveLength(25);
    expect(first).toEqual([...first].sort((a, b) => b - a));
    await page.getByTestId('results-wrap').focus();
    await page.keyboard.press('PageDown');
    await expect.poll(() => page.getByTestId('rows-indicator').textContent()).toBe('rows 26–30 of 30');
    const second = await scores();
    expect(second).toHaveLength(5);
    expect(Math.max(...second)).toBeLessThanOrEqual(Math.min(...first));
    await page.keyboard.press('PageUp');
    await expect.poll(() => page.getByTestId('rows-indicator').textContent()).toBe('rows 1–25 of 30');
    // browser mode: the report path is typed (no save dialog); the PDF button writes a .pdf
    expect(await page.getByTestId('report-path-choose').count()).toBe(0);
    expect(await page.getByTestId('report-path').inputValue()).toMatch(/test-inspection-\d+-report$/);
    await page.getByTestId('report-path').fill(join(dir, 'qa-report.csv'));
    await expect.poll(() => page.getByTestId('report-pdf').isEnabled(), { timeout: 30_000 }).toBe(true);
    await page.getByTestId('report-pdf').click();
    await expect.poll(() => existsSync(join(dir, 'qa-report.pdf'))).toBe(true);
    // the same file again: the app asks before replacing it, keeps it on no, replaces it on yes
    const pdf = join(dir, 'qa-report.pdf');
    await expect.poll(() => readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    writeFileSync(pdf, 'kept');
    dialogs.length = 0;
    await page.getByTestId('report-pdf').click();
    await expect.poll(() => dialogs.length).toBe(1);
    expect(dialogs[0]).toContain(pdf);
    expect(dialogs[0]).toMatch(/already exists/);
    await page.waitForTimeout(300);
    expect(readFileSync(pdf, 'utf8')).toBe('kept');
    acceptDialogs = true;
    try {
      await page.getByTestId('report-pdf').click();
      await expect.poll(() => readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    } finally {
      acceptDialogs = false;
    }
    expect(dialogs).toHaveLength(2);
    // single image by path, with its heat map
    await page.getByTestId('single-path').fill(join(category, 'test', 'good', '000.png'));
    await page.getByTestId('single-inspect').click();
    await expect.poll(() => page.getByTestId('single-result').textContent(), { timeout: 60_000 }).toMatch(/PASS|FAIL/);
    await shot('6-inspect');
  });

  it('draws the inspected image\'s heat map over it in the annotator, toggled with H', async () => {
    await page.getByTestId('nav-annotate').click();
    const toggle = page.getByTestId('heatmap-toggle');
    await expect.poll(() => toggle.getAttribute('data-heatmap'), { timeout: 15_000 }).toBe('ready');
    expect(await toggle.isDisabled()).toBe(false);
    expect(await toggle.getAttribute('title')).toMatch(/Heat map of inspection run #\d+ .*\(H\)/);
    expect((await layerPixels('heat')).drawn).toBe(0);
    await page.keyboard.press('h');
    await expect.poll(() => page.getByTestId('annotator-canvas').getAttribute('data-heatmap-shown')).toBe('true');
    await expect.poll(async () => (await layerPixels('heat')).drawn).toBeGreaterThan(1000);
    const half = (await layerPixels('heat')).maxAlpha;
    expect(half).toBeLessThan(200); // semi-transparent (45 %)
    await page.getByTestId('heatmap-opacity').fill('1');
    await expect.poll(async () => (await layerPixels('heat')).maxAlpha).toBeGreaterThan(half);
    await page.getByTestId('heatmap-opacity').fill('0.45');
    await shot('6b-annotator-heatmap');
    await toggle.click();
    await expect.poll(async () => (await layerPixels('heat')).drawn).toBe(0);
    // the mask opacity slider changes the mask layer too
    const mask = (await layerPixels('mask')).maxAlpha;
    expect(mask).toBeGreaterThan(0);
    await page.getByTestId('mask-opacity').fill(mask > 200 ? '0.3' : '1');
    await expect.poll(async () => (await layerPixels('mask')).maxAlpha).not.toBe(mask);
  });

  it('shows the settings, and the page logged no errors', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('save-settings').waitFor();
    await shot('7-settings');
    expect(pageErrors).toEqual([]);
  });
});
