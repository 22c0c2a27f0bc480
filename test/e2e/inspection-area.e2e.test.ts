/**
 * The inspection area end to end, in Debian's Chromium through browser mode: a synthetic
 * category imported, one of its images opened in the annotator; the inspection area painted
 * with the rectangle and the polygon tools (its own layer, A), saved, and found again after a
 * reload, stored with the dataset and in the audit log. Screenshots go to test-artifacts/e2e/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, jobDone, launchPage, SHOTS } from './harness';
import { startServe } from '../../src-main/api-host/serve';
import { generateSyntheticDataset } from '../../src-main/synth/generate';


let dir: string;
let serve: Awaited<ReturnType<typeof startServe>>;
let browser: Browser;
let page: Page;
let datasetId: number;
let imageId: number;
const pageErrors: string[] = [];

/** Where the canvas is: screen point of an image point given as fractions of the canvas box. */
async function at(fx: number, fy: number): Promise<[number, number]> {
  const box = (await page.getByTestId('annotator-canvas').boundingBox())!;
  return [box.x + box.width * fx, box.y + box.height * fy];
}

/** Pixels the area overlay shades (the masks' Konva canvas, index 2: the outside of the area). */
async function shadedPixels(): Promise<number> {
  return page.getByTestId('annotator-canvas').evaluate((host) => {
    const c = host.querySelectorAll('canvas')[2] as HTMLCanvasElement;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
    return n;
  });
}

const share = async () => Number(await page.getByTestId('area-state').getAttribute('data-area-share'));

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'bgad-e2e-area-'));
  const synth = await generateSyntheticDataset({ outDir: join(dir, 'photos'), seed: 5, sizePx: 64, categories: ['grain'] });
  serve = await startServe({ appRoot: process.cwd(), dataDir: join(dir, 'data'), out: () => {} });
  const h = serve.services.handlers;
  datasetId = (await h['datasets.create']({ name: 'Grain area' })).id;
  expect((await jobDone(h, (await h['datasets.importFolder']({ datasetId, folder: synth.categories[0]!.dir })).jobId)).status).toBe('completed');
  imageId = (await h['images.list']({ datasetId, label: 'good', limit: 1 })).items[0]!.id;
  ({ browser, page } = await launchPage(pageErrors));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasChromium)('the inspection area in the annotator, in Chromium', () => {
  it('paints the area with the rectangle and the polygon on its own layer and saves it with the dataset', async () => {
    await page.goto(`${serve.server.url}#/annotate?ds=${datasetId}&image=${imageId}`);
    await page.getByTestId('mask-area').waitFor();
    await expect.poll(() => page.getByTestId('area-state').textContent()).toContain('whole image is inspected');
    expect(await shadedPixels()).toBe(0);

    await page.keyboard.press('a');
    await expect.poll(() => page.getByTestId('area-layer').getAttribute('aria-pressed')).toBe('true');
    // a rectangle over the left part of the image
    await page.getByTestId('tool-rect').click();
    const [x0, y0] = await at(0.3, 0.2);
    const [x1, y1] = await at(0.45, 0.8);
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move(x1, y1, { steps: 8 });
    await page.mouse.up();
    await expect.poll(share).toBeGreaterThan(0.05);
    const afterRect = await share();
    // a triangle with the polygon tool (L), filled with Enter
    await page.keyboard.press('l');
    for (const [fx, fy] of [[0.55, 0.25], [0.7, 0.25], [0.62, 0.6]] as const) {
      const [x, y] = await at(fx, fy);
      await page.mouse.click(x, y);
    }
    await page.keyboard.press('Enter');
    await expect.poll(share).toBeGreaterThan(afterRect);
    expect(await shadedPixels()).toBeGreaterThan(0);

    await page.getByTestId('save-mask').click().catch(() => undefined); // the autosave may be first
    await expect.poll(() => page.getByTestId('save-state').textContent()).toBe('Saved');
    await expect.poll(async () => Number(await page.getByTestId('area-state').getAttribute('data-area-saved'))).toBeGreaterThan(0);
    await page.screenshot({ path: join(SHOTS, 'inspection-area-1-painted.png') });

    const h = serve.services.handlers;
    const stored = await h['datasets.getInspectionArea']({ datasetId });
    expect(stored).not.toBeNull();
    expect(stored!.info.fraction).toBeCloseTo(await share(), 3);
    // no defect mask was saved for the area
    expect(await h['masks.list']({ imageId })).toEqual([]);
    expect((await h['audit.list']({ kinds: ['inspection_area.set'], datasetId })).total).toBeGreaterThan(0);
  });

  it('shows the same area after a reload', async () => {
    const before = await share();
    const shaded = await shadedPixels();
    await page.reload();
    await page.getByTestId('mask-area').waitFor();
    await expect.poll(share, { timeout: 15_000 }).toBeCloseTo(before, 4);
    await expect.poll(shadedPixels).toBe(shaded);
    expect(await page.getByTestId('area-state').textContent()).toMatch(/Inspected: [\d.]+ % of every image/);
    await page.screenshot({ path: join(SHOTS, 'inspection-area-2-reloaded.png') });
    expect(pageErrors).toEqual([]);
  });
});
