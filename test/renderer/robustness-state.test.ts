/** The Models view's unseen-defect report: start (with the version's backbone), progress and cancel, the stored reports, the chart, the PDF/CSV export. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgsOf, RobustnessReportRecord } from '../../src-main/common/api';
import type * as RobustnessModule from '../../src-renderer/lib/views/robustness-state.svelte';
import { APP_INFO, fakeApi, fakeWindow, loadRunes, type Runes } from './state-fixtures';

let runes: Runes;
let M: typeof RobustnessModule;

beforeAll(async () => {
  runes = await loadRunes();
  M = await runes.loader.import<typeof RobustnessModule>('src-renderer/lib/views/robustness-state.svelte.ts');
});
afterAll(() => runes.loader.close());

const f = (imageAuroc: number) => ({ imageAuroc, pixelAuroc: imageAuroc - 0.01, recall: 0.5 });

function record(id: number, createdAtMs = id * 1000): RobustnessReportRecord {
  return {
    id, datasetId: 1, config: { preset: 'fast' }, createdAtMs, durationMs: 60_000,
    report: {
      dataset: 'Tiles', backbone: 'mobilenetv2', preset: 'fast', seed: 0, types: ['crack', 'spot'],
      rows: [
        { type: 'crack', count: 6, seen: f(0.95), unseen: f(0.8), baseline: f(0.7) },
        { type: 'spot', count: 6, seen: f(0.9), unseen: null, baseline: { imageAuroc: 0.6, pixelAuroc: null, recall: 0.2 } },
      ],
      meanImageAuroc: { seen: 0.925, unseen: 0.8, baseline: 0.65 }, runs: [],
    },
  };
}

function setup(stored: RobustnessReportRecord[] = [record(1)]) {
  const list = [...stored];
  const fake = fakeApi({
    app: { info: () => APP_INFO, checkPath: (a: { path: string }) => ({ path: a.path, exists: false, isDirectory: false, isWritable: true }) },
    models: {
      robustnessReports: () => [...list].sort((a, b) => b.id - a.id),
      robustness: () => ({ jobId: 'job-1' }),
      exportRobustness: (a: ArgsOf<'models.exportRobustness'>) => ({ path: a.outPath.endsWith(`.${a.format}`) ? a.outPath : `${a.outPath}.${a.format}` }),
    },
    jobs: { list: () => [], cancel: () => null },
  });
  const app = new runes.app.AppState(fake.api);
  // the app's event subscription (job progress and results), on the Models view of dataset 1
  const stop = app.start(fakeWindow('#/models?ds=1'));
  app.info = APP_INFO;
  const view = runes.root.mount(() => new M.RobustnessState(fake.api, app, { confirm: () => false }));
  return {
    fake, app, s: view.value, list,
    destroy: () => {
      view.destroy();
      stop();
    },
  };
}

describe('Models: the unseen-defect robustness report', () => {
  it('shows the newest stored report, and its chart per type and protocol for the chosen figure', async () => {
    const { s, destroy } = setup([record(1), record(2)]);
    await runes.root.settle();
    expect(s.selected?.id).toBe(2);
    expect(s.chart.labels).toEqual(['crack', 'spot']);
    expect(s.chart.groups.map((g) => g.label)).toEqual(['seen (type known)', 'unseen (type held out)', 'baseline (no known anomalies)']);
    expect(s.chart.groups.map((g) => g.values)).toEqual([[0.95, 0.9], [0.8, null], [0.7, 0.6]]);
    s.metric = 'pixelAuroc';
    await runes.root.settle();
    expect(s.chart.groups[2]!.values).toEqual([0.69, null]);
    s.select(1);
    await runes.root.settle();
    expect(s.selected?.id).toBe(1);
    destroy();
  });

  it("starts the report with the version's backbone and the preset, shows its progress, cancels it, and shows the new report when it is stored", async () => {
    const { s, fake, app, list, destroy } = setup([]);
    await runes.root.settle();
    expect(s.selected).toBeNull();
    s.preset = 'balanced';
    await s.start('mobilenetv2');
    expect(fake.argsOf('models.robustness')).toEqual([{ datasetId: 1, preset: 'balanced', backboneId: 'mobilenetv2' }]);
    expect(s.running).toBe(true);
    expect(s.canStart).toBe(false);
    fake.emit({ type: 'progress', jobId: 'job-1', kind: 'robustness', progress: { fraction: 0.4, message: 'crack held out (3 of 4)' } });
    await runes.root.settle();
    expect(s.job?.progress).toMatchObject({ fraction: 0.4, message: 'crack held out (3 of 4)' });
    await s.cancel();
    expect(fake.argsOf('jobs.cancel')).toEqual([{ jobId: 'job-1' }]);
    // the job ends with a stored report: the 'models' topic reloads the list, and the new one shows
    list.push(record(7));
    fake.emit({ type: 'result', jobId: 'job-1', kind: 'robustness', value: { reportId: 7 } });
    await runes.root.settle();
    await runes.root.settle();
    expect(s.running).toBe(false);
    expect(s.selected?.id).toBe(7);
    expect(app.notices.some((n) => /unseen-defect report has started/.test(n.message))).toBe(true);
    destroy();
  });

  it('saves the shown report as PDF or CSV at the path', async () => {
    const { s, fake, app, destroy } = setup([record(3)]);
    await runes.root.settle();
    expect(s.reportPath).toBe('/data/robustness-report');
    await s.report('csv');
    await s.report('pdf');
    expect(fake.argsOf('models.exportRobustness')).toEqual([
      { reportId: 3, format: 'csv', outPath: '/data/robustness-report', overwrite: false },
      { reportId: 3, format: 'pdf', outPath: '/data/robustness-report', overwrite: false },
    ]);
    expect(app.notices.at(-1)).toMatchObject({ kind: 'info', message: 'Report written: /data/robustness-report.pdf' });
    destroy();
  });
});
