import type { OptionSpec } from './command';
import { optNum, UsageError } from './command';
import type { PresetName, TrainConfig } from '../bgad/config';
import { EXECUTION_PROVIDERS, type ExecutionProviderName } from '../runtime/session';

/** Options shared by `bgad train` and `bgad eval`. */
export const TRAIN_OPTIONS: OptionSpec = {
  data: { type: 'string' },
  anomalies: { type: 'string' },
  'anomaly-types': { type: 'string' },
  seed: { type: 'string' },
  backbone: { type: 'string' },
  preset: { type: 'string' },
  steps: { type: 'string' },
  epochs: { type: 'string' },
  lr: { type: 'string' },
  beta: { type: 'string' },
  tau: { type: 'string' },
  lambda: { type: 'string' },
  focal: { type: 'string' },
  positions: { type: 'string' },
  'level-positions': { type: 'string' },
  'mask-pooling': { type: 'string' },
  threads: { type: 'string' },
  ep: { type: 'string' },
  'cache-dir': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
};

export const TRAIN_USAGE = `  --data DIR             one category in the MVTec AD layout (required)
  --anomalies N          known anomalies to train with (default: those available, up to 10;
                         0 = unsupervised baseline; asking for more than exist is an error)
  --anomaly-types a,b    take known anomalies only from these defect types ("unseen" protocol)
  --seed S               random seed (default 0); same seed and data give the same model
  --backbone ID          feature extractor (default: see bgad backbones)
  --preset fast|paper    fast: minutes on a CPU (default); paper: the published GPU schedule
  --steps N              optimizer steps per level (overrides the preset)
  --epochs N             paper preset: epochs over the training positions
  --lr X                 peak learning rate (fast 1e-3, paper 2e-4)
  --beta X               quantile of normal scores for the explicit boundary (default 0.01)
  --tau X                margin between normal and anomaly boundaries (default 0.1)
  --lambda X             weight of the semi-push-pull terms (default 1)
  --focal on|off         focal weighting of the boundary terms (default on)
  --positions N          feature positions per step of the finest level (default 4096)
  --level-positions equal|area|sqrt
                         coarser levels' chunk size vs their share of positions (fast: sqrt,
                         paper: area = every level makes the same passes over its positions)
  --mask-pooling nearest|any
                         how defect masks reach the feature levels: any pixel of a cell (default;
                         measured better on magnetic_tile) or nearest (as published)
  --threads N            CPU threads for ONNX Runtime (default: all cores)
  --ep cpu|cuda|dml|webgpu  execution provider (falls back to the CPU with a notice)
  --cache-dir DIR        backbone and feature cache (default ./.cache or BGAD_CACHE_DIR)
  -q, --quiet            no progress output`;

export function parseTrainOptions(v: Record<string, unknown>) {
  const preset = (v.preset ?? 'fast') as string;
  if (preset !== 'fast' && preset !== 'paper') throw new UsageError(`--preset must be fast or paper, got "${preset}"`);
  const focal = v.focal === undefined ? undefined : v.focal === 'on' ? true : v.focal === 'off' ? false : (() => { throw new UsageError('--focal must be on or off'); })();
  const ep = v.ep as string | undefined;
  if (ep !== undefined && !EXECUTION_PROVIDERS.includes(ep as ExecutionProviderName)) throw new UsageError(`--ep must be one of ${EXECUTION_PROVIDERS.join(', ')}`);
  const overrides: Partial<TrainConfig> = {
    seed: optNum(v.seed, 'seed', { min: 0, integer: true }),
    steps: optNum(v.steps, 'steps', { min: 1, integer: true }),
    epochs: optNum(v.epochs, 'epochs', { min: 0.01 }),
    lr: optNum(v.lr, 'lr', { min: 1e-8, max: 0.5 }),
    beta: optNum(v.beta, 'beta', { min: 1e-4, max: 0.49 }),
    tau: optNum(v.tau, 'tau', { min: 0, max: 5 }),
    lambda: optNum(v.lambda, 'lambda', { min: 0, max: 100 }),
    positionsPerStep: optNum(v.positions, 'positions', { min: 64, max: 1 << 20, integer: true }),
    focal,
    maskPooling: v['mask-pooling'] === undefined ? undefined : v['mask-pooling'] === 'nearest' || v['mask-pooling'] === 'any' ? v['mask-pooling'] : (() => { throw new UsageError('--mask-pooling must be nearest or any'); })(),
    levelPositions: v['level-positions'] === undefined ? undefined : ['equal', 'area', 'sqrt'].includes(v['level-positions'] as string) ? (v['level-positions'] as 'equal') : (() => { throw new UsageError('--level-positions must be equal, area or sqrt'); })(),
  };
  if (overrides.epochs !== undefined && preset === 'paper') overrides.steps = null;
  const types = typeof v['anomaly-types'] === 'string' ? (v['anomaly-types'] as string).split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  return {
    preset: preset as PresetName,
    overrides,
    anomalies: optNum(v.anomalies, 'anomalies', { min: 0, max: 10000, integer: true }),
    anomalyTypes: types,
    backboneId: v.backbone as string | undefined,
    threads: optNum(v.threads, 'threads', { min: 1, max: 256, integer: true }),
    executionProvider: ep as ExecutionProviderName | undefined,
    cacheDir: v['cache-dir'] as string | undefined,
    quiet: !!v.quiet,
  };
}
