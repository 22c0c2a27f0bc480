/**
 * The Inspect view's state and logic (no DOM): the models to inspect with, one image with its
 * heat map, a folder inspected as a batch job, and the results table of a run, one page at a
 * time with the verdict filter, the file-name search and the sort order kept across pages;
 * the PDF and CSV reports. The view keeps the markup, the elements and the event wiring.
 */
import { untrack } from 'svelte';
import { IMAGE_FILE_EXTENSIONS, type InspectionResult, type InspectionRun, type InspectionSummary, type ModelVersion, type SingleInspection } from '../../../src-main/common/api';
import type { ApiClient } from '../api-client';
import type { AppState } from '../app-state.svelte';
import { fmtInt } from '../format';
import { ReportSaver } from '../report-save';
import { DEFAULT_PAGE_SIZE, DEFAULT_RESULTS_VIEW, fetchPage, pageCount, pageForKey, resultsArgs, rowsLabel, sortedBy, type ResultsView } from '../paging';
import { reportFileName, reportFormatOf, type ReportFormat } from '../save-path';

/** The part of the API client the view uses. */
export type InspectApi = Pick<ApiClient, 'models' | 'inspection' | 'jobs' | 'app'>;

export interface InspectOptions {
  /** Asks before a file is replaced (default: window.confirm). */
  confirm?: (question: string) => boolean;
  /** Scrolls the results table back to its top (another page, filter or sort). */
  scrollToTop?: () => void;
  /** Wait after the last key typed in the search field before it is sent (ms, default 250). */
  searchDelayMs?: number;
  /** Refresh interval of the results while a batch runs (ms, default 1500). */
  refreshMs?: number;
}

/** A file to inspect (a File from a drop or the picker). */
export interface ImageFile {
  name: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export class InspectState {
  readonly #api: InspectApi;
  readonly #app: AppState;
  readonly #opts: Required<Omit<InspectOptions, 'scrollToTop'>> & Pick<InspectOptions, 'scrollToTop'>;

  models = $state.raw<ModelVersion[]>([]);
  modelId = $state<number | null>(null);
  single = $state.raw<SingleInspection | null>(null);
  singleBusy = $state(false);
  singlePath = $state('');
  heatOpacity = $state(0.5);
  dragOver = $state(false);
  folder = $state('');
  jobId = $state<string | null>(null);
  runs = $state.raw<InspectionRun[]>([]);
  runId = $state<number | null>(null);
  run = $state.raw<(InspectionRun & { summary: InspectionSummary }) | null>(null);
  results = $state.raw<InspectionResult[]>([]);
  total = $state(0);
  /** Filter and sort of the results table: sent with every page. */
  view = $state.raw<ResultsView>({ ...DEFAULT_RESULTS_VIEW });
  /** The search field as typed (sent as `view.search` a moment after typing stops). */
  searchText = $state('');
  page = $state(0);
  pageSize = $state<number>(DEFAULT_PAGE_SIZE);
  reportPath = $state('');
  runsLoaded = $state(false);
  readonly #reports: ReportSaver;
  /** The report path last proposed by the app (replaced when the run changes, unless edited). */
  #autoReportPath = '';
  #loadToken = 0;

  readonly datasetId = $derived.by(() => this.#app.route.datasetId);
  readonly job = $derived.by(() => (this.jobId ? this.#app.jobs[this.jobId] ?? null : null));
  readonly running = $derived(this.job?.status === 'running');
  readonly model = $derived(this.models.find((m) => m.id === this.modelId) ?? null);
  readonly pages = $derived(pageCount(this.total, this.pageSize));
  /** "rows 1–100 of 1 234" */
  readonly rowsText = $derived(rowsLabel(this.page, this.results.length, this.total, this.pageSize, fmtInt));
  /** Whether the table shows a filtered or searched part of the run. */
  readonly filtered = $derived(!!this.view.verdict || !!this.view.search.trim());
  /** The run shown is loaded (its report can be asked for). */
  readonly runKnown = $derived(this.runsLoaded && (this.runId === null || this.run?.id === this.runId));
  readonly canStartBatch = $derived(!!this.modelId && !!this.folder.trim() && !this.running);
  readonly canReport = $derived(this.run?.status === 'completed' && !!this.reportPath.trim());

  constructor(api: InspectApi, app: AppState, opts: InspectOptions = {}) {
    this.#api = api;
    this.#app = app;
    this.#opts = { confirm: (q) => window.confirm(q), searchDelayMs: 250, refreshMs: 1500, ...opts };
    this.#reports = new ReportSaver(api, app, (q) => this.#opts.confirm(q));

    // the dataset's models (a new, activated or re-thresholded model: 'models')
    $effect(() => {
      const id = this.datasetId;
      app.version('models');
      if (id) untrack(() => this.#loadModels(id));
    });

    // the dataset's inspection runs
    $effect(() => {
      const id = this.datasetId;
      app.version('inspections');
      if (id) untrack(() => this.#loadRuns(id));
    });

    // the page shown: another run, filter, sort, page or page size, or changed results
    $effect(() => {
      void this.runId;
      void this.view;
      void this.page;
      void this.pageSize;
      app.version('inspections');
      untrack(() => void this.loadResults());
    });

    // the path search is sent a moment after typing stops
    $effect(() => {
      const text = this.searchText;
      if (text === this.view.search) return;
      const t = setTimeout(() => this.setView({ ...this.view, search: text }), this.#opts.searchDelayMs);
      return () => clearTimeout(t);
    });

    // refresh the table now and then while a batch runs
    $effect(() => {
      if (!this.running) return;
      const t = setInterval(() => void this.loadResults(), this.#opts.refreshMs);
      return () => clearInterval(t);
    });
  }

  #loadModels(datasetId: number): void {
    this.#api.models.list({ datasetId }).then((list) => {
      this.models = list.filter((m) => m.status === 'ready' && m.bundleFile);
      if (!this.models.some((m) => m.id === this.modelId)) this.modelId = (this.models.find((m) => m.isActive) ?? this.models[0])?.id ?? null;
    }, (e) => this.#app.fail(e));
  }

  #loadRuns(datasetId: number): void {
    this.runsLoaded = false;
    this.#api.inspection.listRuns({ datasetId }).then((r) => {
      this.runs = r;
      if (this.runId === null && r[0]) this.runId = r[0].id;
      this.runsLoaded = true;
    }, (e) => this.#app.fail(e));
  }

  /** Loads the run shown and its current page (a newer request wins over an older one). */
  async loadResults(): Promise<void> {
    const id = this.runId;
    if (!id) return;
    const token = ++this.#loadToken;
    const v = this.view;
    const size = this.pageSize;
    const want = this.page;
    try {
      const [r, p] = await Promise.all([
        this.#api.inspection.getRun({ runId: id }),
        fetchPage((w) => this.#api.inspection.results(resultsArgs(id, v, w)), want, size),
      ]);
      if (token !== this.#loadToken) return; // a newer page, filter or run was asked for meanwhile
      this.run = r;
      this.results = p.items;
      this.total = p.total;
      this.page = p.page;
      const info = this.#app.info;
      if (info && (!this.reportPath || this.reportPath === this.#autoReportPath)) this.reportPath = this.#autoReportPath = `${info.dataDir}/${reportFileName(r)}`;
    } catch (e) {
      if (token === this.#loadToken) this.#app.fail(e);
    }
  }

  // ---- the results table ----------------------------------------------------------------------

  /** A new filter or sort starts at the first page. */
  setView(next: ResultsView): void {
    this.view = next;
    this.page = 0;
    this.#opts.scrollToTop?.();
  }

  setVerdict(verdict: ResultsView['verdict']): void {
    this.setView({ ...this.view, verdict });
  }

  /** A column header: the same column flips the direction, another sorts by it. */
  sortBy(key: 'score' | 'path'): void {
    this.setView(sortedBy(this.view, key));
  }

  /** The sort arrow of a column header ('' when the table is not sorted by it). */
  arrow(key: 'score' | 'path'): string {
    return this.view.orderBy === key ? (this.view.descending ? '▼' : '▲') : '';
  }

  goPage(next: number): void {
    const p = Math.min(Math.max(0, next), this.pages - 1);
    if (p === this.page) return;
    this.page = p;
    this.#opts.scrollToTop?.();
  }

  /** PageUp/PageDown in the table; true for those keys (their default scrolling is then not wanted). */
  pageByKey(key: string): boolean {
    const next = pageForKey(key, this.page, this.pages);
    if (next !== null) this.goPage(next);
    return key === 'PageDown' || key === 'PageUp';
  }

  setPageSize(size: number): void {
    this.pageSize = size;
    this.page = 0;
  }

  /** Another run in the run list: its first page. */
  showRun(runId: number | null): void {
    this.runId = runId;
    this.page = 0;
  }

  // ---- one image ------------------------------------------------------------------------------

  #singleArgs() {
    // review: kept in the model's "single images" run, so the review queue can show it
    return { modelId: this.modelId ?? undefined, datasetId: this.modelId ? undefined : this.datasetId ?? undefined, review: true };
  }

  async inspectFile(file: ImageFile): Promise<void> {
    this.singleBusy = true;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      this.single = await this.#api.inspection.inspectImage({ ...this.#singleArgs(), image: { fileName: file.name, bytes } });
      void this.#app.invalidate('inspections'); // the "single images" run changed
    } catch (e) {
      this.#app.fail(e);
    } finally {
      this.singleBusy = false;
    }
  }

  async inspectPath(): Promise<void> {
    if (!this.singlePath.trim()) return;
    this.singleBusy = true;
    try {
      this.single = await this.#api.inspection.inspectImage({ ...this.#singleArgs(), path: this.singlePath.trim() });
      void this.#app.invalidate('inspections'); // the "single images" run changed
    } catch (e) {
      this.#app.fail(e);
    } finally {
      this.singleBusy = false;
    }
  }

  /**
   * File > Inspect Image…: the open dialog in the desktop app, then the image is inspected.
   * False when nothing was chosen there (or there is no dialog): the view then offers its drop zone.
   */
  async chooseImage(): Promise<boolean> {
    if (!this.#app.info?.hasNativeDialogs) return false;
    try {
      const r = await this.#api.app.pickFile({ title: 'Inspect an image', filterName: 'Images', extensions: [...IMAGE_FILE_EXTENSIONS] });
      if (!r.path) return false;
      this.singlePath = r.path;
      await this.inspectPath();
      return true;
    } catch (e) {
      this.#app.fail(e);
      return false;
    }
  }

  // ---- a folder -------------------------------------------------------------------------------

  async startBatch(): Promise<void> {
    if (!this.modelId || !this.folder.trim()) return;
    try {
      const r = await this.#api.inspection.startBatch({ modelId: this.modelId, folder: this.folder.trim() });
      this.#app.started('inspection', r.jobId, r.runId);
      this.jobId = r.jobId;
      this.runId = r.runId;
      this.page = 0;
      this.runs = await this.#api.inspection.listRuns({ datasetId: this.datasetId ?? undefined });
    } catch (e) {
      this.#app.fail(e);
    }
  }

  async cancel(): Promise<void> {
    if (this.jobId) await this.#api.jobs.cancel({ jobId: this.jobId }).catch((e) => this.#app.fail(e));
  }

  /** A folder was chosen in the dialog (File > Inspect Folder…): true when it can be inspected now. */
  batchFolderChosen(): boolean {
    if (this.modelId) return true;
    this.#app.notify({ kind: 'error', message: 'There is no trained model to inspect with.', hint: 'Train one in the Training view, then inspect the folder.' });
    return false;
  }

  // ---- reports --------------------------------------------------------------------------------

  async report(format: ReportFormat): Promise<void> {
    if (!this.runId || !this.reportPath.trim()) return;
    const runId = this.runId;
    await this.#reports.save(this.reportPath, format, (outPath, overwrite) => this.#api.inspection.exportReport({ runId, format, outPath, overwrite }));
  }

  /** The save dialog returned `path`: the format its name asks for is the one to write next. */
  reportChosen(path: string): ReportFormat {
    return this.#reports.chosen(path);
  }

  /** The report in the format of the path chosen (File > Export Report…). */
  reportAsChosen(): Promise<void> {
    return this.report(reportFormatOf(this.reportPath));
  }

  /** Whether the run shown has reports to save; if not, says why. */
  reportReady(): boolean {
    const run = this.run;
    if (!this.runId || !run) {
      this.#app.notify({ kind: 'error', message: 'There is no inspection run to report on yet.', hint: 'Inspect a folder first; its PDF and CSV reports can then be saved.' });
      return false;
    }
    if (run.status !== 'completed') {
      this.#app.notify({ kind: 'error', message: `Inspection run #${run.id} is ${run.status}; its reports are written when it completes.`, hint: 'Wait for the run to finish, or choose a completed run.' });
      return false;
    }
    return true;
  }
}
