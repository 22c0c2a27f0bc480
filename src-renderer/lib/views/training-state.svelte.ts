/**
 * The Training view's state and logic (no DOM): the backbone, the preset and the advanced
 * parameters, the known defects used, starting and cancelling a run, its live loss curves
 * and log (from the job's progress events), and the past runs.
 */
import { untrack } from 'svelte';
import type { Backbone, DefectType, TrainingParams, TrainingPreset, TrainingProgressData, TrainingRun } from '../../../src-main/common/api';
import { DEFAULT_GEOMETRY, presetDefault, TRAINING_PARAM_DEFS, type GeometryMode, type TrainingParamKey } from '../../../src-main/common/training-params';
import type { ApiClient } from '../api-client';
import type { AppState } from '../app-state.svelte';
import { SERIES_COLOURS, type Series } from '../charts';
import { fmtInt } from '../format';

/** The part of the API client the view uses. */
export type TrainingApi = Pick<ApiClient, 'training' | 'defectTypes' | 'images' | 'jobs' | 'onEvent'>;

export interface LogLine {
  atMs: number;
  text: string;
}

/** An advanced parameter: its field, and what it does (a row of the training-parameter table). */
export interface ParamDef {
  key: TrainingParamKey;
  label: string;
  help: string;
  /** The number input's step ('any' for a free decimal). */
  step: number | 'any';
  min: number;
  max: number;
}

/** The advanced parameters offered (empty fields take the preset's value), from TRAINING_PARAM_DEFS. */
export const TRAINING_PARAMS: readonly ParamDef[] = TRAINING_PARAM_DEFS.filter((d) => d.form).map((d) => ({
  key: d.key,
  label: d.unit && !d.label.toLowerCase().includes(d.unit) ? `${d.label} (${d.unit})` : d.label,
  help: `${d.help} ${d.integer ? 'Whole number' : 'Value'} from ${d.min} to ${d.max}.`,
  step: d.step ?? (d.integer ? 1 : 'any'),
  min: d.min,
  max: d.max,
}));

/** The preset's value of a parameter, as the empty field's placeholder ("preset" where it is derived). */
export function placeholderOf(key: TrainingParamKey, preset: TrainingPreset): string {
  const v = presetDefault(key, preset);
  return v === null ? 'preset' : String(v);
}

/** What each input shape means, in words (bgad/geometry.ts). */
export const GEOMETRY_TEXT: Readonly<Record<GeometryMode, string>> = {
  square: 'every image resized to 256 × 256, whatever its shape',
  aspect: 'one height × width from the good images\' median shape (long side 256): long, thin parts and their thin defects keep their proportions',
};

/** What each preset means, in words. */
export const PRESET_TEXT: Readonly<Record<TrainingPreset, string>> = {
  fast: 'Minutes on a laptop CPU: 1,200 steps over cached features. Good for trying a dataset.',
  balanced: '3,000 steps: better separation of subtle defects, still under an hour on a CPU.',
  thorough: 'The published schedule (epochs over all positions). Hours on a CPU; use a GPU.',
};

export class TrainingState {
  readonly #api: TrainingApi;
  readonly #app: AppState;

  backbones = $state.raw<Backbone[]>([]);
  backboneId = $state('');
  preset = $state<TrainingPreset>('fast');
  /** The model's input shape (bgad/geometry.ts). */
  geometry = $state<GeometryMode>(DEFAULT_GEOMETRY);
  /** The advanced parameters as typed (null or absent: the preset's value). */
  params = $state<Record<string, number | null>>({});
  defectTypes = $state.raw<DefectType[]>([]);
  /** Defective training images with a mask, per defect type. */
  knownCounts = $state.raw<Record<number, number>>({});
  /** The defect types used (none ticked: all). */
  chosenTypes = $state.raw(new Set<number>());
  runs = $state.raw<TrainingRun[]>([]);
  jobId = $state<string | null>(null);
  runId = $state<number | null>(null);
  viewedRun = $state<number | null>(null);
  curves = $state.raw<Record<string, [number, number][]>>({});
  log = $state.raw<LogLine[]>([]);
  goodTrain = $state(0);

  readonly datasetId = $derived.by(() => this.#app.route.datasetId);
  readonly job = $derived.by(() => (this.jobId ? this.#app.jobs[this.jobId] ?? null : null));
  readonly running = $derived(this.job?.status === 'running');
  readonly backbone = $derived(this.backbones.find((b) => b.id === this.backboneId) ?? null);
  readonly lossSeries = $derived.by((): Series[] =>
    Object.keys(this.curves)
      .filter((k) => k.startsWith('loss'))
      .sort()
      .map((k, i) => ({ label: k.replace('loss/', 'loss, ').replace('level', 'level '), colour: SERIES_COLOURS[i % SERIES_COLOURS.length]!, points: this.curves[k]!.map(([x, y]) => ({ x, y })) })),
  );
  /** Known defects (with masks) among the types used. */
  readonly totalKnown = $derived(Object.entries(this.knownCounts).filter(([id]) => !this.chosenTypes.size || this.chosenTypes.has(Number(id))).reduce((a, [, n]) => a + n, 0));
  /** "step 310 of 1 200" while a run reports its steps. */
  readonly stepInfo = $derived.by(() => {
    const d = this.job?.progress.data as TrainingProgressData | undefined;
    return d?.steps ? `step ${fmtInt(d.step)} of ${fmtInt(d.steps)}` : '';
  });

  constructor(api: TrainingApi, app: AppState) {
    this.#api = api;
    this.#app = app;

    $effect(() => {
      untrack(() => this.#loadBackbones());
    });

    // what the dataset offers for training: its defect types and the images per kind
    $effect(() => {
      const id = this.datasetId;
      app.version('images');
      if (id) untrack(() => this.#loadTrainingData(id).catch((e) => app.fail(e)));
    });

    // the runs (and a run still going after a reload)
    $effect(() => {
      const id = this.datasetId;
      app.version('training');
      if (id) untrack(() => this.#loadRuns(id).catch((e) => app.fail(e)));
    });

    // live curves and log from the job's progress events
    $effect(() => {
      const id = this.jobId;
      if (!id) return;
      return untrack(() => api.onEvent((e) => {
        if (e.type === 'menu' || e.jobId !== id) return;
        if (e.type === 'progress') this.#progress(e.progress.data as TrainingProgressData | undefined, e.progress.message);
        else if (e.type === 'result') this.#say('Training finished: a new model version is ready in Models.');
        else this.#say(e.error.code === 'CANCELLED' ? 'Training was cancelled.' : `Training failed: ${e.error.message}`);
        // the runs reload when the job's end reaches the app (topic 'training')
      }));
    });
  }

  #loadBackbones(): void {
    this.#api.training.backbones().then((b) => {
      this.backbones = b;
      this.backboneId ||= b.find((x) => x.isDefault && x.available)?.id ?? b.find((x) => x.available)?.id ?? '';
    }, (e) => this.#app.fail(e));
  }

  async #loadTrainingData(datasetId: number): Promise<void> {
    const types = await this.#api.defectTypes.list({ datasetId });
    this.defectTypes = types;
    const counts: Record<number, number> = {};
    for (const t of types) {
      const p = await this.#api.images.list({ datasetId, label: 'defect', split: 'train', annotated: true, defectTypeId: t.id, limit: 1 });
      counts[t.id] = p.total ?? 0;
    }
    this.knownCounts = counts;
    this.goodTrain = (await this.#api.images.list({ datasetId, label: 'good', split: 'train', limit: 1 })).total ?? 0;
  }

  async #loadRuns(datasetId: number): Promise<void> {
    this.runs = await this.#api.training.listRuns({ datasetId });
    // reattach to a run still going (after a reload)
    if (!this.jobId) {
      const live = Object.values(this.#app.jobs).find((j) => j.kind === 'training' && j.status === 'running');
      if (live) {
        this.jobId = live.jobId;
        this.runId = live.runId ?? this.runs.find((r) => r.status === 'running')?.id ?? null;
        if (this.runId) await this.showRun(this.runId);
      }
    }
  }

  #progress(d: TrainingProgressData | undefined, msg: string | undefined): void {
    if (d?.losses) {
      const next = { ...this.curves };
      for (const [k, v] of Object.entries(d.losses)) next[k] = [...(next[k] ?? []), [d.step, v]];
      this.curves = next;
    }
    if (msg) {
      // counters of one phase ("training step 310/1200") update one line instead of adding lines
      const key = (t: string) => t.replace(/[\d.,/()]+/g, '#');
      const last = this.log.at(-1);
      if (last && key(last.text) === key(msg)) this.log = [...this.log.slice(0, -1), { atMs: Date.now(), text: msg }];
      else this.#say(msg);
    }
  }

  #say(text: string): void {
    this.log = [...this.log, { atMs: Date.now(), text }];
  }

  /** Shows a past run's curves (and how it ended). */
  async showRun(id: number): Promise<void> {
    try {
      const r = await this.#api.training.getRun({ runId: id });
      this.viewedRun = id;
      this.curves = r.loss;
      if (r.status !== 'running') this.log = [{ atMs: r.finishedAtMs ?? r.createdAtMs, text: r.error ? `Failed: ${r.error}` : `${r.status}: ${r.message ?? ''}` }];
    } catch (e) {
      this.#app.fail(e);
    }
  }

  async start(): Promise<void> {
    const datasetId = this.datasetId;
    const backboneId = this.backboneId;
    if (!datasetId || !backboneId) return;
    const p: TrainingParams = {};
    for (const def of TRAINING_PARAMS) {
      const v = this.params[def.key];
      if (v !== null && v !== undefined && Number.isFinite(v)) p[def.key] = v;
    }
    this.curves = {};
    this.log = [{ atMs: Date.now(), text: `Starting ${this.preset} training with ${backboneId}…` }];
    try {
      const r = await this.#api.training.start({ datasetId, preset: this.preset, backboneId, params: p, defectTypeIds: this.chosenTypes.size ? [...this.chosenTypes] : undefined, geometry: this.geometry });
      this.#app.started('training', r.jobId, r.runId);
      this.jobId = r.jobId;
      this.runId = r.runId;
      this.viewedRun = r.runId;
      this.runs = await this.#api.training.listRuns({ datasetId });
    } catch (e) {
      this.#say(`Could not start: ${(e as Error).message}`);
      this.#app.fail(e);
    }
  }

  async cancel(): Promise<void> {
    if (!this.jobId) return;
    try {
      await this.#api.jobs.cancel({ jobId: this.jobId });
      this.#say('Cancelling…');
    } catch (e) {
      this.#app.fail(e);
    }
  }

  toggleType(id: number): void {
    const s = new Set(this.chosenTypes);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    this.chosenTypes = s;
  }
}
