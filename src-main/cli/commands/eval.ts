import { resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { Command } from '../command';
import { str } from '../command';
import { TRAIN_OPTIONS, TRAIN_USAGE, parseTrainOptions } from '../train-options';
import { progressPrinter } from '../progress';
import { trainModel, measureFeatureMs } from '../../training/pipeline';
import { saveBundle } from '../../model/bundle-file';
import { evaluateModel } from '../../training/evaluate';
import { AbortError } from '../abort';

const fmt = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '   -  ' : x.toFixed(3).padStart(6));

const command: Command = {
  name: 'eval',
  summary: 'Train on one category and evaluate on its test set (image/pixel AUROC, AUPRO, per defect type)',
  usage: `Usage: bgad eval --data DIR [options]\n\n  --json FILE            also write the results as JSON\n  --save FILE            also save the trained model bundle (.bgad)\n${TRAIN_USAGE}\n\nKnown anomalies come from train/<type> when present, else from the test set (and are then\nremoved from it). The training anomalies are never scored.`,
  options: { ...TRAIN_OPTIONS, json: { type: 'string' }, save: { type: 'string' } },
  async run({ values }, io) {
    const data = resolve(str(values.data, 'data'));
    const o = parseTrainOptions(values);
    const ac = AbortError.onSigint();
    const onProgress = progressPrinter(io, o.quiet);
    const t0 = performance.now();
    const model = await trainModel({ dataDir: data, ...o, signal: ac.signal, onProgress: (p) => onProgress({ ...p, fraction: p.fraction * 0.8 }) });
    if (typeof values.save === 'string') await saveBundle(resolve(values.save), model.bundle);
    const seenTypes = [...new Set(model.bundle.meta.anomaliesUsed.map((a) => a.type))];
    const m = await evaluateModel(model.bundle, model.testGood, model.testDefects, {
      cacheDir: o.cacheDir, threads: o.threads, executionProvider: o.executionProvider, signal: ac.signal, seenTypes,
      onProgress: (p) => onProgress({ ...p, fraction: 0.8 + 0.2 * p.fraction }),
    });
    const meta = model.bundle.meta;
    const protocol = o.anomalies === 0 ? 'unsupervised' : o.anomalyTypes?.length ? 'unseen' : 'seen';
    let featureMs = Number.isFinite(model.featureMsPerImage) ? model.featureMsPerImage : m.featureMsPerImage;
    if (!Number.isFinite(featureMs)) {
      // every feature came from the cache: time the backbone on a few test images
      featureMs = await measureFeatureMs(model.testGood, { backboneId: model.bundle.meta.backbone.id, cacheDir: o.cacheDir, threads: o.threads });
    }
    const result = {
      dataset: model.category.name,
      imageAuroc: m.imageAuroc,
      pixelAuroc: m.pixelAuroc,
      aupro: m.aupro,
      f1: m.f1,
      threshold: m.threshold,
      perType: m.perType,
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
    };
    io.err('');
    io.out(`${model.category.name}: ${protocol} protocol, ${result.anomaliesUsed} known anomalies, backbone ${result.backbone}, preset ${result.preset}, seed ${result.seed}`);
    io.out(`(training anomalies removed from the test set: ${m.counts.good} good, ${m.counts.defective} defective images scored)`);
    io.out('');
    io.out('type              n  seen   image-AUROC  pixel-AUROC  AUPRO');
    for (const [t, v] of Object.entries(m.perType)) io.out(`${t.padEnd(14)} ${String(v.count).padStart(4)}  ${v.seen ? 'yes ' : 'no  '}  ${fmt(v.imageAuroc)}       ${fmt(v.pixelAuroc)}       ${fmt(v.aupro)}`);
    io.out(`${'all'.padEnd(14)} ${String(m.counts.defective).padStart(4)}        ${fmt(m.imageAuroc)}       ${fmt(m.pixelAuroc)}       ${fmt(m.aupro)}`);
    io.out('');
    io.out(`F1 at threshold ${m.threshold.toFixed(4)}: ${m.f1.toFixed(3)}; train ${result.trainSeconds.toFixed(0)} s, features ${result.featureMsPerImage?.toFixed(1) ?? '-'} ms/image, scoring ${result.inferMsPerImage.toFixed(1)} ms/image, peak memory ${result.peakRssMb.toFixed(0)} MB`);
    for (const sk of result.skippedImages) io.err(`left out (unreadable): ${sk.reason}`);
    if (typeof values.json === 'string') await writeFile(resolve(values.json), JSON.stringify(result, null, 2) + '\n');
    return 0;
  },
};
export default command;
