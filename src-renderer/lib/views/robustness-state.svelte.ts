/**
 * The Models view's unseen-defect robustness report (no DOM): "will it catch a defect we have
 * never seen?". Starts the report as a job (`models.robustness`: 2 + defect types trainings,
 * progress, cancel), lists the dataset's stored reports, shows the chosen one as a table and a
 * grouped bar chart (per type: seen, unseen, baseline of the chosen figure) and saves it as PDF
 * or CSV (the one report-saving flow, report-save.ts).
 */
import { untrack } from 'svelte';
import type { RobustnessReportRecord, TrainingPreset } from '../../../src-main/common/api';
import { ROBUSTNESS_COLOURS, ROBUSTNESS_PROTOCOL_LABELS, ROBUSTNESS_PROTOCOLS } from '../../../src-main/common/robustness';
import type { ApiClient } from '../api-client';
import type { AppState } from '../app-state.svelte';
import { ReportSaver } from '../report-save';
import type { ReportFormat } from '../save-path';

/** The part of the API client the panel uses. */
export type RobustnessApi = Pick<ApiClient, 'models' | 'jobs' | 'app'>;

export type RobustnessMetric = 'imageAuroc' | 'pixelAuroc' | 'recall';
export const ROBUSTNESS_METRICS: readonly { key: RobustnessMetric; label: string }[] = [
  { key: 'imageAuroc', label: 'Image AUROC' },
  { key: 'pixelAuroc', label: 'Pixel AUROC' },
  { key: 'recall', label: 'Recall at the threshold' },
];

/** The chart of a report: one group per defect type, one bar per protocol (null where a figure does not exist). */
export function robustnessChart(rec: RobustnessReportRecord | null, metric: RobustnessMetric): { labels: string[]; groups: { label: string; colour: string; values: (number | null)[] }[] } {
  if (!rec) return { labels: [], groups: [] };
  const rows = rec.report.rows;
  return {
    labels: rows.map((r) => r.type),
    groups: ROBUSTNESS_PROTOCOLS.map((p) => ({
      label: ROBUSTNESS_PROTOCOL_LABELS[p],
      colour: ROBUSTNESS_COLOURS[p],
      values: rows.map((r) => {
        const v = r[p]?.[metric];
        return typeof v === 'number' && Number.isFinite(v) ? v : null;
      }),
    })),
  };
}

export class RobustnessState {
  readonly #api: RobustnessApi;
  readonly #app: AppState;
  readonly #reports: ReportSaver;

  reports = $state.raw<RobustnessReportRecord[]>([]);
  selectedId = $state<number | null>(null);
  metric = $state<RobustnessMetric>('imageAuroc');
  preset = $state<TrainingPreset>('fast');
  reportPath = $state('');
  starting = $state(false);
  busy = $state(false);
  jobId = $state<string | null>(null);

  readonly datasetId = $derived.by(() => this.#app.route.datasetId);
  readonly job = $derived.by(() => (this.jobId ? this.#app.jobs[this.jobId] ?? null : this.#app.latestJob('robustness')));
  readonly running = $derived(this.job?.status === 'running');
  readonly selected = $derived(this.reports.find((r) => r.id === this.selectedId) ?? this.reports[0] ?? null);
  readonly chart = $derived(robustnessChart(this.selected, this.metric));
  readonly canStart = $derived(!!this.datasetId && !this.running && !this.starting);
  readonly canReport = $derived(!!this.selected && !!this.reportPath.trim() && !this.busy);

  constructor(api: RobustnessApi, app: AppState, opts: { confirm?: (question: string) => boolean } = {}) {
    this.#api = api;
    this.#app = app;
    const confirm = opts.confirm ?? ((q: string) => window.confirm(q));
    this.#reports = new ReportSaver(api, app, confirm);

    // the dataset's reports (a finished report bumps 'models')
    $effect(() => {
      const id = this.datasetId;
      app.version('models');
      untrack(() => this.#load(id));
    });
  }

  #load(datasetId: number | null): void {
    if (!datasetId) {
      this.reports = [];
      return;
    }
    this.#api.models.robustnessReports({ datasetId }).then((list) => {
      if (this.datasetId !== datasetId) return;
      const newest = list[0]?.id;
      const grew = newest !== undefined && !this.reports.some((r) => r.id === newest);
      this.reports = list;
      // a new report is shown at once; otherwise the choice stays
      if (grew || !list.some((r) => r.id === this.selectedId)) this.selectedId = newest ?? null;
      const dataDir = this.#app.info?.dataDir;
      if (!this.reportPath && dataDir && newest) this.reportPath = `${dataDir}/robustness-report`;
    }, (e) => this.#app.fail(e));
  }

  /** Starts the report with the backbone of the version shown (the engine's default without one). */
  async start(backboneId?: string): Promise<void> {
    const datasetId = this.datasetId;
    if (!datasetId || !this.canStart) return;
    this.starting = true;
    try {
      const r = await this.#api.models.robustness({ datasetId, preset: this.preset, ...(backboneId ? { backboneId } : {}) });
      this.jobId = r.jobId;
      this.#app.started('robustness', r.jobId);
      this.#app.notify({ kind: 'info', message: 'The unseen-defect report has started: it trains two models more than the dataset has defect types. The app stays usable meanwhile.' });
    } catch (e) {
      this.#app.fail(e);
    } finally {
      this.starting = false;
    }
  }

  async cancel(): Promise<void> {
    const id = this.job?.status === 'running' ? this.job.jobId : null;
    if (id) await this.#api.jobs.cancel({ jobId: id }).catch((e) => this.#app.fail(e));
  }

  select(id: number): void {
    this.selectedId = id;
  }

  /** The save dialog returned `path`: the format its name asks for is the one to write next. */
  reportChosen(path: string): ReportFormat {
    return this.#reports.chosen(path);
  }

  async report(format: ReportFormat): Promise<void> {
    const rec = this.selected;
    if (!rec) return;
    this.busy = true;
    try {
      await this.#reports.save(this.reportPath, format, (outPath, overwrite) => this.#api.models.exportRobustness({ reportId: rec.id, format, outPath, overwrite }));
    } finally {
      this.busy = false;
    }
  }
}
