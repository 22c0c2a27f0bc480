/**
 * The review loop end to end, in Debian's Chromium through browser mode: a model trained on a
 * synthetic category (through the services), then in the page: inspect a folder of the line's
 * pictures (parts with a harmless mark and a defect the model has not seen), review the queue
 * with the keyboard (G good, S skip, Ctrl+Z undo, D defect), paint the defect in the annotator
 * with the heat map shown as a guide, decide the rest at once on a Ctrl+click selection,
 * retrain from the review, compare the new version with the one it replaces in the Models view
 * and activate it. Screenshots of each step go to test-artifacts/e2e/ like the other e2e tests'.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, jobDone, launchPage, SHOTS } from './harness';
import type { ApiHandlers } from '../../src-main/common/api';
import { startServe } from '../../src-main/api-host/serve';
import { generateSyntheticDataset } from '../../src-main/synth/generate';


let dir: string;
let line: string;
let serve: Awaited<ReturnType<typeof startServe>>;
let browser: Browser;
let page: Page;
let firstModelId: number;
const pageErrors: string[] = [];
const shot = (name: string) => page.screenshot({ path: join(SHOTS, `review-${name}.png`) });

/** A part with a harmless mark (a dark ring with a bright centre, the same place on every part). */
async function plantMark(src: string, out: string): Promise<void> {
  const { data, info } = await sharp(src).raw().toBuffer({ resolveWithObject: true });
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const d = Math.hypot(x - 20, y - 22);
      if (d <= 9) for (let k = 0; k < info.channels; k++) data[(y * info.width + x) * info.channels + k] = d < 4 ? 250 : 15;
    }
  }
  await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).png().toFile(out);
}

/** A trained, active first version of a synthetic category, and the line's folder. */
async function prepare(h: ApiHandlers): Promise<void> {
  const synth = await generateSyntheticDataset({ outDir: join(dir, 'photos'), seed: 3, sizePx: 64, categories: ['grain'] });
  const other = (await generateSyntheticDataset({ outDir: join(dir, 'other'), seed: 11, sizePx: 64, categories: ['grain'] })).categories[0]!;
  line = join(dir, 'line');
  mkdirSync(line);
  for (let i = 0; i < 4; i++) await plantMark(join(other.dir, 'train', 'good', `0${10 + i}.png`), join(line, `marked-${i}.png`));
  copyFileSync(join(other.dir, 'test', other.defectTypes[0]!, '000.png'), join(line, 'unseen-defect.png'));
  copyFileSync(join(other.dir, 'test', 'good', '000.png'), join(line, 'plain.png'));
  const ds = await h['datasets.create']({ name: 'Grain line' });
  expect((await jobDone(h, (await h['datasets.importFolder']({ datasetId: ds.id, folder: synth.categories[0]!.dir })).jobId)).status).toBe('completed');
  const t = await h['training.start']({ datasetId: ds.id, preset: 'fast', backboneId: 'mobilenetv2', params: { steps: 30 } });
  expect((await jobDone(h, t.jobId)).status).toBe('completed');
  firstModelId = (await h['models.list']({ datasetId: ds.id }))[0]!.id;
  await h['models.activate']({ modelId: firstModelId });
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
  dir = mkdtempSync(join(tmpdir(), 'bgad-e2e-review-'));
  serve = await startServe({ appRoot: process.cwd(), dataDir: join(dir, 'data'), out: () => {} });
  await prepare(serve.services.handlers);
  ({ browser, page } = await launchPage(pageErrors, 1000));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const rows = () => page.getByTestId('review-row');
const row = (file: string) => rows().filter({ hasText: file });
const progressText = () => page.getByTestId('review-progress-text').textContent();

describe.skipIf(!hasChromium)('the review loop in Chromium', () => {
  it('inspects a folder and shows its review queue, the band around the threshold first', async () => {
    await page.goto(serve.server.url);
    await expect.poll(() => page.getByTestId('app-mode').textContent()).toContain('Browser mode');
    await page.keyboard.press('Alt+5');
    await page.getByTestId('batch-folder').fill(line);
    await page.getByTestId('batch-start').click();
    await expect.poll(() => rows().count(), { timeout: 120_000 }).toBe(6);
    await expect.poll(progressText).toContain('0 of 6 reviewed');
    const groups = await rows().evaluateAll((els) => els.map((e) => e.getAttribute('data-group')));
    // band first, then fails, then the rest
    const rank = { band: 0, fail: 1, rest: 2 } as Record<string, number>;
    expect(groups.map((g) => rank[g!])).toEqual([...groups.map((g) => rank[g!])].sort());
    expect(await page.getByTestId('review-band').textContent()).toMatch(/band .* around threshold .*\(default\)/);
    await page.getByTestId('review-panel').scrollIntoViewIfNeeded();
    await shot('1-queue');
  });

  it('decides with the keyboard: G good, S skip, Ctrl+Z undo', async () => {
    await row('marked-0').click();
    await page.keyboard.press('g');
    await expect.poll(() => row('marked-0').getAttribute('data-decision')).toBe('good');
    await expect.poll(progressText).toContain('1 of 6 reviewed');
    // the cursor moved on to the next undecided result: skip it, then take that back
    const next = await page.locator('[data-testid=review-row].current').getAttribute('data-result-id');
    expect(next).not.toBeNull();
    await page.keyboard.press('s');
    await expect.poll(() => page.locator(`[data-result-id="${next}"]`).getAttribute('data-decision')).toBe('skip');
    await expect.poll(progressText).toContain('2 of 6 reviewed');
    await shot('2-keys');
    await page.keyboard.press('Control+z');
    await expect.poll(() => page.locator(`[data-result-id="${next}"]`).getAttribute('data-decision')).toBe('');
    await expect.poll(progressText).toContain('1 of 6 reviewed');
    const imgs = await serve.services.handlers['images.list']({ datasetId: 1, search: 'marked-0' });
    expect(imgs.items.map((i) => [i.label, i.split])).toEqual([['good', 'train']]);
  });

  it('D opens the defect in the annotator with its heat map as a guide, to paint its mask', async () => {
    await row('unseen-defect').click();
    await page.keyboard.press('d');
    await page.getByTestId('mask-area').waitFor({ timeout: 30_000 });
    expect(page.url()).toContain('#/annotate');
    await expect.poll(() => page.getByTestId('heatmap-toggle').getAttribute('data-heatmap'), { timeout: 15_000 }).toBe('ready');
    await expect.poll(() => page.getByTestId('annotator-canvas').getAttribute('data-heatmap-shown')).toBe('true');
    await shot('3-annotator-guide');
    await drag([-40, -30], [40, 30]);
    await page.getByTestId('save-mask').click().catch(() => undefined); // autosave may have been first
    await expect.poll(() => page.getByTestId('save-state').textContent()).toBe('Saved');
    await shot('4-painted');
    const img = (await serve.services.handlers['images.list']({ datasetId: 1, search: 'unseen-defect' })).items[0]!;
    expect(img).toMatchObject({ label: 'defect', split: 'train', maskCount: 1 });
  });

  it('decides the rest at once on a Ctrl+click selection', async () => {
    await page.keyboard.press('Alt+5');
    await expect.poll(() => rows().count()).toBe(6);
    await expect.poll(progressText).toContain('2 of 6 reviewed');
    const pending = await rows().evaluateAll((els) => els.filter((e) => e.getAttribute('data-decision') === '' && e.textContent!.includes('marked-')).map((e) => e.getAttribute('data-result-id')!));
    expect(pending).toHaveLength(3);
    for (const id of pending) await page.locator(`[data-result-id="${id}"]`).click({ modifiers: ['Control'] });
    await expect.poll(progressText).toContain('3 selected');
    await page.keyboard.press('g');
    await expect.poll(progressText).toContain('5 of 6 reviewed');
    await row('plain').click();
    await page.keyboard.press('s');
    await expect.poll(progressText).toContain('6 of 6 reviewed');
    await shot('5-reviewed');
  });

  it('retrains from the review, compares the new version with the one it replaces, and activates it', async () => {
    await page.getByTestId('review-retrain').click();
    await page.getByTestId('review-retrain-progress').waitFor({ timeout: 30_000 }).catch(() => undefined); // a fast training may be done first
    await page.getByTestId('review-retrained').waitFor({ timeout: 240_000 });
    await shot('6-retrained');
    await page.getByTestId('review-compare').click();
    await page.getByTestId('review-comparison').waitFor();
    await expect.poll(() => page.getByTestId('review-counts').count(), { timeout: 120_000 }).toBe(1);
    expect(await page.getByTestId('review-change').count()).toBe(5); // 4 marked good + the defect (skips are not reviewed images)
    expect(await page.getByTestId('review-comparison').textContent()).toMatch(/v2 replaces v1/);
    await shot('7-compare');
    await page.getByTestId('review-activate').click();
    await expect.poll(() => page.getByTestId('review-comparison').textContent()).toContain('used for inspection');
    await shot('8-activated');
    const h = serve.services.handlers;
    const v2 = (await h['models.list']({ datasetId: 1 }))[0]!;
    expect(v2).toMatchObject({ number: 2, isActive: true, parentId: firstModelId });
    expect((await h['audit.list']({ kinds: ['model_version.activate'] })).rows[0]).toMatchObject({ entityId: v2.id });
    const decisions = await h['audit.list']({ kinds: ['review.good', 'review.defect', 'review.skip', 'review.undo'] });
    expect(decisions.rows.map((r) => r.kind).sort()).toEqual(['review.defect', 'review.good', 'review.good', 'review.good', 'review.good', 'review.skip', 'review.skip', 'review.undo']);
    expect(pageErrors).toEqual([]);
  });
});
