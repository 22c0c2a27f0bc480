import { resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { Command } from '../command';
import { str, UsageError } from '../command';
import { TRAIN_OPTIONS, TRAIN_USAGE, parseTrainOptions } from '../train-options';
import { progressPrinter } from '../progress';
import { scanCategory } from '../../training/dataset';
import { leaveOneTypeOut, robustnessTableLines, trainAndEvaluate, type RobustnessRun } from '../../training/robustness';
import { AbortError } from '../abort';

const fmt = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '   -  ' : x.toFixed(3).padStart(6));

type TrainOpts = ReturnType<typeof parseTrainOptions>;
type Io = Parameters<Command['run']>[1];

/** The figures of one seed's run (what `--json` writes for a single seed). */
const evalOnce = (data: string, o: TrainOpts, save: string | undefined, signal: AbortSignal, onProgress: ReturnType<typeof progressPrinter>) => trainAndEvaluate({ dataDir: data }, o, { save, signal, onProgress });
type EvalResult = RobustnessRun;

function printOne(io: Io, r: EvalResult, m: Awaited<ReturnType<typeof evalOnce>>['m']): void {
  io.out(`${r.dataset}: ${r.protocol} protocol, ${r.anomaliesUsed} known anomalies, backbone ${r.backbone}${r.input ? ` (input ${r.input.width}x${r.input.height} px)` : ''}, preset ${r.preset}, seed ${r.seed}`);
  io.out(`(training anomalies removed from the test set: ${m.counts.good} good, ${m.counts.defective} defective images scored)`);
  io.out('');
  io.out('type              n  seen   image-AUROC  pixel-AUROC  AUPRO');
  for (const [t, v] of Object.entries(m.perType)) io.out(`${t.padEnd(14)} ${String(v.count).padStart(4)}  ${v.seen ? 'yes ' : 'no  '}  ${fmt(v.imageAuroc)}       ${fmt(v.pixelAuroc)}       ${fmt(v.aupro)}`);
  io.out(`${'all'.padEnd(14)} ${String(m.counts.defective).padStart(4)}        ${fmt(m.imageAuroc)}       ${fmt(m.pixelAuroc)}       ${fmt(m.aupro)}`);
  if (r.protocol === 'unseen' && r.unseenMeanImageAuroc !== null) io.out(`mean image AUROC of the unseen types: ${fmt(r.unseenMeanImageAuroc).trim()}`);
  io.out('');
  io.out(`F1 at threshold ${m.threshold.toFixed(4)}: ${m.f1.toFixed(3)}; train ${r.trainSeconds.toFixed(0)} s, features ${r.featureMsPerImage?.toFixed(1) ?? '-'} ms/image, scoring ${r.inferMsPerImage.toFixed(1)} ms/image, peak memory ${r.peakRssMb.toFixed(0)} MB`);
}

/** Mean and sample standard deviation (0 for one value) of the finite values; null when none. */
export function meanSpread(xs: (number | null | undefined)[]): { mean: number; sd: number; min: number; max: number; n: number } | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (!v.length) return null;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, sd, min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/** Parses `--seeds 0,1,2` (or a range `0-4`). */
export function parseSeeds(raw: unknown): number[] | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  const range = /^(\d+)-(\d+)$/.exec(text);
  const seeds = range ? Array.from({ length: Math.max(0, Number(range[2]) - Number(range[1]) + 1) }, (_, i) => Number(range[1]) + i) : text.split(',').map((x) => x.trim()).filter(Boolean).map(Number);
  if (!seeds.length || seeds.length > 100 || seeds.some((x) => !Number.isInteger(x) || x < 0 || x > 2 ** 31 - 1) || new Set(seeds).size !== seeds.length) {
    throw new UsageError(`--seeds must list distinct seeds such as 0,1,2 or a range such as 0-4 (at most 100), got "${text}"`);
  }
  return seeds;
}

/**
 * `--leave-one-type-out`: the unseen-defect report (training/robustness.ts), printed as a
 * table; each run is announced on stderr.
 */
async function leaveOneTypeOutCli(data: string, o: TrainOpts, io: Io, signal: AbortSignal, onProgress: ReturnType<typeof progressPrinter>) {
  const types = scanCategory(data).defectTypes;
  if (types.length < 2) throw new UsageError(`--leave-one-type-out needs at least two defect types under ${data}/train or test (found ${types.length ? types.join(', ') : 'none'})`);
  const report = await leaveOneTypeOut({ dataDir: data }, o, { signal, onProgress, onRun: (label, i, n) => io.err(`${label} (${i} of ${n})`) });
  for (const line of robustnessTableLines(report)) io.out(line);
  return report;
}

const command: Command = {
  name: 'eval',
  summary: 'Train on one category and evaluate on its test set (image/pixel AUROC, AUPRO, per defect type)',
  usage: `Usage: bgad eval --data DIR [options]\n\n  --json FILE            also write the results as JSON\n  --save FILE            also save the trained model bundle (.bgad; with --seeds, the first seed's)\n  --seeds LIST           train and evaluate once per seed (e.g. 0,1,2 or 0-4) and print the\n                         mean and spread; one seed moves small datasets' figures by a few hundredths\n  --leave-one-type-out   the unseen-defect report: per defect type, its image/pixel AUROC and\n                         recall at the threshold when known (seen), when held out of the known\n                         anomalies (unseen) and with none known (baseline); trains 2 + types times\n${TRAIN_USAGE}\n\nKnown anomalies come from train/<type> when present, else from the test set (and are then\nremoved from it). The training anomalies are never scored.`,
  options: { ...TRAIN_OPTIONS, json: { type: 'string' }, save: { type: 'string' }, seeds: { type: 'string' }, 'leave-one-type-out': { type: 'boolean' } },
  async run({ values }, io) {
    const data = resolve(str(values.data, 'data'));
    const o = parseTrainOptions(values);
    const seeds = parseSeeds(values.seeds);
    if (seeds && o.overrides.seed !== undefined) throw new UsageError('give either --seed or --seeds, not both');
    const ac = AbortError.onSigint();
    const onProgress = progressPrinter(io, o.quiet);
    const save = typeof values.save === 'string' ? resolve(values.save) : undefined;
    if (values['leave-one-type-out'] === true) {
      if (seeds || save || o.anomalyTypes?.length || o.anomalies === 0) throw new UsageError('--leave-one-type-out chooses the known anomalies itself: leave out --seeds, --save, --anomaly-types and --anomalies 0');
      const report = await leaveOneTypeOutCli(data, o, io, ac.signal, onProgress);
      if (typeof values.json === 'string') await writeFile(resolve(values.json), JSON.stringify(report, null, 2) + '\n');
      return 0;
    }
    if (!seeds) {
      const { result, m } = await evalOnce(data, o, save, ac.signal, onProgress);
      io.err('');
      printOne(io, result, m);
      for (const sk of result.skippedImages) io.err(`left out (unreadable): ${sk.reason}`);
      if (typeof values.json === 'string') await writeFile(resolve(values.json), JSON.stringify(result, null, 2) + '\n');
      return 0;
    }
    const runs: EvalResult[] = [];
    for (const [i, seed] of seeds.entries()) {
      io.err(`seed ${seed} (${i + 1} of ${seeds.length})`);
      const { result, m } = await evalOnce(data, { ...o, overrides: { ...o.overrides, seed } }, i === 0 ? save : undefined, ac.signal, onProgress);
      io.err('');
      printOne(io, result, m);
      io.out('');
      runs.push(result);
    }
    const keys = ['imageAuroc', 'pixelAuroc', 'aupro', 'unseenMeanImageAuroc', 'trainSeconds', 'totalSeconds', 'peakRssMb'] as const;
    const summary = Object.fromEntries(keys.map((k) => [k, meanSpread(runs.map((r) => r[k]))]));
    const line = (label: string, k: (typeof keys)[number], digits = 3) => {
      const s = summary[k];
      if (s) io.out(`${label.padEnd(34)} ${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}  (min ${s.min.toFixed(digits)}, max ${s.max.toFixed(digits)})`);
    };
    io.out(`over seeds ${seeds.join(', ')}: mean ± sample standard deviation`);
    line('image AUROC', 'imageAuroc');
    line('pixel AUROC', 'pixelAuroc');
    line('AUPRO', 'aupro');
    if (runs[0]!.protocol === 'unseen') line('mean image AUROC of unseen types', 'unseenMeanImageAuroc');
    line('training (s)', 'trainSeconds', 0);
    line('peak memory (MB)', 'peakRssMb', 0);
    if (typeof values.json === 'string') await writeFile(resolve(values.json), JSON.stringify({ seeds, summary, runs }, null, 2) + '\n');
    return 0;
  },
};
export default command;
