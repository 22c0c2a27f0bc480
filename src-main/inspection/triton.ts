/**
 * `bgad export --format triton`: a Triton Inference Server model repository holding the model
 * that `bgad export` writes (export.ts, unchanged) and a `config.pbtxt` for the ONNX Runtime
 * backend:
 *
 *   DIR/<name>/config.pbtxt
 *   DIR/<name>/1/model.onnx
 *
 * The config's tensors (names, data types, dims) are read back from the written ONNX graph, not
 * restated: with max_batch_size > 0 Triton's dims leave out the batch dimension, so every input
 * and output must lead with one dynamic (symbolic) batch dimension, which is checked. A tensor
 * that is only the batch dimension (`pred_score` [batch]) is given to Triton as dims [1] with
 * `reshape: { shape: [ ] }` (Triton needs non-empty dims). Threshold, model hash and input
 * geometry are copied from the ONNX metadata_props into `parameters` (readable from
 * Triton's `/v2/models/<name>/config`), keyed `bgad_*` so no backend setting is hit.
 *
 * The model folder is built beside its final place (`DIR/.<name>.<pid>.<hex>.tmp`) and renamed
 * into place, so Triton (also in polling mode) never sees half a model; with `force` an existing
 * model folder is swapped out the same way and then removed.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { AppError } from '../common/errors';
import { DataType, decodeModel, type OnnxModel, type OnnxValueInfo } from '../autodiff/onnx-proto';
import { writeFileAtomic } from '../fs/atomic-file';
import { exportModel } from './export';
import type { ModelBundle } from '../bgad/bundle';

export const TRITON_DEFAULT_MAX_BATCH = 8;
export const TRITON_MODEL_FILE = 'model.onnx';
export const TRITON_VERSION = '1';
/** Triton model names as this exporter writes them: letters, digits, '_' and '-'. */
export const TRITON_NAME = /^[A-Za-z0-9_-]{1,128}$/;

/** ONNX TensorProto element types -> Triton model-config data types. */
const TRITON_TYPES: Record<number, string> = {
  [DataType.FLOAT]: 'TYPE_FP32', [DataType.UINT8]: 'TYPE_UINT8', [DataType.INT8]: 'TYPE_INT8',
  [DataType.UINT16]: 'TYPE_UINT16', [DataType.INT16]: 'TYPE_INT16', [DataType.INT32]: 'TYPE_INT32',
  [DataType.INT64]: 'TYPE_INT64', [DataType.STRING]: 'TYPE_STRING', [DataType.BOOL]: 'TYPE_BOOL',
  [DataType.FLOAT16]: 'TYPE_FP16', [DataType.DOUBLE]: 'TYPE_FP64', [DataType.UINT32]: 'TYPE_UINT32',
  [DataType.UINT64]: 'TYPE_UINT64', 16: 'TYPE_BF16',
};

/** One input or output as Triton's model configuration states it (batch dimension left out). */
export interface TritonTensor {
  name: string;
  dataType: string;
  /** Dims without the batch dimension; -1 for a variable one. */
  dims: number[];
  /** The model's own shape without the batch dimension, when it differs from `dims` (`[]` for a [batch] tensor). */
  reshape?: number[];
}

export interface TritonSignature {
  inputs: TritonTensor[];
  outputs: TritonTensor[];
  /** metadata_props of the ONNX model. */
  metadata: Record<string, string>;
}

/** A safe Triton model name from a model file name: letters, digits, '_' and '-'. */
export function tritonModelName(modelFile: string): string {
  const stem = basename(modelFile, extname(modelFile));
  const slug = stem.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/_+/g, '_').replace(/^[_-]+|[_-]+$/g, '').slice(0, 64);
  return slug || 'bgad_model';
}

function tensorFor(v: OnnxValueInfo, kind: 'input' | 'output'): TritonTensor {
  const t = v.type?.tensorType;
  if (!t) throw new AppError('BAD_MODEL', `The exported ONNX ${kind} ${v.name} is not a tensor; Triton's ONNX Runtime backend serves tensors only.`);
  const dataType = TRITON_TYPES[t.elemType ?? 0];
  if (!dataType) throw new AppError('BAD_MODEL', `The exported ONNX ${kind} ${v.name} has element type ${t.elemType ?? 'undefined'}, which Triton has no data type for.`);
  const dims = t.shape?.dim ?? [];
  const lead = dims[0];
  if (!lead || (lead.dimValue !== undefined && lead.dimValue !== null && !lead.dimParam)) {
    const shape = dims.map((d) => d.dimParam || (d.dimValue ?? '?')).join(', ');
    throw new AppError('BAD_MODEL', `The exported ONNX ${kind} ${v.name} has shape [${shape}]: its first dimension must be a dynamic batch dimension for Triton batching (max_batch_size > 0).`, {
      hint: 'Export the model again with a symbolic leading batch dimension.',
    });
  }
  const rest = dims.slice(1).map((d) => (d.dimParam || d.dimValue === undefined || d.dimValue === null ? -1 : Number(d.dimValue)));
  return rest.length ? { name: v.name, dataType, dims: rest } : { name: v.name, dataType, dims: [1], reshape: [] };
}

/**
 * The Triton view of an ONNX model's graph: its real inputs (initializers excluded) and outputs
 * without the batch dimension, which must lead every one of them as the same symbolic dimension.
 */
export function tritonSignature(model: OnnxModel): TritonSignature {
  const g = model.graph;
  if (!g) throw new AppError('BAD_MODEL', 'The exported ONNX model has no graph.');
  const constants = new Set((g.initializer ?? []).map((t) => t.name));
  const ins = (g.input ?? []).filter((i) => !constants.has(i.name));
  const outs = g.output ?? [];
  if (!ins.length || !outs.length) throw new AppError('BAD_MODEL', 'The exported ONNX model needs at least one input and one output.');
  const inputs = ins.map((v) => tensorFor(v, 'input'));
  const outputs = outs.map((v) => tensorFor(v, 'output'));
  const batchNames = new Set([...ins, ...outs].map((v) => v.type?.tensorType?.shape?.dim?.[0]?.dimParam).filter(Boolean));
  if (batchNames.size > 1) {
    throw new AppError('BAD_MODEL', `The exported ONNX model's tensors lead with different dimensions (${[...batchNames].join(', ')}); Triton batches along one shared first dimension.`);
  }
  const metadata = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key, p.value]));
  return { inputs, outputs, metadata };
}

/** A protobuf text-format string literal (UTF-8 bytes outside printable ASCII as octal escapes). */
function pbString(s: string): string {
  let out = '"';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += '\\' + b.toString(8).padStart(3, '0');
  }
  return out + '"';
}

const oneLine = (s: string) => s.replace(/[\u0000-\u001f\u007f]+/g, ' ');

const pbList = (xs: number[]) => (xs.length ? `[ ${xs.join(', ')} ]` : '[ ]');

function tensorBlock(t: TritonTensor): string {
  const lines = [`    name: ${pbString(t.name)}`, `    data_type: ${t.dataType}`, `    dims: ${pbList(t.dims)}`];
  if (t.reshape) lines.push(`    reshape: { shape: ${pbList(t.reshape)} }`);
  return `  {\n${lines.join('\n')}\n  }`;
}

/** The metadata_props copied into the config's `parameters`, as `bgad_<key>`. */
const PARAMETER_KEYS = ['threshold', 'verdict', 'input_size', 'input_height', 'input_width', 'input', 'normalization', 'outputs', 'model_sha256', 'model_file', 'backbone', 'format'];

/** config.pbtxt for the ONNX Runtime backend, from the model's Triton signature. */
export function tritonConfig(name: string, sig: TritonSignature, opts: { maxBatchSize: number; onnxSha256: string }): string {
  if (!TRITON_NAME.test(name)) throw new AppError('BAD_ARGUMENT', `"${name}" is not a valid model name: use letters, digits, '_' and '-'.`);
  if (!Number.isInteger(opts.maxBatchSize) || opts.maxBatchSize < 1) throw new AppError('BAD_ARGUMENT', `max_batch_size must be an integer >= 1, got ${opts.maxBatchSize}.`);
  const m = sig.metadata;
  const outputs = sig.outputs.map((o) => o.name).join(', ');
  const params: [string, string][] = PARAMETER_KEYS.filter((k) => m[k] !== undefined).map((k) => [`bgad_${k}`, m[k]!]);
  params.push(['bgad_onnx_sha256', opts.onnxSha256]);
  return [
    `# Triton Inference Server model configuration, written by \`bgad export --format triton\` (BGAD Inspector).`,
    `# Model ${TRITON_VERSION}/${TRITON_MODEL_FILE}: ${sig.inputs.map((i) => i.name).join(', ')} -> ${outputs}.`,
    ...(m.input ? [`# Input ${oneLine(m.input)}`] : []),
    ...(m.threshold ? [`# Verdict: an image fails when pred_score > threshold = ${oneLine(m.threshold)}.`] : []),
    ...(m.model_sha256 ? [`# Model bundle sha256 ${oneLine(m.model_sha256)}; ONNX sha256 ${opts.onnxSha256}.`] : []),
    `# Instances: Triton's default (one per GPU, else CPU); add instance_group [ { kind: KIND_CPU } ] or [ { kind: KIND_GPU } ] to choose.`,
    `name: ${pbString(name)}`,
    `platform: "onnxruntime_onnx"`,
    `max_batch_size: ${opts.maxBatchSize}`,
    `input [\n${sig.inputs.map(tensorBlock).join(',\n')}\n]`,
    `output [\n${sig.outputs.map(tensorBlock).join(',\n')}\n]`,
    `dynamic_batching { }`,
    ...params.map(([k, v]) => `parameters { key: ${pbString(k)} value: { string_value: ${pbString(v)} } }`),
    '',
  ].join('\n');
}

/** The model folder `DIR/<name>` an export writes. */
export function tritonModelDir(out: string, name: string): string {
  return join(resolve(out), name);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes staging folders of this model name left by an export whose process is gone. */
function sweepStaging(repo: string, name: string): void {
  let entries: string[];
  try {
    entries = readdirSync(repo);
  } catch {
    return;
  }
  const prefix = `.${name}.`;
  for (const e of entries) {
    const m = e.startsWith(prefix) ? /^\.(\d+)\.[0-9a-f]{8}\.(tmp|old)$/.exec(e.slice(name.length + 1)) : null;
    if (m && !pidAlive(Number(m[1]))) rmSync(join(repo, e), { recursive: true, force: true });
  }
}

export interface TritonExport {
  /** DIR/<name> */
  dir: string;
  name: string;
  /** DIR/<name>/1/model.onnx */
  onnxPath: string;
  configPath: string;
  config: string;
  onnxSha256: string;
  signature: TritonSignature;
  maxBatchSize: number;
}

/**
 * Writes the model repository entry DIR/<name> (config.pbtxt and 1/model.onnx). An existing
 * DIR/<name> is refused (BAD_ARGUMENT) unless `force`, which replaces it whole.
 */
export async function exportTritonRepository(opts: {
  model: string | ModelBundle;
  out: string;
  name?: string;
  maxBatchSize?: number;
  force?: boolean;
  cacheDir?: string;
}): Promise<TritonExport> {
  const name = opts.name ?? (typeof opts.model === 'string' ? tritonModelName(opts.model) : 'bgad_model');
  if (!TRITON_NAME.test(name)) throw new AppError('BAD_ARGUMENT', `"${name}" is not a valid Triton model name: use letters, digits, '_' and '-' (at most 128).`);
  const maxBatchSize = opts.maxBatchSize ?? TRITON_DEFAULT_MAX_BATCH;
  const repo = resolve(opts.out);
  const dir = tritonModelDir(repo, name);
  const refuseExisting = () => {
    const st = statSync(dir, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) throw new AppError('BAD_ARGUMENT', `${dir} exists and is not a folder.`, { subject: dir, hint: 'Move it away, or choose another output folder or model name.' });
    if (st && !opts.force) throw new AppError('BAD_ARGUMENT', `${dir} already exists.`, { subject: dir, hint: 'Replace it with force (--force), or choose another output folder or model name.' });
  };
  refuseExisting();
  if (existsSync(repo) && !statSync(repo).isDirectory()) throw new AppError('BAD_ARGUMENT', `${repo} is a file; the Triton model repository must be a folder.`, { subject: repo });
  mkdirSync(repo, { recursive: true });
  sweepStaging(repo, name);

  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const stage = join(repo, `.${name}.${tag}.tmp`);
  const old = join(repo, `.${name}.${tag}.old`);
  try {
    const written = await exportModel({ model: opts.model, out: join(stage, TRITON_VERSION, TRITON_MODEL_FILE), cacheDir: opts.cacheDir });
    // the config describes the file as written: read it back
    const signature = tritonSignature(decodeModel(await readFile(written.path)));
    const config = tritonConfig(name, signature, { maxBatchSize, onnxSha256: written.sha256 });
    await writeFileAtomic(join(stage, 'config.pbtxt'), new TextEncoder().encode(config));

    refuseExisting();
    const replacing = existsSync(dir);
    if (replacing) renameSync(dir, old);
    try {
      renameSync(stage, dir);
    } catch (e) {
      if (replacing) renameSync(old, dir);
      throw e;
    }
    // the new model is in place; an old copy that cannot be removed now goes with the next export's sweep
    if (replacing) {
      try {
        rmSync(old, { recursive: true, force: true });
      } catch {
        // left for sweepStaging
      }
    }
    return { dir, name, onnxPath: join(dir, TRITON_VERSION, TRITON_MODEL_FILE), configPath: join(dir, 'config.pbtxt'), config, onnxSha256: written.sha256, signature, maxBatchSize };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
