import { resolve } from 'node:path';
import type { Command } from '../command';
import { str, UsageError } from '../command';
import { TRAIN_OPTIONS, TRAIN_USAGE, parseTrainOptions } from '../train-options';
import { progressPrinter } from '../progress';
import { DEFAULT_KNOWN_ANOMALIES, trainModel } from '../../training/pipeline';
import { saveBundle } from '../../model/bundle-file';
import { AbortError } from '../abort';
import { readMaskPng } from '../../images/load';
import { MAX_AREA_SIDE, type InspectionArea } from '../../bgad/area';
import { geometryLabel, inputGeometry } from '../../bgad/geometry';

/** `--inspection-area FILE`: a black-and-white image, white = inspected, of any size (image-normalised). */
async function readAreaFile(file: string): Promise<InspectionArea> {
  const m = await readMaskPng(file);
  if (m.width > MAX_AREA_SIDE || m.height > MAX_AREA_SIDE) throw new UsageError(`--inspection-area ${file} is ${m.width}x${m.height}; at most ${MAX_AREA_SIDE} on a side (scale it down: only its shape matters)`);
  if (!m.data.some((v) => v === 1)) throw new UsageError(`--inspection-area ${file} is all black: nothing would be inspected (white marks the inspected part)`);
  return { width: m.width, height: m.height, pixels: m.data };
}

const command: Command = {
  name: 'train',
  summary: 'Train a BGAD model on one category and save it as a .bgad bundle',
  usage: `Usage: bgad train --data DIR --out FILE [options]\n\n  --out FILE             where to write the model bundle (.bgad)\n  --inspection-area FILE  a black-and-white image (any size; white = inspected): train only\n                         there and zero the anomaly map outside (README "Inspection area")\n${TRAIN_USAGE}`,
  options: { ...TRAIN_OPTIONS, out: { type: 'string' }, 'inspection-area': { type: 'string' } },
  async run({ values }, io) {
    const data = resolve(str(values.data, 'data'));
    const out = resolve(str(values.out, 'out'));
    if (!out.endsWith('.bgad')) throw new UsageError('--out should name a .bgad file');
    const o = parseTrainOptions(values);
    const inspectionArea = typeof values['inspection-area'] === 'string' ? await readAreaFile(resolve(values['inspection-area'])) : undefined;
    const ac = AbortError.onSigint();
    const model = await trainModel({ dataDir: data, ...o, inspectionArea, signal: ac.signal, onProgress: progressPrinter(io, o.quiet) });
    await saveBundle(out, model.bundle);
    const m = model.bundle.meta;
    const n = m.anomaliesUsed.length;
    const rule = m.thresholdRule.kind === 'set-by-user' ? m.thresholdRule.trained : m.thresholdRule;
    const which = o.anomalies !== undefined ? '' : n < DEFAULT_KNOWN_ANOMALIES ? ` (all there are; by default up to ${DEFAULT_KNOWN_ANOMALIES})` : ' (the default)';
    io.err('');
    io.out(`saved ${out}: ${m.levels.length} levels, input ${geometryLabel(inputGeometry(m))}, ${n} known anomalies${which}${m.inspectionArea ? `, inspection area ${((m.inspectionArea.areaPx / (m.inspectionArea.width * m.inspectionArea.height)) * 100).toFixed(1)} % of the image` : ''}, threshold ${m.threshold.toFixed(4)} (${(rule.rate * 100).toFixed(1)} % of ${rule.heldOutImages} held-out normals rejected at most), ${m.training!.steps} steps in ${m.training!.trainSeconds.toFixed(0)} s`);
    return 0;
  },
};
export default command;
