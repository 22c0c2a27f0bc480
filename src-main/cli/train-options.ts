import type { OptionSpec } from './command';
import { optNum, UsageError } from './command';
import type { PresetName, TrainConfig } from '../bgad/config';
import { TRAINING_PARAM_DEFS, type TrainingParamDef } from '../common/training-params';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../common/records';
import { DEFAULT_GEOMETRY, GEOMETRY_MODES, type GeometryMode } from '../bgad/geometry';

/** The table's parameters offered as flags (training-parameter table, common/training-params.ts). */
const FLAG_PARAMS = TRAINING_PARAM_DEFS.filter((d): d is TrainingParamDef & { flag: string; configKey: NonNullable<TrainingParamDef['configKey']> } => d.flag !== null && d.configKey !== null);

/** One `--help` line of a table parameter: what it does, its range and the presets' values. */
function usageLine(d: TrainingParamDef & { flag: string }): string {
  const head = `  --${d.flag} ${d.integer ? 'N' : 'X'}`;
  const defs = d.defaults ? Object.entries(d.defaults).filter(([, x]) => x !== null) : [];
  const same = defs.length === 2 && defs.every(([, x]) => x === defs[0]![1]);
  const dflt = !defs.length ? '' : same ? `; default ${defs[0]![1]}` : `; ${defs.map(([p, x]) => `${p} ${x}`).join(', ')}`;
  return `${head.padEnd(25)}${d.cli}
${''.padEnd(25)}(${d.min} to ${d.max}${d.integer ? ', integer' : ''}${dflt})`;
}

/** Options shared by `bgad train` and `bgad eval`. */
export const TRAIN_OPTIONS: OptionSpec = {
  data: { type: 'string' },
  anomalies: { type: 'string' },
  'anomaly-types': { type: 'string' },
  backbone: { type: 'string' },
  preset: { type: 'string' },
  ...Object.fromEntries(TRAINING_PARAM_DEFS.filter((d) => d.flag).map((d) => [d.flag!, { type: 'string' as const }])),
  focal: { type: 'string' },
  'level-positions': { type: 'string' },
  'mask-pooling': { type: 'string' },
  geometry: { type: 'string' },
  threads: { type: 'string' },
  ep: { type: 'string' },
  'cache-dir': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
};

export const TRAIN_USAGE = `  --data DIR             one category in the MVTec AD layout (required)
  --anomalies N          known anomalies to train with (default: those available, up to 10;
                         0 = unsupervised baseline; asking for more than exist is an error)
  --anomaly-types a,b    take known anomalies only from these defect types ("unseen" protocol)
  --backbone ID          feature extractor (default: see bgad backbones)
  --preset fast|paper    fast: minutes on a CPU (default); paper: the published GPU schedule
${FLAG_PARAMS.map(usageLine).join('\n')}
  --focal on|off         focal weighting of the boundary terms (default on)
  --level-positions equal|area|sqrt
                         coarser levels' chunk size vs their share of positions (fast: sqrt,
                         paper: area = every level makes the same passes over its positions)
  --mask-pooling nearest|any
                         how defect masks reach the feature levels: any pixel of a cell (default;
                         measured better on magnetic_tile) or nearest (as published)
  --geometry square|aspect
                         the model's input: square = every image resized to S x S; aspect =
                         one H x W from the normals' median aspect ratio (long side S, short
                         side a multiple of 32 from 64), so long thin parts are not squashed
                         (default ${DEFAULT_GEOMETRY})
  --threads N            CPU threads for ONNX Runtime (default: all cores)
  --ep cpu|cuda|dml|webgpu  execution provider (falls back to the CPU with a notice)
  --cache-dir DIR        backbone and feature cache (default ./.cache or BGAD_CACHE_DIR)
  -q, --quiet            no progress output`;

export function parseTrainOptions(v: Record<string, unknown>) {
  const preset = (v.preset ?? 'fast') as string;
  if (preset !== 'fast' && preset !== 'paper') throw new UsageError(`--preset must be fast or paper, got "${preset}"`);
  const focal = v.focal === undefined ? undefined : v.focal === 'on' ? true : v.focal === 'off' ? false : (() => { throw new UsageError('--focal must be on or off'); })();
  const ep = v.ep as string | undefined;
  if (ep !== undefined && !EXECUTION_PROVIDERS.includes(ep as ExecutionProvider)) throw new UsageError(`--ep must be one of ${EXECUTION_PROVIDERS.join(', ')}`);
  const overrides: Partial<TrainConfig> = {
    ...Object.fromEntries(FLAG_PARAMS.map((d) => [d.configKey, optNum(v[d.flag], d.flag, { min: d.min, max: d.max, integer: d.integer })])),
    focal,
    maskPooling: v['mask-pooling'] === undefined ? undefined : v['mask-pooling'] === 'nearest' || v['mask-pooling'] === 'any' ? v['mask-pooling'] : (() => { throw new UsageError('--mask-pooling must be nearest or any'); })(),
    geometry: v.geometry === undefined ? undefined : GEOMETRY_MODES.includes(v.geometry as GeometryMode) ? (v.geometry as GeometryMode) : (() => { throw new UsageError(`--geometry must be ${GEOMETRY_MODES.join(' or ')}, got "${String(v.geometry)}"`); })(),
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
    executionProvider: ep as ExecutionProvider | undefined,
    cacheDir: v['cache-dir'] as string | undefined,
    quiet: !!v.quiet,
  };
}
