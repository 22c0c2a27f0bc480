/**
 * `bgad export`: one ONNX file from an image to the inspection result, runnable by any ONNX
 * Runtime (C++, C#, Python, Node) with no project code:
 *
 *   image        float32 [batch, 3, H, W]  RGB in [0,1], planar; resize without keeping the
 *                                          aspect ratio (the normalisation is inside the graph);
 *                                          H x W = S x S, or an aspect model's (bgad/geometry.ts)
 *   anomaly_map  float32 [batch, 1, H, W]
 *   pred_score   float32 [batch]           max of anomaly_map; fail when > threshold
 *
 * Built by graph surgery on two graphs: the backbone (our emitted ONNX, pruned to its taps)
 * and the calibrated scoring head emitted from the bundle (flows per level, calibration,
 * bilinear upsampling). The head's inputs `feat_k` are wired to the backbone's tap tensors and
 * every other head name gets a prefix so the two graphs cannot clash. The default-domain
 * opset is the higher of the two; the lower graph is checked against a table of operators
 * whose meaning changed between the versions. Threshold, input size, normalisation and hashes
 * go in metadata_props.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { AppError } from '../common/errors';
import { decodeModel, encodeModel, type OnnxGraph, type OnnxModel, type OnnxValueInfo } from '../autodiff/onnx-proto';
import { buildScoreHead, featureInputName } from '../bgad/score-head';
import type { ModelBundle } from '../bgad/bundle';
import { inputGeometry, isSquare } from '../bgad/geometry';
import { pruneToOutputs } from '../backbones/onnx-graph';
import { writeFileAtomic } from '../fs/atomic-file';
import { createSession } from '../runtime/session';
import { backboneForBundle } from '../model/backbone';
import { readModelSource, type ModelSource } from '../model/bundle-file';
import { bundleAreaAt } from '../model/scorer';

export const EXPORT_FORMAT = 'bgad-inspection-onnx/1';
export const HEAD_PREFIX = 'bgad_head/';
const OUTPUTS = ['anomaly_map', 'pred_score'];

/**
 * Default-domain operators whose inputs, attributes or meaning changed at the given opset
 * versions (onnx/docs/Changelog.md) in a way that breaks a node written for an earlier version.
 * Version bumps that only add types or optional inputs are not listed.
 */
const BREAKING_SINCE: Record<string, number[]> = {
  // attributes that became inputs
  Clip: [11], Pad: [11], Resize: [11], Upsample: [10], Slice: [10], TopK: [10], Dropout: [12], Split: [13], Squeeze: [13], Unsqueeze: [13], Reshape: [5],
  ReduceSum: [13], ReduceMean: [18], ReduceMax: [18], ReduceMin: [18], ReduceProd: [18], ReduceL1: [18], ReduceL2: [18], ReduceLogSum: [18], ReduceLogSumExp: [18], ReduceSumSquare: [18],
  // attributes removed or changed meaning
  BatchNormalization: [9], Gemm: [7], Concat: [4], Cast: [6], Softmax: [13], LogSoftmax: [13], Hardmax: [13], RoiAlign: [16], GridSample: [20],
};

/** Throws when a graph written for opset `from` cannot be read as opset `to`. */
export function checkOpsetUpgrade(graph: OnnxGraph, from: number, to: number, what: string): void {
  if (from === to) return;
  const bad = new Set<string>();
  for (const n of graph.node ?? []) {
    if (n.domain && n.domain !== 'ai.onnx') continue;
    if ((BREAKING_SINCE[n.opType] ?? []).some((v) => v > from && v <= to)) bad.add(n.opType);
    if ((n.attribute ?? []).some((a) => a.g)) bad.add(`${n.opType} (subgraph)`);
  }
  if (bad.size) {
    throw new AppError('BAD_BACKBONE', `The ${what} uses opset ${from} operators that changed by opset ${to}: ${[...bad].sort().join(', ')}.`, {
      hint: `Export the ${what} again at opset ${to} or newer.`,
    });
  }
}

function defaultOpset(m: OnnxModel): number {
  return (m.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 1;
}

/** Renames every head tensor and node: inputs feat_k -> `tapNames[k]`, outputs kept, the rest prefixed. */
function prefixHead(head: OnnxGraph, tapNames: string[]): void {
  const map = new Map<string, string>();
  tapNames.forEach((t, k) => map.set(featureInputName(k), t));
  const rename = (n: string) => {
    if (!n) return n; // an omitted optional input stays empty
    const hit = map.get(n);
    if (hit !== undefined) return hit;
    return OUTPUTS.includes(n) ? n : HEAD_PREFIX + n;
  };
  for (const node of head.node ?? []) {
    node.input = (node.input ?? []).map(rename);
    node.output = (node.output ?? []).map(rename);
    node.name = HEAD_PREFIX + (node.name ?? '');
  }
  for (const t of head.initializer ?? []) t.name = rename(t.name ?? '');
  head.valueInfo = [];
}

function imageInput(H: number, W: number, name: string): OnnxValueInfo {
  return { name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 3 }, { dimValue: H }, { dimValue: W }] } } } };
}

function output(name: string, dims: ({ dimParam: string } | { dimValue: number })[]): OnnxValueInfo {
  return { name, type: { tensorType: { elemType: 1, shape: { dim: dims } } } };
}

export interface ExportedModel {
  bytes: Uint8Array;
  sha256: string;
  metadata: Record<string, string>;
}

export async function buildInspectionOnnx(model: string | ModelBundle | ModelSource, opts: { cacheDir?: string } = {}): Promise<ExportedModel> {
  const source = typeof model === 'object' && 'bundle' in model ? model : await readModelSource(model);
  const { bundle } = source;
  const meta = bundle.meta;
  const geo = inputGeometry(meta);
  const { height: H, width: W } = geo;
  const spec = await backboneForBundle(bundle, opts.cacheDir);
  if (meta.levels.length !== spec.taps.length) throw new AppError('BAD_MODEL', `The model has ${meta.levels.length} levels; backbone ${spec.id} has ${spec.taps.length} taps.`);

  const backbone = decodeModel(await readFile(spec.onnxPath));
  const bg = backbone.graph!;
  pruneToOutputs(bg, spec.taps.map((t) => ({ name: t.name, channels: t.channels })));
  const inputs = (bg.input ?? []).filter((i) => !(bg.initializer ?? []).some((t) => t.name === i.name));
  if (inputs.length !== 1 || inputs[0]!.name !== spec.inputName) throw new AppError('BAD_BACKBONE', `Backbone ${spec.id} must have the single input ${spec.inputName}.`);

  const headLevels = meta.levels.map((l, k) => ({ weights: bundle.weights[k]!, height: l.height, width: l.width }));
  const head = decodeModel(buildScoreHead(headLevels, meta.levels.map((l) => l.channels), { inputSize: geo, calibration: meta.calibration, area: bundleAreaAt(bundle) }));
  const hg = head.graph!;
  prefixHead(hg, spec.taps.map((t) => t.name));

  // the two graphs must not define the same name
  const defined = new Set<string>([spec.inputName]);
  for (const n of bg.node ?? []) for (const o of n.output ?? []) defined.add(o);
  for (const t of bg.initializer ?? []) defined.add(t.name ?? '');
  for (const n of hg.node ?? []) for (const o of n.output ?? []) if (defined.has(o)) throw new Error(`export: head tensor ${o} clashes with the backbone`);
  for (const t of hg.initializer ?? []) if (defined.has(t.name ?? '')) throw new Error(`export: head constant ${t.name} clashes with the backbone`);

  const bbOpset = defaultOpset(backbone);
  const headOpset = defaultOpset(head);
  const opset = Math.max(bbOpset, headOpset);
  checkOpsetUpgrade(bg, bbOpset, opset, `backbone ${spec.id}`);
  checkOpsetUpgrade(hg, headOpset, opset, 'scoring head');
  const otherDomains = [...(backbone.opsetImport ?? []), ...(head.opsetImport ?? [])].filter((o) => o.domain && o.domain !== 'ai.onnx');
  const domains = new Map<string, number>();
  for (const o of otherDomains) domains.set(o.domain!, Math.max(domains.get(o.domain!) ?? 0, o.version));

  const metadata: Record<string, string> = {
    format: EXPORT_FORMAT,
    threshold: String(meta.threshold),
    threshold_rule: JSON.stringify(meta.thresholdRule),
    verdict: 'fail when pred_score > threshold',
    // input_size: square models only (a reader that knows only it would feed an aspect model S x S)
    ...(isSquare(geo) ? { input_size: String(H) } : {}),
    input_height: String(H),
    input_width: String(W),
    input: `image: float32 [batch, 3, ${H}, ${W}], RGB in [0,1], planar (NCHW); resize the whole image to ${W}x${H} (width x height) without keeping the aspect ratio; grey images repeat the channel; alpha composited on black`,
    normalization: JSON.stringify({ ...spec.normalization, applied: 'inside the graph (x - mean) / std; feed RGB in [0,1]' }),
    outputs: `anomaly_map: float32 [batch, 1, ${H}, ${W}]; pred_score: float32 [batch] = max of anomaly_map`,
    model_sha256: source.sha256,
    model_file: source.file ? source.file.split(/[\\/]/).pop()! : '',
    model_created_at: meta.createdAt,
    backbone: spec.id,
    backbone_sha256: spec.sha256,
    calibration: JSON.stringify(meta.calibration),
    ...(bundle.inspectionArea ? { inspection_area: `anomaly_map is multiplied by the model's inspection area (${meta.inspectionArea?.areaPx ?? '?'} of ${bundle.inspectionArea.width}x${bundle.inspectionArea.height} pixels inside, image-normalised) before pred_score: zero outside it` } : {}),
    method: 'BGAD (Yao et al., CVPR 2023): conditional normalizing flows on frozen backbone features; map = K - sum of calibrated per-level likelihoods',
  };
  const merged: OnnxModel = {
    irVersion: Math.max(backbone.irVersion ?? 8, head.irVersion ?? 8, 8),
    producerName: 'bgad-inspector export',
    producerVersion: '1',
    docString: `BGAD Inspector model ${source.sha256.slice(0, 12)}: image -> anomaly_map, pred_score. See metadata_props.`,
    opsetImport: [{ domain: '', version: opset }, ...[...domains].map(([domain, version]) => ({ domain, version }))],
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'bgad_inspection',
      node: [...(bg.node ?? []), ...(hg.node ?? [])],
      initializer: [...(bg.initializer ?? []), ...(hg.initializer ?? [])],
      input: [imageInput(H, W, spec.inputName)],
      output: [output('anomaly_map', [{ dimParam: 'batch' }, { dimValue: 1 }, { dimValue: H }, { dimValue: W }]), output('pred_score', [{ dimParam: 'batch' }])],
      valueInfo: [],
    },
  };
  const bytes = encodeModel(merged);
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), metadata };
}

/** Writes the exported model and checks it loads and runs in a plain ONNX Runtime session. */
export async function exportModel(opts: { model: string | ModelBundle; out: string; cacheDir?: string; verify?: boolean }): Promise<ExportedModel & { path: string }> {
  const m = await buildInspectionOnnx(opts.model, opts);
  if (opts.verify ?? true) await verifyExport(m.bytes, Number(m.metadata.input_height), Number(m.metadata.input_width));
  const path = resolve(opts.out);
  await writeFileAtomic(path, m.bytes);
  return { ...m, path };
}

async function verifyExport(bytes: Uint8Array, H: number, W: number): Promise<void> {
  const { session } = await createSession(bytes, { threads: 1 });
  try {
    const out = await session.run({ image: new ort.Tensor('float32', new Float32Array(3 * H * W).fill(0.5), [1, 3, H, W]) });
    const map = out.anomaly_map, score = out.pred_score;
    if (!map || !score || map.dims.join() !== `1,1,${H},${W}` || score.dims.join() !== '1' || !Number.isFinite((score.data as Float32Array)[0])) {
      throw new Error(`export check: unexpected outputs ${JSON.stringify({ map: map?.dims, score: score?.dims })}`);
    }
  } finally {
    await session.release();
  }
}
