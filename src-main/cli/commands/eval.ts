import { resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { Command } from '../command';
import { str, UsageError } from '../command';
import { TRAIN_OPTIONS, TRAIN_USAGE, parseTrainOptions } from '../train-options';
import { progressPrinter } from '../progress';
import { trainModel, measureFeatureMs } from '../../training/pipeline';
import { saveBundle } from '../../model/bundle-file';
import { evaluateModel } from '../../training/evaluate';
import { scanCategory } from '../../training/dataset';
import { AbortError } from '../abort';

const fmt = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '   -  ' : x.toFixed(3).padStart(6));

type TrainOpts = ReturnType<typeof parseTrainOptions>;
type Io = Parameters<Command['run']>[1];

/** The figures of one seed's run (what `--json` writes for a single seed). */
async function evalOnce(data: string, o: TrainOpts, save: string | undefined, signal: AbortSignal, onProgress: ReturnType<typeof progressPrinter>) {
  const t0 = performance.now();
  const model = await trainModel({ dataDir: data, ...o, signal, onProgress: (p) => onProgress({ ...p, fraction: p.fraction * 0.8 }) });
  if (save) await saveBundle(save, model.bundle);
  const seenTypes = [...new Set(model.bundle.meta.anomaliesUsed.map((a) => a.type))];
  const m = await evaluateModel(model.bundle, model.testGood, model.testDefects, {
    cacheDir: o.cacheDir, threads: o.threads, executionProvider: o.executionProvider, signal, seenTypes,
    onProgress: (p) => onProgress({ ...p, fraction: 0.8 + 0.2 * p.fraction }),
  });
  const meta = model.bundle.meta;
  const protocol = o.anomalies === 0 ? 'unsupervised' : o.anomalyTypes?.length ? 'unseen' : 'seen';
  let featureMs = Number.isFinite(model.featureMsPerImage) ? model.featureMsPerImage : m.featureMsPerImage;
  if (!Number.isFinite(featureMs)) {
    // every feature came from the cache: time the backbone on a few test images
    featureMs = await measureFeatureMs(model.testGood, { backboneId: model.bundle.meta.backbone.id, cacheDir: o.cacheDir, threads: o.threads });
  }
  const unseen = Object.values(m.perType).filter((v) => !v.seen && v.imageAuroc !== null && Number.isFinite(v.imageAuroc));
  return {
    result: {
      dataset: model.category.name,
      imageAuroc: m.imageAuroc,
      pixelAuroc: m.pixelAuroc,
      aupro: m.aupro,
      f1: m.f1,
      threshold: m.threshold,
      perType: m.perType,
      /** Mean image AUROC of the defect types no known anomaly came from (null when all were seen). */
      unseenMeanImageAuroc: unseen.length ? unseen.reduce((a, v) => a + v.imageAuroc!, 0) / unseen.length : null,
      trainSeconds: meta.training!.trainSeconds,
      totalSeconds: (performance.now() - t0) / 1000,
      featureMsPerImage: Number.isFinite(featureMs) ? featureMs : null,
      inferMsPerImage: m.inferMsPerImage,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      anomaliesUsed: meta.anomaliesUsed.length,
      anomalies: meta.anomaliesUsed.map((a) => ({ type: a.type, file: a.path.split(/[\\/]/).pop() })),
      protocol,
      backbone: meta.backbone.id,
      preset: meta.config.preset,
      seed: meta.config.seed,
      steps: meta.training!.steps,
      nanSteps: meta.training!.nanSteps,
      testCounts: m.counts,
      skippedImages: [...(meta.skippedImages ?? []), ...m.skipped],
      note: 'The known anomalies used for training are removed from the test set.',
    },
    m,
  };
}
type EvalResult = Awaited<ReturnType<typeof evalOnce>>['result'];

function printOne(io: Io, r: EvalResult, m: Awaited<ReturnType<typeof evalOnce>>['m']): void {
  io.out(`${r.dataset}: ${r.protocol} protocol, ${r.anomaliesUsed} known anomalies, backbone ${r.backbone}, preset ${r.preset}, seed ${r.seed}`);
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

/** One defect type's row of the unseen-defect robustness report. */
export interface RobustnessRow {
  type: string;
  count: number;
  baseline: { imageAuroc: number; pixelAuroc: number | null; recall: number };
  seen: { imageAuroc: number; pixelAuroc: number | null; recall: number } | null;
  unseen: { imageAuroc: number; pixelAuroc: number | null; recall: number } | null;
}

const pick = (t: { imageAuroc: number; pixelAuroc: number | null; recall: number } | undefined) => (t ? { imageAuroc: t.imageAuroc, pixelAuroc: t.pixelAuroc, recall: t.recall } : null);

/**
 * `--leave-one-type-out`: the unsupervised baseline, one model with known anomalies of every
 * type, and one model per type with that type held out of the known anomalies; per type, its
 * figures when seen, when unseen and without any known anomaly. (bgad/README.md: "unseen".)
 */
async function leaveOneTypeOut(data: string, o: TrainOpts, io: Io, signal: AbortSignal, onProgress: ReturnType<typeof progressPrinter>) {
  const types = scanCategory(data).defectTypes;
  if (types.length < 2) throw new UsageError(`--leave-one-type-out needs at least two defect types under ${data}/train or test (found ${types.length ? types.join(', ') : 'none'})`);
  const runs: { label: string; o: TrainOpts }[] = [
    { label: 'baseline (no known anomalies)', o: { ...o, anomalies: 0, anomalyTypes: undefined } },
    { label: 'all types known', o: { ...o, anomalyTypes: undefined } },
    ...types.map((t) => ({ label: `${t} held out`, o: { ...o, anomalyTypes: types.filter((x) => x !== t) } })),
  ];
  const results: EvalResult[] = [];
  for (const [i, r] of runs.entries()) {
    io.err(`${r.label} (${i + 1} of ${runs.length})`);
    results.push((await evalOnce(data, r.o, undefined, signal, onProgress)).result);
  }
  const [base, all, ...held] = results as [EvalResult, EvalResult, ...EvalResult[]];
  const rows: RobustnessRow[] = types.map((t, k) => ({
    type: t,
    count: base.perType[t]?.count ?? 0,
    baseline: pick(base.perType[t])!,
    seen: all.perType[t]?.seen ? pick(all.perType[t]) : null,
    unseen: held[k]!.perType[t] && !held[k]!.perType[t]!.seen ? pick(held[k]!.perType[t]) : null,
  }));
  const f = (x: { imageAuroc: number; pixelAuroc: number | null; recall: number } | null) => (x ? `${fmt(x.imageAuroc)} ${fmt(x.pixelAuroc)} ${fmt(x.recall)}` : '    -      -      -  ');
  io.out(`${base.dataset}: unseen-defect robustness, backbone ${base.backbone}, preset ${base.preset}, seed ${base.seed}; image AUROC / pixel AUROC / recall at the threshold`);
  io.out('');
  io.out(`type              n   ${'seen'.padEnd(21)} ${'unseen (held out)'.padEnd(21)} baseline (no anomalies)`);
  for (const r of rows) io.out(`${r.type.padEnd(14)} ${String(r.count).padStart(4)}  ${f(r.seen)}  ${f(r.unseen)}  ${f(r.baseline)}`);
  const mean = (xs: (number | null | undefined)[]) => meanSpread(xs)?.mean ?? null;
  const summary = {
    seen: mean(rows.map((r) => r.seen?.imageAuroc)),
    unseen: mean(rows.map((r) => r.unseen?.imageAuroc)),
    baseline: mean(rows.map((r) => r.baseline.imageAuroc)),
  };
  io.out(`${'mean image AUROC'.padEnd(19)}  ${fmt(summary.seen)}                ${fmt(summary.unseen)}                ${fmt(summary.baseline)}`);
  return { dataset: base.dataset, backbone: base.backbone, preset: base.preset, seed: base.seed, types, rows, meanImageAuroc: summary, runs: results };
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
      const report = await leaveOneTypeOut(data, o, io, ac.signal, onProgress);
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
