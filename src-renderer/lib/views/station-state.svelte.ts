/**
 * The Station view's state and logic (no DOM): the form that starts a station (model version,
 * watched folder, output, settle time, move-to, webhook, MQTT, alarm after N fails), the
 * station's live state polled from `station.status` about once a second (the station runs in
 * the services, so a reloaded page finds it again: the first poll reattaches, and the form
 * shows what it runs with), stop, the alarm and its acknowledgement, the chart's points, and
 * the report of a shift (a time range of the station's run) as PDF or CSV.
 */
import { untrack } from 'svelte';
import type { ArgsOf, ModelVersion, StationRun, StationStatus } from '../../../src-main/common/api';
import type { ApiClient } from '../api-client';
import type { AppState } from '../app-state.svelte';
import { ReportSaver } from '../report-save';
import type { ReportFormat } from '../save-path';

/** The part of the API client the view uses. */
export type StationApi = Pick<ApiClient, 'models' | 'station' | 'inspection' | 'app'>;

export interface StationViewOptions {
  /** How often the station's state is asked for (ms, default 1000). */
  pollMs?: number;
  /** Asks before a file is replaced (default: window.confirm). */
  confirm?: (question: string) => boolean;
  /** The clock (tests). */
  now?: () => number;
}

export const DEFAULT_SETTLE_MS = 1000;
export const DEFAULT_ALARM_AFTER_FAILS = 5;

/** A model the station may run: a dataset's active version. */
export interface StationModel {
  id: number;
  label: string;
  datasetId: number;
  threshold: number | null;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Epoch ms as the value of an `<input type="datetime-local">` (local time, to the minute). */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** An `<input type="datetime-local">` value as epoch ms; null when empty or unreadable. */
export function fromLocalInput(value: string): number | null {
  if (!value.trim()) return null;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/** The chart's points: seconds before now, or before the stop (x, negative), against the score, by verdict; and the threshold. */
export function chartSeries(status: Pick<StationStatus, 'scores' | 'threshold' | 'stoppedAtMs'> | null, nowMs: number): { pass: { x: number; y: number }[]; fail: { x: number; y: number }[]; review: { x: number; y: number }[]; threshold: number | null } {
  const pass: { x: number; y: number }[] = [];
  const fail: { x: number; y: number }[] = [];
  const review: { x: number; y: number }[] = [];
  const ref = status?.stoppedAtMs ?? nowMs;
  for (const s of status?.scores ?? []) (s.verdict === 'fail' ? fail : s.verdict === 'review' ? review : pass).push({ x: Math.min(0, (s.timeMs - ref) / 1000), y: s.score });
  return { pass, fail, review, threshold: status ? status.threshold : null };
}

const ACTIVE_STATES: readonly StationStatus['state'][] = ['starting', 'running', 'stopping'];

export class StationState {
  readonly #api: StationApi;
  readonly #app: AppState;
  readonly #opts: Required<StationViewOptions>;

  models = $state.raw<StationModel[]>([]);
  modelId = $state<number | null>(null);
  input = $state('');
  out = $state('');
  settleMs = $state(DEFAULT_SETTLE_MS);
  moveTo = $state('');
  webhook = $state('');
  mqttUrl = $state('');
  mqttTopic = $state('');
  alarmAfterFails = $state(DEFAULT_ALARM_AFTER_FAILS);
  status = $state.raw<StationStatus | null>(null);
  /** The first answer of station.status came (before it, nothing is known about a running station). */
  loaded = $state(false);
  busy = $state(false);
  /** Station runs (shifts) for the report, newest first. */
  runs = $state.raw<StationRun[]>([]);
  reportRunId = $state<number | null>(null);
  reportFrom = $state('');
  reportTo = $state('');
  reportPath = $state('');
  /** The clock of the chart (advances with each poll). */
  nowMs = $state(0);
  readonly #reports: ReportSaver;
  #autoReportPath = '';
  /** The station whose settings the form shows (filled once per station, on reattach or start). */
  #formOf: string | null = null;

  readonly running = $derived(!!this.status && ACTIVE_STATES.includes(this.status.state));
  readonly canStart = $derived(this.loaded && !this.running && !this.busy && this.modelId !== null && !!this.input.trim());
  readonly canStop = $derived(this.status?.state === 'running' && !this.busy);
  readonly alarm = $derived(this.status?.alarm ?? null);
  readonly chart = $derived(chartSeries(this.status, this.nowMs));
  readonly canReport = $derived(this.reportRunId !== null && !!this.reportPath.trim() && !this.busy);

  constructor(api: StationApi, app: AppState, opts: StationViewOptions = {}) {
    this.#api = api;
    this.#app = app;
    this.#opts = { pollMs: 1000, confirm: (q) => window.confirm(q), now: () => Date.now(), ...opts };
    this.#reports = new ReportSaver(api, app, (q) => this.#opts.confirm(q));
    this.nowMs = this.#opts.now();

    // the active model of every dataset (a newly activated model: 'models')
    $effect(() => {
      const datasets = app.datasets;
      app.version('models');
      untrack(() => void this.loadModels(datasets.filter((d) => d.activeModelVersionId !== null).map((d) => d.id)));
    });

    // the station's state, about once a second for as long as the view shows
    $effect(() => {
      untrack(() => void this.refresh());
      const t = setInterval(() => void this.refresh(), this.#opts.pollMs);
      return () => clearInterval(t);
    });

    // the shifts to report on (a new run: 'inspections')
    $effect(() => {
      app.version('inspections');
      untrack(() => void this.loadRuns());
    });
  }

  async loadModels(datasetIds: number[]): Promise<void> {
    try {
      const lists = await Promise.all(datasetIds.map((id) => this.#api.models.list({ datasetId: id })));
      const names = new Map(this.#app.datasets.map((d) => [d.id, d.name]));
      const active = lists.flat().filter((m: ModelVersion) => m.isActive && m.status === 'ready' && m.bundleFile);
      this.models = active.map((m) => ({ id: m.id, datasetId: m.datasetId, threshold: m.threshold, label: `${names.get(m.datasetId) ?? `Dataset ${m.datasetId}`} · v${m.number}` }));
      if (!this.models.some((m) => m.id === this.modelId)) {
        const route = this.#app.route.datasetId;
        this.modelId = (this.models.find((m) => m.datasetId === route) ?? this.models[0])?.id ?? null;
      }
    } catch (e) {
      this.#app.fail(e);
    }
  }

  async loadRuns(): Promise<void> {
    try {
      this.runs = await this.#api.station.runs({});
      if (this.reportRunId === null || !this.runs.some((r) => r.id === this.reportRunId)) this.chooseReportRun(this.status?.runId || this.runs[0]?.id || null);
    } catch (e) {
      this.#app.fail(e);
    }
  }

  /** Asks for the station's state; a station seen for the first time fills the form with its settings. */
  async refresh(): Promise<void> {
    try {
      const s = await this.#api.station.status();
      this.nowMs = this.#opts.now();
      const before = this.status;
      this.status = s;
      this.loaded = true;
      if (s && s.stationId !== this.#formOf) this.#showSettings(s);
      // a station that ended meanwhile changed its run's status
      if (before && s && before.stationId === s.stationId && ACTIVE_STATES.includes(before.state) && !ACTIVE_STATES.includes(s.state)) void this.#app.invalidate('inspections');
    } catch (e) {
      this.#app.fail(e);
    }
  }

  #showSettings(s: StationStatus): void {
    this.#formOf = s.stationId;
    if (!ACTIVE_STATES.includes(s.state) && this.input.trim()) return; // the user's form of a new station is kept
    this.modelId = s.modelId;
    this.input = s.input;
    this.out = s.out;
    this.settleMs = s.settleMs;
    this.moveTo = s.moveTo ?? '';
    this.webhook = s.webhook ?? '';
    this.mqttUrl = s.mqtt?.url ?? '';
    this.mqttTopic = s.mqtt?.topic ?? '';
    this.alarmAfterFails = s.alarmAfterFails;
    if (this.reportRunId === null) this.chooseReportRun(s.runId);
  }

  /** The arguments of station.start from the form; null (with a notice) when the form is incomplete. */
  startArgs(): ArgsOf<'station.start'> | null {
    if (this.modelId === null || !this.input.trim()) return null;
    const url = this.mqttUrl.trim();
    const topic = this.mqttTopic.trim();
    if (!!url !== !!topic) {
      this.#app.notify({ kind: 'error', message: 'MQTT needs both the broker URL and the topic.', hint: 'Fill in both, or clear both to send no MQTT events.' });
      return null;
    }
    const settle = Number(this.settleMs);
    const alarm = Number(this.alarmAfterFails);
    return {
      modelId: this.modelId,
      input: this.input.trim(),
      ...(this.out.trim() ? { out: this.out.trim() } : {}),
      ...(Number.isFinite(settle) ? { settleMs: Math.round(settle) } : {}),
      ...(this.moveTo.trim() ? { moveTo: this.moveTo.trim() } : {}),
      ...(this.webhook.trim() ? { webhook: this.webhook.trim() } : {}),
      ...(url ? { mqtt: { url, topic } } : {}),
      ...(Number.isFinite(alarm) ? { alarmAfterFails: Math.round(alarm) } : {}),
    };
  }

  async start(): Promise<void> {
    const args = this.canStart ? this.startArgs() : null;
    if (!args) return;
    this.busy = true;
    try {
      const r = await this.#api.station.start(args);
      this.#formOf = r.stationId; // the form already shows its settings
      this.chooseReportRun(r.runId);
      await this.refresh();
      this.#app.notify({ kind: 'info', message: `The station watches ${args.input}.` });
      void this.#app.invalidate('inspections');
    } catch (e) {
      this.#app.fail(e);
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    const s = this.status;
    if (!s || !this.canStop) return;
    this.busy = true;
    this.status = { ...s, state: 'stopping' };
    try {
      await this.#api.station.stop({ stationId: s.stationId });
      await this.refresh();
      void this.#app.invalidate('inspections');
    } catch (e) {
      this.#app.fail(e);
    } finally {
      this.busy = false;
    }
  }

  async acknowledge(): Promise<void> {
    const s = this.status;
    if (!s?.alarm) return;
    try {
      this.status = await this.#api.station.acknowledgeAlarm({ stationId: s.stationId });
    } catch (e) {
      this.#app.fail(e);
    }
  }

  // ---- the report of a shift ----------------------------------------------------------------------

  /** Another run to report on (the whole run until a range is typed), with a file name after it. */
  chooseReportRun(runId: number | null): void {
    if (runId === this.reportRunId) return;
    this.reportRunId = runId;
    this.reportFrom = '';
    this.reportTo = '';
    const dataDir = this.#app.info?.dataDir;
    if (runId !== null && dataDir && (!this.reportPath || this.reportPath === this.#autoReportPath)) this.reportPath = this.#autoReportPath = `${dataDir}/station-${runId}-report`;
  }

  /** The range of the run shown as the report's default: its start, and its end or now. */
  runSpan(runId: number | null): { fromMs: number | null; toMs: number | null } {
    const run = this.runs.find((r) => r.id === runId);
    const live = this.status?.runId === runId ? this.status : null;
    return { fromMs: run?.startedAtMs ?? live?.startedAtMs ?? null, toMs: run?.finishedAtMs ?? live?.stoppedAtMs ?? null };
  }

  /** The save dialog returned `path`: the format its name asks for is the one to write next. */
  reportChosen(path: string): ReportFormat {
    return this.#reports.chosen(path);
  }

  async report(format: ReportFormat): Promise<void> {
    const runId = this.reportRunId;
    if (runId === null || !this.reportPath.trim()) return;
    const fromMs = fromLocalInput(this.reportFrom);
    // to the end of the minute typed (the field shows minutes)
    const toMs = fromLocalInput(this.reportTo);
    const range = { ...(fromMs !== null ? { fromMs } : {}), ...(toMs !== null ? { toMs: toMs + 59_999 } : {}) };
    this.busy = true;
    try {
      await this.#reports.save(this.reportPath, format, (outPath, overwrite) => this.#api.inspection.exportReport({ runId, format, outPath, overwrite, ...range }));
    } finally {
      this.busy = false;
    }
  }
}
