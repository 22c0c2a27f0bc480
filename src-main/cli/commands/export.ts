import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from '../command';
import { str, UsageError } from '../command';
import { isAppError } from '../../common/errors';
import { exportModel } from '../../inspection/export';

const command: Command = {
  name: 'export',
  summary: 'Export a model as one ONNX file (image -> anomaly_map, pred_score) for any ONNX Runtime',
  usage: `Usage: bgad export --model FILE --out FILE.onnx [--force] [--cache-dir DIR]

  --model FILE           the model bundle (.bgad)
  --out FILE.onnx        where to write the ONNX model; an existing file is left alone
  --force                overwrite FILE.onnx when it exists
  --cache-dir DIR        backbone cache (default ./.cache or BGAD_CACHE_DIR)

The ONNX model takes "image" float32 [batch, 3, S, S], RGB in [0,1] (normalisation is inside)
and gives "anomaly_map" [batch, 1, S, S] and "pred_score" [batch]; an image fails when
pred_score > threshold. Threshold, input size, normalisation and the model hash are in its
metadata_props. Exit status 2 when the model cannot be loaded, or when FILE.onnx exists and
--force is not given.`,
  options: { model: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' }, 'cache-dir': { type: 'string' } },
  async run({ values }, io) {
    const model = resolve(str(values.model, 'model'));
    const out = resolve(str(values.out, 'out'));
    if (!out.toLowerCase().endsWith('.onnx')) throw new UsageError('--out should name a .onnx file');
    const existing = statSync(out, { throwIfNoEntry: false });
    if (existing?.isDirectory()) throw new UsageError(`--out ${out} is a folder; give the path of a .onnx file`);
    if (existing && values.force !== true) {
      io.err(`bgad export: ${out} already exists; add --force to overwrite it, or choose another --out.`);
      return 2;
    }
    try {
      const r = await exportModel({ model, out, cacheDir: values['cache-dir'] as string | undefined });
      io.out(`wrote ${r.path}: ${(r.bytes.length / 1e6).toFixed(1)} MB, sha256 ${r.sha256}; input image [batch, 3, ${r.metadata.input_size}, ${r.metadata.input_size}] RGB in [0,1], threshold ${Number(r.metadata.threshold).toFixed(4)}`);
      return 0;
    } catch (e) {
      if (isAppError(e) && ['BAD_MODEL', 'BAD_BACKBONE', 'NOT_FOUND', 'UNAVAILABLE'].includes(e.code)) {
        io.err(`bgad export: ${e.describe()}`);
        return 2;
      }
      throw e;
    }
  },
};
export default command;
