/**
 * The unseen-defect robustness report through the contract (`models.robustness`,
 * `models.robustnessReports`, `models.exportRobustness`) on a synthetic dataset imported into a
 * real data folder, with the real engine worker: the job reports progress through the job hub
 * and stores a report with one row per defect type (seen, unseen, baseline) that survives a
 * restart; a cancelled job stores nothing; the CSV and PDF exports hold the rows and never
 * replace a file silently; a dataset that cannot make a report is told why at once.
 * Needs the built engine worker (dist/engine/worker.js; `npm test` builds first).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent, ApiHandlers, RobustnessReportRecord } from '../../src-main/common/api';
import { isAppError } from '../../src-main/common/errors';
import { openStore, type Store } from '../../src-main/db/store';
import { EngineHost } from '../../src-main/engine/engine-host';
import { parseCsv } from '../../src-main/reports/csv';
import { ROBUSTNESS_CSV_COLUMNS } from '../../src-main/reports/robustness';
import { JobHub, lazyEngine, servicesForStore, SettingsStore, type HostedServices } from '../../src-main/services';
import { generateSyntheticDataset } from '../../src-main/synth/generate';
import { pdfText } from '../helpers/pdf-text';

const hasWorker = existsSync(join(process.cwd(), 'dist', 'engine', 'worker.js'));

let dir: string;
let store: Store;
let services: HostedServices;
let h: ApiHandlers;
let jobs: JobHub;
let datasetId: number;
let category: string;
const events: ApiEvent[] = [];

/** Few steps and positions, the small backbone: seconds per training. */
const SMALL = { preset: 'fast' as const, backboneId: 'mobilenetv2', params: { steps: 4, batchSize: 256 } };

function host(): void {
  store = openStore({ dataDir: join(dir, 'data') });
  jobs = new JobHub();
  jobs.subscribe((e) => events.push(e));
  const settings = new SettingsStore(join(dir, 'settings.json'), { dataDir: store.layout.root, executionProvider: 'cpu', threads: 0 });
  services = servicesForStore(store, { engine: lazyEngine(() => EngineHost.workerThread()) }).host({ jobs, settings, mode: 'browser', version: 't', canChangeDataDir: false });
  h = services.handlers;
}

function end(jobId: string): Promise<ApiEvent> {
  return new Promise((ok) => {
    const check = () => {
      const e = events.find((x) => 'jobId' in x && x.jobId === jobId && (x.type === 'result' || x.type === 'error'));
      if (e) ok(e);
      else setTimeout(check, 50);
    };
    check();
  });
}

async function expectError(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(isAppError(e), String(e)).toBe(true);
  expect(e).toMatchObject({ code });
  expect((e as Error).message).toMatch(message);
}

beforeAll(async () => {
  if (!hasWorker) return;
  dir = mkdtempSync(join(tmpdir(), 'bgad-robustness-api-'));
  const synth = await generateSyntheticDataset({ outDir: join(dir, 'synth'), seed: 7, sizePx: 64, categories: ['grain'] });
  category = synth.categories[0]!.dir;
  host();
  datasetId = (await h['datasets.create']({ name: 'Grain' })).id;
  const imp = await h['datasets.importFolder']({ datasetId, folder: category });
  expect((await end(imp.jobId)).type).toBe('result');
}, 120_000);

afterAll(async () => {
  await services?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasWorker)('the unseen-defect robustness report in the app', () => {
  let record: RobustnessReportRecord;

  it('refuses a dataset it cannot report on, saying why, before any training', async () => {
    const empty = (await h['datasets.create']({ name: 'Empty' })).id;
    await expectError(h['models.robustness']({ datasetId: empty }), 'BAD_DATASET', /at least 12 good images/);
    expect(jobs.list().filter((j) => j.kind === 'robustness')).toHaveLength(0);
  });

  it('is cancellable: the job ends cancelled and stores nothing', async () => {
    const { jobId } = await h['models.robustness']({ datasetId, ...SMALL });
    // cancelled once the first training is taking its steps
    await new Promise<void>((ok) => {
      const check = () => (events.some((e) => e.type === 'progress' && e.jobId === jobId && /training step/.test(e.progress.message ?? '')) ? ok() : setTimeout(check, 50));
      check();
    });
    await h['jobs.cancel']({ jobId });
    const e = await end(jobId);
    expect(e).toMatchObject({ type: 'error', error: { code: 'CANCELLED' } });
    expect(await h['models.robustnessReports']({ datasetId })).toEqual([]);
  }, 120_000);

  it('runs as a job with progress and stores one row per defect type with the seen, unseen and baseline figures', async () => {
    const { jobId } = await h['models.robustness']({ datasetId, ...SMALL });
    const e = await end(jobId);
    expect(e.type, JSON.stringify(e)).toBe('result');
    const { reportId } = (e as { value: { reportId: number } }).value;
    const progress = events.filter((x) => x.type === 'progress' && x.jobId === jobId) as { progress: { fraction: number; message?: string } }[];
    expect(progress.some((p) => /held out \(\d of 5\)/.test(p.progress.message ?? ''))).toBe(true);
    expect(jobs.get(jobId)).toMatchObject({ kind: 'robustness', status: 'completed' });
    const list = await h['models.robustnessReports']({ datasetId });
    expect(list.map((r) => r.id)).toEqual([reportId]);
    record = list[0]!;
    const { report } = record;
    expect(report.types).toEqual(['crack', 'scratch', 'spot']);
    expect(report.rows.map((r) => r.type)).toEqual(report.types);
    for (const row of report.rows) {
      expect(row.count).toBeGreaterThan(0);
      for (const f of [row.seen, row.unseen, row.baseline]) {
        expect(f, row.type).not.toBeNull();
        expect(f!.imageAuroc).toBeGreaterThanOrEqual(0);
        expect(f!.imageAuroc).toBeLessThanOrEqual(1);
        expect(f!.recall).toBeGreaterThanOrEqual(0);
      }
    }
    expect(report.runs.map((r) => r.protocol)).toEqual(['unsupervised', 'seen', 'unseen', 'unseen', 'unseen']);
    expect(record.config).toMatchObject({ preset: 'fast', backboneId: 'mobilenetv2', params: SMALL.params });
    expect(record.durationMs).toBeGreaterThan(0);
  }, 300_000);

  it('keeps the report across a restart', async () => {
    await services.close();
    host();
    const again = await h['models.robustnessReports']({ datasetId });
    expect(again).toEqual([record]);
  });

  it('exports it as CSV and PDF with every row, and never over a file without a yes', async () => {
    const csv = await h['models.exportRobustness']({ reportId: record.id, format: 'csv', outPath: join(dir, 'robustness') });
    expect(csv.path).toBe(join(dir, 'robustness.csv'));
    const [head, ...rows] = parseCsv(readFileSync(csv.path, 'utf8'));
    expect(head).toEqual([...ROBUSTNESS_CSV_COLUMNS]);
    expect(rows.map((r) => r[0])).toEqual(['crack', 'scratch', 'spot', '(mean)']);
    const crack = record.report.rows[0]!;
    expect(Number(rows[0]![2])).toBeCloseTo(crack.seen!.imageAuroc, 4);
    expect(Number(rows[0]![5])).toBeCloseTo(crack.unseen!.imageAuroc, 4);
    expect(Number(rows[0]![8])).toBeCloseTo(crack.baseline.imageAuroc, 4);
    await expectError(h['models.exportRobustness']({ reportId: record.id, format: 'csv', outPath: csv.path }), 'CONFLICT', /already exists/);
    const pdf = await h['models.exportRobustness']({ reportId: record.id, format: 'pdf', outPath: join(dir, 'robustness.pdf') });
    const text = await pdfText(pdf.path);
    expect(text).toContain('Will it catch a defect we have never seen?');
    expect(text).toContain('Grain');
    for (const row of record.report.rows) expect(text).toMatch(new RegExp(`${row.type}\\s+${row.count}\\s+${row.seen!.imageAuroc.toFixed(3)}`));
    expect(text).toMatch(/spot held out: \d+ known anomalies \((crack, scratch|scratch, crack)\)/);
    await expectError(h['models.exportRobustness']({ reportId: 999, format: 'pdf', outPath: join(dir, 'x.pdf') }), 'NOT_FOUND', /Robustness report #999/);
  }, 60_000);
});
