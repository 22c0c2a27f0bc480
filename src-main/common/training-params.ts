/**
 * THE training-parameter table (pure). Every place that accepts a training parameter derives
 * from it: the contract's argument validator (`common/api.ts`, `training.start` params), the
 * command line (`cli/train-options.ts`: the flags, their parsing and `--help`), the Training
 * view's advanced form (`src-renderer/lib/views/training-state.svelte.ts`: fields, min/max,
 * tooltips, placeholders), the mapping to the pipeline's TrainConfig
 * (`services/training-data.ts` `trainOverrides`/`presetConfig`) and the presets' values
 * (`bgad/config.ts` PRESETS). `test/common/training-params.test.ts` checks that each of them
 * accepts exactly these ranges.
 *
 * Ranges are closed intervals [min, max] (so an HTML number input's min/max say the same).
 * Where the consumers used to disagree, the choice and its reason:
 *   steps          [1, 1 000 000] integer   (all agreed)
 *   epochs         [0.01, 10 000]           fractions are meaningful (totalSteps rounds up);
 *                                           the contract used to take integers only
 *   learningRate   [1e-6, 0.1]              above 0.1 Adam diverges on these flows; the UI
 *                                           allowed <= 0.1, the contract <= 1, the CLI <= 0.5,
 *                                           the mapping < 1; below 1e-6 nothing trains
 *   batchSize      [64, 65 536] integer     positions per step; the pipeline needs >= 64 (the
 *                                           contract used to take 1, the UI stopped at 4096,
 *                                           the CLI at 2^20); 65 536 still fits a CPU's memory
 *   couplingLayers [1, 32] integer          as the UI (the contract took 64)
 *   margin τ       [0, 5]                   as the CLI (the UI took < 10, the contract 100); the
 *                                           published value is 0.1
 *   boundaryQuantile β [0.0001, 0.49]       a quantile below the median (the contract took
 *                                           [0, 1], the mapping (0, 0.5), the UI >= 0.001)
 *   pushPullWeight λ [0, 100]               (all agreed)
 *   seed           [0, 2^31 - 1] integer    (the CLI had no maximum)
 *   flowSteps, imageSizePx                  accepted by the contract, fixed in this version
 *                                           (the mapping refuses them; see `configKey`)
 * `bgad/config.ts` `resolveConfig` keeps its own, wider sanity guard of the assembled config.
 */

/** The contract's presets (the Training view and `training.start`). */
export const TRAINING_PRESETS = ['fast', 'balanced', 'thorough'] as const;
export type TrainingPreset = (typeof TRAINING_PRESETS)[number];

/** The pipeline's presets (`bgad/config.ts`, the CLI's `--preset`). */
export type PipelinePreset = 'fast' | 'paper';

/** The parameters' names in the contract (`TrainingParams` in common/api.ts). */
export type TrainingParamKey =
  | 'steps'
  | 'epochs'
  | 'learningRate'
  | 'batchSize'
  | 'couplingLayers'
  | 'margin'
  | 'boundaryQuantile'
  | 'pushPullWeight'
  | 'seed'
  | 'flowSteps'
  | 'imageSizePx';

/** The pipeline's TrainConfig fields the parameters set. */
export type TrainConfigKey = 'steps' | 'epochs' | 'lr' | 'positionsPerStep' | 'blocks' | 'tau' | 'beta' | 'lambda' | 'seed';

export interface TrainingParamDef {
  /** Name in the contract (`TrainingParams`). */
  key: TrainingParamKey;
  /** `bgad train`/`bgad eval` flag without the dashes; null: not offered on the command line. */
  flag: string | null;
  /** TrainConfig field it sets; null: fixed in this version (the mapping refuses a value). */
  configKey: TrainConfigKey | null;
  /** Field label in the Training view. */
  label: string;
  /** Unit of the value, in words ('' for a plain number). */
  unit: string;
  min: number;
  max: number;
  integer: boolean;
  /** The pipeline presets' values; null: derived (the paper preset's steps come from epochs). */
  defaults: Readonly<Record<PipelinePreset, number | null>> | null;
  /** Offered in the Training view's advanced parameters. */
  form: boolean;
  /** Step of the form's number input (default 1 for integers, any value otherwise). */
  step?: number;
  /** One line for `--help`. */
  cli: string;
  /** What it does, for a factory engineer (the form's tooltip and hint). */
  help: string;
}

/** The table, in the order of the form and of `--help`. */
export const TRAINING_PARAM_DEFS: readonly TrainingParamDef[] = [
  {
    key: 'steps', flag: 'steps', configKey: 'steps', label: 'Steps per level', unit: 'steps', min: 1, max: 1_000_000, integer: true,
    defaults: { fast: 1200, paper: null }, form: true,
    cli: 'optimizer steps per level (overrides the preset)',
    help: 'Optimizer steps of each feature level. More steps fit the normal images more closely; a few dozen give a quick trial model.',
  },
  {
    key: 'epochs', flag: 'epochs', configKey: 'epochs', label: 'Epochs', unit: 'epochs', min: 0.01, max: 10_000, integer: false,
    defaults: { fast: null, paper: 200 }, form: false,
    cli: 'paper preset: epochs over the training positions',
    help: 'Thorough preset only: passes over every feature position of the good training images. Fewer epochs train faster and fit less closely.',
  },
  {
    key: 'learningRate', flag: 'lr', configKey: 'lr', label: 'Learning rate', unit: '', min: 1e-6, max: 0.1, integer: false,
    defaults: { fast: 1e-3, paper: 2e-4 }, form: true,
    cli: 'peak learning rate',
    help: 'Peak step size of Adam after the warm-up. Lower it if the loss jumps or training diverges.',
  },
  {
    key: 'batchSize', flag: 'positions', configKey: 'positionsPerStep', label: 'Positions per step', unit: 'positions', min: 64, max: 65_536, integer: true,
    defaults: { fast: 4096, paper: 4096 }, form: true, step: 64,
    cli: 'feature positions per step of the finest level',
    help: 'Feature-map positions (pixels of the feature grid) in one step, at least 64. Larger steps are smoother but slower and take more memory.',
  },
  {
    key: 'couplingLayers', flag: null, configKey: 'blocks', label: 'Coupling blocks', unit: 'blocks', min: 1, max: 32, integer: true,
    defaults: { fast: 8, paper: 8 }, form: true,
    cli: 'coupling blocks of each flow',
    help: 'Depth of the normalizing flow on each level. More blocks model more complex textures, at a higher cost.',
  },
  {
    key: 'margin', flag: 'tau', configKey: 'tau', label: 'Margin τ', unit: '', min: 0, max: 5, integer: false,
    defaults: { fast: 0.1, paper: 0.1 }, form: true, step: 0.01,
    cli: 'margin between normal and anomaly boundaries',
    help: 'Semi-push-pull margin: how far below the explicit boundary the log-likelihood of known defects is pushed.',
  },
  {
    key: 'boundaryQuantile', flag: 'beta', configKey: 'beta', label: 'Boundary quantile β', unit: '', min: 0.0001, max: 0.49, integer: false,
    defaults: { fast: 0.01, paper: 0.01 }, form: true, step: 0.005,
    cli: 'quantile of normal scores for the explicit boundary',
    help: 'The explicit boundary is this quantile of normal log-likelihoods: normals below it are pulled up, defects pushed below it.',
  },
  {
    key: 'pushPullWeight', flag: 'lambda', configKey: 'lambda', label: 'Push-pull weight λ', unit: '', min: 0, max: 100, integer: false,
    defaults: { fast: 1, paper: 1 }, form: true, step: 0.1,
    cli: 'weight of the semi-push-pull terms',
    help: 'Weight of the boundary-guided loss relative to maximum likelihood. 0 trains an unsupervised model.',
  },
  {
    key: 'seed', flag: 'seed', configKey: 'seed', label: 'Seed', unit: '', min: 0, max: 2 ** 31 - 1, integer: true,
    defaults: { fast: 0, paper: 0 }, form: true,
    cli: 'random seed; same seed and data give the same model',
    help: 'Random seed: the same data, settings and seed give the same model.',
  },
  {
    key: 'flowSteps', flag: null, configKey: null, label: 'Flow steps', unit: 'steps', min: 1, max: 64, integer: true,
    defaults: null, form: false,
    cli: 'fixed in this version',
    help: 'Fixed by the flow design in this version.',
  },
  {
    key: 'imageSizePx', flag: null, configKey: null, label: 'Image size', unit: 'px', min: 32, max: 2048, integer: true,
    defaults: null, form: false,
    cli: 'fixed in this version',
    help: 'Fixed by the backbone in this version.',
  },
];

/** The table by contract name. */
export const TRAINING_PARAM = Object.fromEntries(TRAINING_PARAM_DEFS.map((d) => [d.key, d])) as Readonly<Record<TrainingParamKey, TrainingParamDef>>;

/** A parameter's range in words, e.g. "an integer from 64 to 65536". */
export function rangeText(d: TrainingParamDef): string {
  return `${d.integer ? 'an integer' : 'a number'} from ${d.min} to ${d.max}`;
}

/** Whether `value` lies in the parameter's range (and is an integer where it must be). */
export function inRange(d: TrainingParamDef, value: number): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= d.min && value <= d.max && (!d.integer || Number.isInteger(value));
}

/** How each contract preset maps onto the pipeline's presets, with its overrides. */
export const PRESET_PIPELINE: Readonly<Record<TrainingPreset, { preset: PipelinePreset; overrides: Partial<Record<TrainConfigKey, number>> }>> = {
  fast: { preset: 'fast', overrides: {} },
  balanced: { preset: 'fast', overrides: { steps: 3000 } },
  thorough: { preset: 'paper', overrides: {} },
};

/** A pipeline preset's value of a parameter (null: none or derived). */
export function pipelineDefault(key: TrainingParamKey, preset: PipelinePreset): number | null {
  return TRAINING_PARAM[key].defaults?.[preset] ?? null;
}

/** A contract preset's value of a parameter, as the Training view shows it (null: derived). */
export function presetDefault(key: TrainingParamKey, preset: TrainingPreset): number | null {
  const p = PRESET_PIPELINE[preset];
  const ck = TRAINING_PARAM[key].configKey;
  const o = ck ? p.overrides[ck] : undefined;
  return o ?? pipelineDefault(key, p.preset);
}

/** The pipeline value of a table parameter that has one (the presets' literal values). */
export function requiredDefault(key: TrainingParamKey, preset: PipelinePreset): number {
  const v = pipelineDefault(key, preset);
  if (v === null) throw new Error(`training parameter ${key} has no ${preset} default`);
  return v;
}

/**
 * The model's input geometry (bgad/geometry.ts): 'square' resizes every image to S x S; 'aspect'
 * to one H x W from the training normals' median aspect ratio. A choice beside the table (the
 * CLI's `--geometry`, `training.start`'s `geometry`, the Training view's "Input shape").
 */
export const GEOMETRY_MODES = ['square', 'aspect'] as const;
export type GeometryMode = (typeof GEOMETRY_MODES)[number];

/** The training default (one constant: the lead sets it after measuring on magnetic_tile). */
export const DEFAULT_GEOMETRY: GeometryMode = 'square';
