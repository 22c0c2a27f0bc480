/** The Station view's state: the start form, polling and reattaching, the alarm, stop, a shift's report. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgsOf, DatasetSummary, StationRun, StationStatus } from '../../src-main/common/api';
import type * as StationModule from '../../src-renderer/lib/views/station-state.svelte';
import { APP_INFO, fakeApi, inspectionRun, loadRunes, model, type Runes } from './state-fixtures';

let runes: Runes;
let St: typeof StationModule;

beforeAll(async () => {
  runes = await loadRunes();
  St = await runes.loader.import<typeof StationModule>('src-renderer/lib/views/station-state.svelte.ts');
});
afterAll(() => runes.loader.close());

function dataset(id: number, name: string, activeModelVersionId: number | null): DatasetSummary {
  return {
    id, name, imageCount: 0, defectTypes: 0, modelVersions: 1, activeModelVersionId, createdAtMs: 0, updatedAtMs: 0,
    counts: { good: 0, defect: 0, unlabelled: 0, train: 0, val: 0, test: 0, unassigned: 0, masked: 0 },
  };
}

function status(over: Partial<StationStatus> = {}): StationStatus {
  return {
    stationId: 'st-1', runId: 9, modelId: 3, modelNumber: 2, datasetId: 2, state: 'running', error: null, input: '/srv/camera', out: '/data/stations/camera', moveTo: '/srv/done',
    settleMs: 400, webhook: 'http://10.0.0.5/v', mqtt: { url: 'mqtt://10.0.0.5:1883', topic: 'line2/verdicts' }, threshold: 0.5, startedAtMs: 1_000, stoppedAtMs: null,
    counts: { total: 0, pass: 0, fail: 0, error: 0 }, yield: null, imagesPerSecond: 0, pendingFiles: 0, backlog: {}, last: [], scores: [], consecutiveFails: 0,
    alarmAfterFails: 3, alarm: null, notices: [], ...over,
  };
}

const stationRun = (id: number, over: Partial<StationRun> = {}): StationRun => ({ ...inspectionRun(id, { source: '/srv/camera' }), input: '/srv/camera', out: '/data/stations/camera', moveTo: null, ...over });

interface Setup {
  current?: StationStatus | null;
  runs?: StationRun[];
  exists?: boolean;
  confirm?: boolean;
}

function setup(o: Setup = {}) {
  let current: StationStatus | null = o.current ?? null;
  let runs = o.runs ?? [];
  const questions: string[] = [];
  const fake = fakeApi({
    app: { info: () => APP_INFO, checkPath: (a: { path: string }) => ({ path: a.path, exists: !!o.exists, isDirectory: false, isWritable: true }) },
    models: { list: (a: { datasetId: number }) => (a.datasetId === 1 ? [model(1, { datasetId: 1, isActive: true }), model(2, { datasetId: 1 })] : [model(3, { datasetId: 2, number: 2, isActive: true })]) },
    station: {
      status: () => current,
      runs: () => runs,
      start: (a: ArgsOf<'station.start'>) => {
        current = status({ modelId: a.modelId, input: a.input, settleMs: a.settleMs ?? 1000, moveTo: a.moveTo ?? null, runId: 10, stationId: 'st-2' });
        runs = [stationRun(10), ...runs];
        return { stationId: 'st-2', runId: 10 };
      },
      stop: () => {
        current = current && { ...current, state: 'stopped', stoppedAtMs: 5_000 };
        return { stopped: true };
      },
      acknowledgeAlarm: () => (current = current && { ...current, alarm: null }),
    },
    inspection: { exportReport: (a: { outPath: string }) => ({ path: a.outPath.endsWith('.pdf') || a.outPath.endsWith('.csv') ? a.outPath : `${a.outPath}.pdf` }) },
  });
  const app = new runes.app.AppState(fake.api);
  app.info = APP_INFO;
  app.datasets = [dataset(1, 'Tiles', 1), dataset(2, 'Grain', 3), dataset(3, 'Empty', null)];
  app.route = { view: 'station', datasetId: 2, imageId: null };
  const view = runes.root.mount(() => new St.StationState(fake.api, app, { pollMs: 5, now: () => 61_000, confirm: (q) => (questions.push(q), !!o.confirm) }));
  return { fake, app, s: view.value, destroy: view.destroy, questions, set: (next: StationStatus | null) => (current = next) };
}

describe('Station: starting', () => {
  it('offers the active model of every dataset, the current dataset\'s first, and starts with the form\'s settings', async () => {
    const { s, fake, app, destroy } = setup();
    await runes.root.settle();
    expect(s.loaded).toBe(true);
    expect(s.status).toBeNull();
    expect(s.models.map((m) => [m.id, m.label])).toEqual([[1, 'Tiles · v1'], [3, 'Grain · v2']]);
    expect(s.modelId).toBe(3); // the active model of the dataset shown
    expect(s.canStart).toBe(false); // no folder yet
    s.input = ' /srv/camera ';
    s.moveTo = '/srv/done';
    s.settleMs = 250;
    s.alarmAfterFails = 4;
    expect(s.canStart).toBe(true);
    expect(s.startArgs()).toEqual({ modelId: 3, input: '/srv/camera', settleMs: 250, moveTo: '/srv/done', alarmAfterFails: 4 });
    const before = app.version('inspections');
    await s.start();
    await runes.root.settle();
    expect(fake.argsOf('station.start')).toHaveLength(1);
    expect(s.status).toMatchObject({ stationId: 'st-2', state: 'running', runId: 10 });
    expect(s.running).toBe(true);
    expect(s.canStart).toBe(false);
    expect(s.canStop).toBe(true);
    expect(app.version('inspections')).toBeGreaterThan(before);
    // the new run is the one to report on, with a file name after it
    expect(s.reportRunId).toBe(10);
    expect(s.reportPath).toBe('/data/station-10-report');
    // the form keeps what was typed (the station's own settings are the same)
    expect(s.input).toBe(' /srv/camera ');
    destroy();
  });

  it('needs both the MQTT broker and topic', async () => {
    const { s, fake, app, destroy } = setup();
    await runes.root.settle();
    s.input = '/srv/camera';
    s.mqttUrl = 'mqtt://broker:1883';
    await s.start();
    expect(fake.count('station.start')).toBe(0);
    expect(app.notices.at(-1)?.message).toMatch(/MQTT needs both/);
    s.mqttTopic = 'line/v';
    s.webhook = 'http://hook/x';
    expect(s.startArgs()).toMatchObject({ webhook: 'http://hook/x', mqtt: { url: 'mqtt://broker:1883', topic: 'line/v' } });
    destroy();
  });
});

describe('Station: a running station', () => {
  it('reattaches after a reload: the running station shows with its settings, and cannot be started twice', async () => {
    const { s, destroy } = setup({ current: status(), runs: [stationRun(9)] });
    await runes.root.settle();
    expect(s.running).toBe(true);
    expect(s.canStart).toBe(false);
    expect({ modelId: s.modelId, input: s.input, out: s.out, settleMs: s.settleMs, moveTo: s.moveTo, webhook: s.webhook, mqttUrl: s.mqttUrl, mqttTopic: s.mqttTopic, alarm: s.alarmAfterFails })
      .toEqual({ modelId: 3, input: '/srv/camera', out: '/data/stations/camera', settleMs: 400, moveTo: '/srv/done', webhook: 'http://10.0.0.5/v', mqttUrl: 'mqtt://10.0.0.5:1883', mqttTopic: 'line2/verdicts', alarm: 3 });
    expect(s.reportRunId).toBe(9);
    destroy();
  });

  it('polls the counters, the chart points and the alarm, and acknowledges it', async () => {
    const { s, set, fake, destroy } = setup({ current: status() });
    await runes.root.settle();
    const scores = [
      { timeMs: 51_000, score: 0.2, verdict: 'pass' as const },
      { timeMs: 56_000, score: 0.9, verdict: 'fail' as const },
      { timeMs: 58_000, score: 0.8, verdict: 'fail' as const },
      { timeMs: 60_000, score: 0.7, verdict: 'fail' as const },
    ];
    set(status({ counts: { total: 4, pass: 1, fail: 3, error: 0 }, yield: 0.25, scores, consecutiveFails: 3, alarm: { raisedAtMs: 60_000, fails: 3, path: 'c/4.png' } }));
    await runes.root.settle();
    expect(s.status?.counts.total).toBe(4);
    expect(s.chart.pass).toEqual([{ x: -10, y: 0.2 }]);
    expect(s.chart.fail.map((p) => p.x)).toEqual([-5, -3, -1]);
    expect(s.chart.threshold).toBe(0.5);
    expect(s.alarm).toMatchObject({ fails: 3 });
    await s.acknowledge();
    expect(fake.argsOf('station.acknowledgeAlarm')).toEqual([{ stationId: 'st-1' }]);
    expect(s.alarm).toBeNull();
    destroy();
    // the view is left: no more polling
    const n = fake.count('station.status');
    await runes.root.settle();
    expect(fake.count('station.status')).toBe(n);
  });

  it('stops the station and marks the inspections as changed', async () => {
    const { s, fake, app, destroy } = setup({ current: status() });
    await runes.root.settle();
    const before = app.version('inspections');
    await s.stop();
    expect(fake.argsOf('station.stop')).toEqual([{ stationId: 'st-1' }]);
    expect(s.status?.state).toBe('stopped');
    expect(s.running).toBe(false);
    expect(app.version('inspections')).toBeGreaterThan(before);
    destroy();
  });
});

describe('Station: the report of a shift', () => {
  it('sends the typed time range (to the end of its last minute) with the run', async () => {
    const { s, fake, destroy } = setup({ runs: [stationRun(9), stationRun(4)] });
    await runes.root.settle();
    expect(s.reportRunId).toBe(9);
    s.chooseReportRun(4);
    expect(s.reportPath).toBe('/data/station-4-report');
    s.reportFrom = St.toLocalInput(new Date(2025, 4, 4, 6, 0).getTime());
    s.reportTo = '2025-05-04T14:00';
    await s.report('csv');
    const [args] = fake.argsOf<ArgsOf<'inspection.exportReport'>>('inspection.exportReport');
    expect(args).toMatchObject({ runId: 4, format: 'csv', outPath: '/data/station-4-report', overwrite: false, fromMs: new Date(2025, 4, 4, 6, 0).getTime(), toMs: new Date(2025, 4, 4, 14, 0).getTime() + 59_999 });
    // empty times: the whole run
    s.reportFrom = '';
    s.reportTo = '';
    await s.report('pdf');
    const whole = fake.argsOf<ArgsOf<'inspection.exportReport'>>('inspection.exportReport')[1]!;
    expect(whole.fromMs).toBeUndefined();
    expect(whole.toMs).toBeUndefined();
    destroy();
  });

  it('asks before replacing a file, and keeps it on no', async () => {
    const { s, fake, questions, app, destroy } = setup({ runs: [stationRun(9)], exists: true });
    await runes.root.settle();
    await s.report('pdf');
    expect(questions).toHaveLength(1);
    expect(questions[0]).toContain('/data/station-9-report.pdf already exists');
    expect(fake.count('inspection.exportReport')).toBe(0);
    expect(app.notices.at(-1)?.message).toMatch(/not saved/);
    destroy();
  });

  it('reads and writes the datetime fields in local time', () => {
    const ms = new Date(2026, 0, 31, 23, 59).getTime();
    expect(St.toLocalInput(ms)).toBe('2026-01-31T23:59');
    expect(St.fromLocalInput('2026-01-31T23:59')).toBe(ms);
    expect(St.fromLocalInput('')).toBeNull();
    expect(St.fromLocalInput('nonsense')).toBeNull();
  });
});
