import { resolve } from 'node:path';
import type { Command } from '../command';
import { str, UsageError } from '../command';
import { TRAIN_OPTIONS, TRAIN_USAGE, parseTrainOptions } from '../train-options';
import { progressPrinter } from '../progress';
import { DEFAULT_KNOWN_ANOMALIES, trainModel } from '../../training/pipeline';
import { saveBundle } from '../../model/bundle-file';
import { AbortError } from '../abort';

const command: Command = {
  name: 'train',
  summary: 'Train a BGAD model on one category and save it as a .bgad bundle',
  usage: `Usage: bgad train --data DIR --out FILE [options]\n\n  --out FILE             where to write the model bundle (.bgad)\n${TRAIN_USAGE}`,
  options: { ...TRAIN_OPTIONS, out: { type: 'string' } },
  async run({ values }, io) {
    const data = resolve(str(values.data, 'data'));
    const out = resolve(str(values.out, 'out'));
    if (!out.endsWith('.bgad')) throw new UsageError('--out should name a .bgad file');
    const o = parseTrainOptions(values);
    const ac = AbortError.onSigint();
    const model = await trainModel({ dataDir: data, ...o, signal: ac.signal, onProgress: progressPrinter(io, o.quiet) });
    await saveBundle(out, model.bundle);
    const m = model.bundle.meta;
    const n = m.anomaliesUsed.length;
    const rule = m.thresholdRule.kind === 'set-by-user' ? m.thresholdRule.trained : m.thresholdRule;
    const which = o.anomalies !== undefined ? '' : n < DEFAULT_KNOWN_ANOMALIES ? ` (all there are; by default up to ${DEFAULT_KNOWN_ANOMALIES})` : ' (the default)';
    io.err('');
    io.out(`saved ${out}: ${m.levels.length} levels, ${n} known anomalies${which}, threshold ${m.threshold.toFixed(4)} (${(rule.rate * 100).toFixed(1)} % of ${rule.heldOutImages} held-out normals rejected at most), ${m.training!.steps} steps in ${m.training!.trainSeconds.toFixed(0)} s`);
    return 0;
  },
};
export default command;
