/**
 * The Station view end to end, in Debian's Chromium through browser mode: a model trained on a
 * synthetic category (through the same services the workstation test drives from the UI),
 * then in the page: open the Station view, start a station on an empty folder, copy good and
 * defective images in and see the counters and the last images with their heat maps update,
 * reload the page and find the station still running, make N fails in a row happen and see the
 * alarm banner, acknowledge it, stop, and save the shift's PDF and CSV reports (the CSV for a
 * time range). Screenshots go to test-artifacts/e2e/ (kept by CI) like the other e2e tests'.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, jobDone, launchPage, SHOTS } from './harness';
import type { ApiHandlers } from '../../src-main/common/api';
import { startServe } from '../../src-main/api-host/serve';
import { generateSyntheticDataset } from '../../src-main/synth/generate';

/** The alarm is raised after this many fails in a row. */
const ALARM_AFTER = 3;

let dir: string;
let camera: string;
let serve: Awaited<ReturnType<typeof startServe>>;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const dialogs: string[] = [];
/** Test images the model passes (lowest scores first) and fails (highest first), at the threshold set below. */
let goods: string[] = [];
let defects: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

/**
 * A model version to run the station with: the synthetic category imported and trained through
 * the services (as the workstation test does from the UI), activated, with its threshold set
 * between the best-scoring good test images and the worst-scoring defective ones, so that which
 * image passes and which fails is known before the station sees them.
 */
async function trainedModel(h: ApiHandlers, category: string): Promise<void> {
  const ds = await h['datasets.create']({ name: 'Grain station' });
  const imp = await h['datasets.importFolder']({ datasetId: ds.id, folder: category });
  expect((await jobDone(h, imp.jobId)).status).toBe('completed');
  const train = await h['training.start']({ datasetId: ds.id, preset: 'fast', backboneId: 'mobilenetv2', params: { steps: 30 } });
  const trained = await jobDone(h, train.jobId);
  expect(trained.status, JSON.stringify(trained.error)).toBe('completed');
  const [mv] = await h['models.list']({ datasetId: ds.id });
  await h['models.activate']({ modelId: mv!.id });
  const score = async (p: string) => (await h['inspection.inspectImage']({ modelId: mv!.id, path: p })).score;
  const test = join(category, 'test');
  const good = await Promise.all(readdirSync(join(test, 'good')).slice(0, 6).map(async (f) => ({ p: join(test, 'good', f), s: await score(join(test, 'good', f)) })));
  const types = readdirSync(test).filter((t) => t !== 'good');
  const bad: { p: string; s: number }[] = [];
  for (const t of types) for (const f of readdirSync(join(test, t)).slice(0, 4)) bad.push({ p: join(test, t, f), s: await score(join(test, t, f)) });
  good.sort((a, b) => a.s - b.s);
  bad.sort((a, b) => b.s - a.s);
  goods = good.slice(0, 2).map((g) => g.p);
  defects = bad.slice(0, ALARM_AFTER + 1).map((b) => b.p);
  const hi = Math.max(...good.slice(0, 2).map((g) => g.s));
  const lo = Math.min(...bad.slice(0, ALARM_AFTER + 1).map((b) => b.s));
  expect(lo, 'the chosen defective images score above the chosen good ones').toBeGreaterThan(hi);
  await h['models.setThreshold']({ modelId: mv!.id, threshold: (hi + lo) / 2 });
}

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'bgad-e2e-station-'));
  camera = join(dir, 'camera');
  mkdirSync(camera);
  const synth = await generateSyntheticDataset({ outDir: join(dir, 'photos'), seed: 7, sizePx: 64, categories: ['grain'] });
  serve = await startServe({ appRoot: process.cwd(), dataDir: join(dir, 'data'), out: () => {} });
  await trainedModel(serve.services.handlers, synth.categories[0]!.dir);
  ({ browser, page } = await launchPage(pageErrors));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const text = (id: string) => page.getByTestId(id).textContent();
let n = 0;
/** Copies a picture into the watched folder under a new name, as a camera drops one. */
const drop = (src: string) => copyFileSync(src, join(camera, `cam-${String(n++).padStart(3, '0')}.png`));

describe.skipIf(!hasChromium)('the Station view in Chromium', () => {
  it('opens the Station view (Alt+7) and starts a station on a folder', async () => {
    await page.goto(serve.server.url);
    await expect.poll(() => text('app-mode')).toContain('Browser mode');
    await page.keyboard.press('Alt+7');
    await expect.poll(() => text('station-state')).toBe('Not running');
    expect(await page.getByTestId('nav-station').getAttribute('title')).toBe('Station (Alt+7)');
    await expect.poll(() => page.getByTestId('station-model').textContent()).toContain('Grain station · v1');
    await page.getByTestId('station-input').fill(camera);
    await expect.poll(() => page.locator('.pathfield .ok').first().textContent()).toContain('0 images');
    await page.getByTestId('station-settle').fill('200');
    await page.getByTestId('station-alarm-after').fill(String(ALARM_AFTER));
    await shot('station-1-form');
    await page.getByTestId('station-start').click();
    // the model is loaded first (its backbone converted once into the data folder's cache)
    await expect.poll(() => text('station-state'), { timeout: 120_000 }).toBe('Running');
    expect(await text('count-total')).toBe('0');
    await page.getByTestId('station-stop').waitFor();
  });

  it('inspects the files as they arrive: the counters and the last images update', async () => {
    drop(goods[0]!);
    drop(goods[1]!);
    await expect.poll(() => text('count-total'), { timeout: 60_000 }).toBe('2');
    drop(defects[0]!);
    await expect.poll(() => text('count-total'), { timeout: 60_000 }).toBe('3');
    expect(await text('count-pass')).toBe('2');
    expect(await text('count-fail')).toBe('1');
    expect(await text('station-yield')).toBe('66.7 %');
    await expect.poll(() => page.getByTestId('station-last').count()).toBe(3);
    // the newest first: the defective one
    expect(await page.getByTestId('station-last').first().getAttribute('data-verdict')).toBe('fail');
    const heat = page.getByTestId('station-heatmap').first();
    await heat.evaluate((img: HTMLImageElement) => img.decode());
    expect(await heat.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('station-chart').getAttribute('data-points')).toBe('3');
    await shot('station-2-results');
  });

  it('keeps running when the page is reloaded, and shows it again', async () => {
    await page.reload();
    await expect.poll(() => text('station-state')).toBe('Running');
    await expect.poll(() => text('count-total')).toBe('3');
    expect(await page.getByTestId('station-input').inputValue()).toBe(camera);
    expect(await page.getByTestId('station-alarm-after').inputValue()).toBe(String(ALARM_AFTER));
  });

  it(`raises the alarm after ${ALARM_AFTER} fails in a row, until acknowledged`, async () => {
    // the defect dropped before is the first fail of the row
    for (const d of defects.slice(1, ALARM_AFTER)) drop(d);
    await expect.poll(() => text('count-total'), { timeout: 60_000 }).toBe(String(2 + ALARM_AFTER));
    await page.getByTestId('station-alarm').waitFor();
    expect(await text('station-alarm')).toMatch(new RegExp(`Alarm: ${ALARM_AFTER} fails in a row`));
    await shot('station-3-alarm');
    await page.getByTestId('alarm-ack').click();
    await expect.poll(() => page.getByTestId('station-alarm').count()).toBe(0);
  });

  it('stops, and saves the shift\'s PDF and CSV reports', async () => {
    await page.getByTestId('station-stop').click();
    await expect.poll(() => text('station-state'), { timeout: 30_000 }).toBe('Stopped');
    expect(await text('count-total')).toBe(String(2 + ALARM_AFTER));
    await shot('station-4-stopped');
    expect(await page.getByTestId('station-report-path').inputValue()).toMatch(/station-\d+-report$/);
    await page.getByTestId('station-report-path').fill(join(dir, 'shift.pdf'));
    await expect.poll(() => page.getByTestId('station-report-pdf').isEnabled()).toBe(true);
    await page.getByTestId('station-report-pdf').click();
    await expect.poll(() => existsSync(join(dir, 'shift.pdf'))).toBe(true);
    await expect.poll(() => readFileSync(join(dir, 'shift.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    // a time range around now holds the whole shift; one that ended yesterday holds nothing
    const local = (ms: number) => {
      const d = new Date(ms);
      const p = (x: number) => String(x).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    };
    await page.getByTestId('report-from').fill(local(Date.now() - 3_600_000));
    await page.getByTestId('report-to').fill(local(Date.now()));
    await page.getByTestId('station-report-csv').click();
    await expect.poll(() => existsSync(join(dir, 'shift.csv'))).toBe(true);
    const rows = readFileSync(join(dir, 'shift.csv'), 'utf8').trim().split(/\r\n/);
    // a shift report says when each file was inspected
    expect(rows[0]).toBe('path,sha256,score,verdict,error,inspected_at,inspected_at_ms');
    expect(rows).toHaveLength(1 + 2 + ALARM_AFTER);
    for (const r of rows.slice(1)) expect(Math.abs(Date.now() - Number(r.split(',').at(-1)))).toBeLessThan(3_600_000);
    expect(rows.filter((r) => r.includes(',fail,'))).toHaveLength(ALARM_AFTER);
    await page.getByTestId('station-report-path').fill(join(dir, 'yesterday.csv'));
    await page.getByTestId('report-from').fill(local(Date.now() - 2 * 86_400_000));
    await page.getByTestId('report-to').fill(local(Date.now() - 86_400_000));
    await page.getByTestId('station-report-csv').click();
    await expect.poll(() => existsSync(join(dir, 'yesterday.csv'))).toBe(true);
    expect(readFileSync(join(dir, 'yesterday.csv'), 'utf8').trim().split(/\r\n/)).toHaveLength(1);
    await shot('station-5-report');
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
