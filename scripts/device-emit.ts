/** Writes .device/backbone.onnx and .device/head.onnx (from a model bundle) for scripts/device-bench.ts. */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadBundle } from '../src-main/model/bundle-file';
import { buildScoreHead } from '../src-main/bgad/score-head';
import { getBackbone } from '../src-main/backbones/registry';

const [modelPath, outDir = '.device'] = process.argv.slice(2);
const b = await loadBundle(modelPath!);
const spec = await getBackbone(b.meta.backbone.id, { cacheDir: join(process.cwd(), '.cache', 'backbones') });
copyFileSync(spec.onnxPath, join(outDir, 'backbone.onnx'));
const levels = b.meta.levels.map((l, k) => ({ weights: b.weights[k]!, height: l.height, width: l.width }));
writeFileSync(join(outDir, 'head.onnx'), buildScoreHead(levels, b.meta.levels.map((l) => l.channels), { inputSize: b.meta.backbone.inputSize, calibration: b.meta.calibration }));
console.log(`wrote ${outDir}/backbone.onnx (${spec.id}) and ${outDir}/head.onnx; taps ${spec.taps.map((t) => t.name).join(', ')}`);
