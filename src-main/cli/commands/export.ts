import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from '../command';
import { optNum, str, UsageError } from '../command';
import { isAppError } from '../../common/errors';
import { exportModel } from '../../inspection/export';
import { exportTritonRepository, TRITON_DEFAULT_MAX_BATCH, TRITON_NAME, tritonModelDir, tritonModelName } from '../../inspection/triton';

const FORMATS = ['onnx', 'triton'];

const command: Command = {
  name: 'export',
  summary: 'Export a model as one ONNX file (image -> anomaly_map, pred_score) or a Triton model repository',
  usage: `Usage: bgad export --model FILE --out FILE.onnx [--force] [--cache-dir DIR]
       bgad export --model FILE --format triton --out DIR [--name NAME] [--max-batch N] [--force]

  --model FILE           the model bundle (.bgad)
  --format onnx|triton   onnx (default): one ONNX file; triton: a Triton Inference Server model
                         repository entry DIR/NAME/config.pbtxt + DIR/NAME/1/model.onnx
  --out PATH             the .onnx file (onnx) or the model repository folder (triton); an
                         existing FILE.onnx or DIR/NAME is left alone
  --name NAME            triton: the model name (letters, digits, '_', '-'; default from FILE)
  --max-batch N          triton: max_batch_size for dynamic batching (default ${TRITON_DEFAULT_MAX_BATCH})
  --force                overwrite FILE.onnx, or replace DIR/NAME, when it exists
  --cache-dir DIR        backbone cache (default ./.cache or BGAD_CACHE_DIR)

The ONNX model takes "image" float32 [batch, 3, S, S], RGB in [0,1] (normalisation is inside)
and gives "anomaly_map" [batch, 1, S, S] and "pred_score" [batch]; an image fails when
pred_score > threshold. Threshold, input size, normalisation and the model hash are in its
metadata_props (and, for triton, in config.pbtxt's parameters). Exit status 2 when the model
cannot be loaded, or when the target exists and --force is not given.`,
  options: {
    model: { type: 'string' },
    out: { type: 'string' },
    format: { type: 'string' },
    name: { type: 'string' },
    'max-batch': { type: 'string' },
    force: { type: 'boolean' },
    'cache-dir': { type: 'string' },
  },
  async run({ values }, io) {
    const format = (values.format as string | undefined) ?? 'onnx';
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`);
    const model = resolve(str(values.model, 'model'));
    const out = resolve(str(values.out, 'out'));
    const cacheDir = values['cache-dir'] as string | undefined;
    const force = values.force === true;
    try {
      if (format === 'triton') return await exportTriton(model, out, values, force, cacheDir, io);
      if (values.name !== undefined || values['max-batch'] !== undefined) throw new UsageError('--name and --max-batch apply to --format triton');
      if (!out.toLowerCase().endsWith('.onnx')) throw new UsageError('--out should name a .onnx file');
      const existing = statSync(out, { throwIfNoEntry: false });
      if (existing?.isDirectory()) throw new UsageError(`--out ${out} is a folder; give the path of a .onnx file`);
      if (existing && !force) {
        io.err(`bgad export: ${out} already exists; add --force to overwrite it, or choose another --out.`);
        return 2;
      }
      const r = await exportModel({ model, out, cacheDir });
      io.out(`wrote ${r.path}: ${(r.bytes.length / 1e6).toFixed(1)} MB, sha256 ${r.sha256}; input image [batch, 3, ${r.metadata.input_height}, ${r.metadata.input_width}] RGB in [0,1], threshold ${Number(r.metadata.threshold).toFixed(4)}`);
      return 0;
    } catch (e) {
      if (isAppError(e) && !(e instanceof UsageError) && ['BAD_MODEL', 'BAD_BACKBONE', 'NOT_FOUND', 'UNAVAILABLE', 'BAD_ARGUMENT'].includes(e.code)) {
        io.err(`bgad export: ${e.describe()}`);
        return 2;
      }
      throw e;
    }
  },
};

async function exportTriton(model: string, out: string, values: Record<string, unknown>, force: boolean, cacheDir: string | undefined, io: Parameters<Command['run']>[1]): Promise<number> {
  const name = values.name === undefined ? tritonModelName(model) : str(values.name, 'name');
  if (!TRITON_NAME.test(name)) throw new UsageError(`--name "${name}" is not a valid Triton model name: use letters, digits, '_' and '-' (at most 128)`);
  const maxBatchSize = optNum(values['max-batch'], 'max-batch', { min: 1, max: 65536, integer: true }) ?? TRITON_DEFAULT_MAX_BATCH;
  const existing = statSync(out, { throwIfNoEntry: false });
  if (existing && !existing.isDirectory()) throw new UsageError(`--out ${out} is a file; with --format triton give the model repository folder`);
  const dir = tritonModelDir(out, name);
  if (statSync(dir, { throwIfNoEntry: false }) && !force) {
    io.err(`bgad export: ${dir} already exists; add --force to replace it, or choose another --out or --name.`);
    return 2;
  }
  const r = await exportTritonRepository({ model, out, name, maxBatchSize, force, cacheDir });
  const input = r.signature.inputs.map((t) => `${t.name} [batch, ${t.dims.join(', ')}]`).join(', ');
  const outputs = r.signature.outputs.map((t) => `${t.name} [batch${t.reshape ? '' : ', ' + t.dims.join(', ')}]`).join(', ');
  io.out(`wrote ${r.dir}: config.pbtxt + ${r.onnxPath.slice(r.dir.length + 1)} (sha256 ${r.onnxSha256}); model "${r.name}", max_batch_size ${r.maxBatchSize}, ${input} -> ${outputs}, threshold ${Number(r.signature.metadata.threshold).toFixed(4)} (fail when pred_score > threshold)`);
  io.out(`serve it with: tritonserver --model-repository ${out}`);
  return 0;
}
export default command;
