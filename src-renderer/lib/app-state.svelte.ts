/**
 * The app-wide state: the API client, the datasets, the chosen dataset, the route (kept in
 * the address's #hash so a reload returns to the same place), running jobs with their latest
 * progress, the message bar, and a version per data topic: a change (a finished job, a label,
 * an activated model) invalidates its topics, and each view loads again only what it shows.
 * Views get it through `getApp()` (a typed context); each view's own state and logic live in
 * a class in ./views (constructed with the API client and this state).
 */
import { getContext, setContext } from 'svelte';
import type { AppInfo, DatasetSummary, JobKind, JobState, JobStatus, MenuCommand } from '../../src-main/common/api';
import type { EngineProgress } from '../../src-main/common/engine-protocol';
import type { SerializedError } from '../../src-main/common/errors';
import { ApiError, type ApiClient } from './api-client';
import { setNumberFormat, type NumberFormat } from './format';
import { runMenuCommand, type MenuRequest } from './menu-commands';
import { formatHash, parseHash, type Route } from './route';

export { VIEWS, formatHash, parseHash, type Route, type View } from './route';

/**
 * What data can change, each with its own version: views read the versions of the topics they
 * show, so a change of one topic reloads only the views (and the parts of them) that show it.
 *   datasets:    the dataset list and its counts (the header, the Datasets list)
 *   images:      a dataset's images, their labels, splits and masks, and its defect types
 *   models:      model versions (list, thresholds, the active one)
 *   inspections: inspection runs and their results
 *   training:    training runs
 */
export const TOPICS = ['datasets', 'images', 'models', 'inspections', 'training'] as const;
export type Topic = (typeof TOPICS)[number];

/** The topics a job may have changed once it ends (completed, failed or cancelled: a cancelled import keeps what it imported). */
export const JOB_TOPICS: Readonly<Record<JobKind, readonly Topic[]>> = {
  import: ['datasets', 'images'],
  training: ['datasets', 'models', 'training'],
  inspection: ['inspections'],
  // writes a file outside the data folder: nothing the views show changes
  export: [],
  // a stored robustness report (the Models view lists them)
  robustness: ['models'],
};

export interface JobView {
  jobId: string;
  kind: JobKind;
  status: JobStatus;
  progress: EngineProgress;
  result?: unknown;
  error?: SerializedError;
  startedAtMs: number;
  runId?: number;
}

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  message: string;
  hint?: string;
}

export class AppState {
  readonly api: ApiClient;
  info = $state.raw<AppInfo | null>(null);
  datasets = $state.raw<DatasetSummary[]>([]);
  route = $state.raw<Route>({ view: 'datasets', datasetId: null, imageId: null });
  jobs = $state.raw<Record<string, JobView>>({});
  notices = $state.raw<Notice[]>([]);
  /** The version of each topic (read one with `version`, bump with `invalidate`). */
  #versions = $state<Record<Topic, number>>({ datasets: 0, images: 0, models: 0, inspections: 0, training: 0 });
  /** Bumped when the number format changes (views re-render their numbers). */
  formatVersion = $state(0);
  /** What a menu command left for the view it showed (taken once by that view). */
  request = $state.raw<MenuRequest | null>(null);
  /** The annotator asks before the route changes (unsaved strokes). */
  #leaveGuard: (() => Promise<boolean>) | null = null;
  #noticeId = 0;
  #requestId = 0;

  dataset = $derived.by(() => this.datasets.find((d) => d.id === this.route.datasetId) ?? null);

  constructor(api: ApiClient) {
    this.api = api;
  }

  start(win: Window): () => void {
    this.route = parseHash(win.location.hash);
    const onHash = () => {
      const next = parseHash(win.location.hash);
      if (formatHash(next) !== formatHash(this.route)) this.route = next;
    };
    win.addEventListener('hashchange', onHash);
    this.api.app.info().then((i) => (this.info = i), (e) => this.fail(e));
    void this.refreshDatasets();
    this.api.jobs.list().then((list) => list.forEach((j) => this.#track(j)), (e) => this.fail(e));
    const off = this.api.onEvent((e) => {
      if (e.type === 'menu') return;
      const prev = this.jobs[e.jobId];
      const base: JobView = prev ?? { jobId: e.jobId, kind: e.kind, status: 'running', progress: { fraction: 0 }, startedAtMs: Date.now() };
      let next: JobView;
      if (e.type === 'progress') next = { ...base, progress: e.progress };
      else if (e.type === 'result') next = { ...base, status: 'completed', result: e.value, progress: { ...base.progress, fraction: 1 } };
      else next = { ...base, status: e.error.code === 'CANCELLED' ? 'cancelled' : 'failed', error: e.error };
      this.jobs = { ...this.jobs, [e.jobId]: next };
      // a job that ended changed the data of its kind (its result arrives here, not as a reply)
      if (e.type !== 'progress') void this.invalidate(...(JOB_TOPICS[e.kind] ?? []));
    });
    return () => {
      win.removeEventListener('hashchange', onHash);
      off();
    };
  }

  #track(j: JobState): void {
    this.jobs = { ...this.jobs, [j.jobId]: { jobId: j.jobId, kind: j.kind, status: j.status, progress: j.progress, result: j.result, error: j.error, startedAtMs: j.startedAtMs, runId: j.runId } };
  }

  /** Registers a job the UI just started (events may arrive before or after). */
  started(kind: JobKind, jobId: string, runId?: number): void {
    const prev = this.jobs[jobId];
    this.jobs = { ...this.jobs, [jobId]: prev ? { ...prev, runId } : { jobId, kind, status: 'running', progress: { fraction: 0 }, startedAtMs: Date.now(), runId } };
  }

  /** The newest job of a kind (running first). */
  latestJob(kind: JobKind): JobView | null {
    const list = Object.values(this.jobs).filter((j) => j.kind === kind).sort((a, b) => b.startedAtMs - a.startedAtMs);
    return list.find((j) => j.status === 'running') ?? list[0] ?? null;
  }

  /** The version of a topic; reading it in an effect or derived makes that reload when the topic changes. */
  version(topic: Topic): number {
    return this.#versions[topic];
  }

  /**
   * Marks topics as changed: whatever shows them loads them again. `datasets` also reloads
   * the dataset list (resolves when it is loaded).
   */
  invalidate(...topics: Topic[]): Promise<void> {
    for (const t of new Set(topics)) this.#versions[t]++;
    return topics.includes('datasets') ? this.refreshDatasets() : Promise.resolve();
  }

  async refreshDatasets(): Promise<void> {
    try {
      this.datasets = await this.api.datasets.list();
      if (this.route.datasetId === null && this.datasets.length) this.route = { ...this.route, datasetId: this.datasets[0]!.id };
    } catch (e) {
      this.fail(e);
    }
  }

  setNumberFormat(f: NumberFormat): void {
    setNumberFormat(f);
    try {
      localStorage.setItem(NUMBER_FORMAT_KEY, JSON.stringify(f));
    } catch {
      // storage unavailable (private window): the format holds for this session only
    }
    this.formatVersion++;
  }

  setLeaveGuard(guard: (() => Promise<boolean>) | null): void {
    this.#leaveGuard = guard;
  }

  /** Changes the route (and the address), asking the annotator first when it has unsaved work. */
  async go(patch: Partial<Route>): Promise<boolean> {
    const next: Route = { ...this.route, ...patch };
    if (patch.view && patch.view !== 'annotate' && patch.imageId === undefined) next.imageId = this.route.imageId;
    if (formatHash(next) === formatHash(this.route)) return true;
    if (this.#leaveGuard && !(await this.#leaveGuard())) return false;
    // a menu request not taken by its view does not follow the user elsewhere
    if (next.view !== this.route.view) this.request = null;
    this.route = next;
    if (typeof window !== 'undefined') window.history.replaceState(null, '', formatHash(next));
    return true;
  }

  /** A desktop menu command: shows its view and leaves that view its request. */
  runMenu(command: MenuCommand): Promise<boolean> {
    return runMenuCommand(command, {
      go: (patch) => this.go(patch),
      request: (c) => (this.request = { id: ++this.#requestId, command: c }),
    });
  }

  /** Takes the pending request when it is `command`'s (true: the caller now does it). */
  takeRequest(command: MenuCommand): boolean {
    if (this.request?.command !== command) return false;
    this.request = null;
    return true;
  }

  fail(e: unknown): void {
    const err = e instanceof ApiError ? e : new ApiError({ code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) });
    if (err.code === 'CANCELLED') return;
    this.notify({ kind: 'error', message: err.message, hint: err.hint });
  }

  notify(n: Omit<Notice, 'id'>): void {
    const id = ++this.#noticeId;
    this.notices = [...this.notices.slice(-3), { ...n, id }];
    if (n.kind === 'info') setTimeout(() => this.dismiss(id), 4000);
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }
}

export const NUMBER_FORMAT_KEY = 'bgad.numberFormat';

/** The saved number format, if any (called once at start-up). */
export function restoreNumberFormat(storage: Pick<Storage, 'getItem'>): void {
  try {
    const f = JSON.parse(storage.getItem(NUMBER_FORMAT_KEY) ?? 'null') as NumberFormat | null;
    if (f && (f.decimalMark === '.' || f.decimalMark === ',') && (f.grouping === 'none' || f.grouping === 'thin-space')) setNumberFormat(f);
  } catch {
    // a damaged value: keep the default format
  }
}

const KEY = Symbol('bgad-app');
export const setApp = (app: AppState) => setContext(KEY, app);
export const getApp = () => getContext<AppState>(KEY);
