/**
 * The model bundle: one versioned, self-describing file holding everything needed to score
 * an image: config, flow weights and rotations per level, calibration, threshold, backbone id
 * and hash, metrics, and the hashes of the training images.
 *   "BGADMODL" | u32 format version | 32-byte sha256 of the payload | payload (tensor pack)
 * Pure: hashing is injected so this runs anywhere.
 */
import { packTensors, unpackTensors, type NamedTensor } from '../autodiff/tensors';
import type { FlowWeights } from './flow';
import type { Calibration } from './score-head';
import type { TrainConfig } from './config';
import type { ReviewBand } from '../common/records';
import { areaCount, areaProblem, type InspectionArea } from './area';
import { inputGeometry, isSquare } from './geometry';

/**
 * 2: the bundle may carry an inspection area (the tensor `inspection_area`), which a reader of
 * format 1 would ignore and so score positions the model was told to leave out. Only bundles
 * with an area are written as 2; bundles without one stay 1, readable by older versions.
 * 3: the input is not square (`backbone.inputHeight` x `inputWidth`, bgad/geometry.ts), which a
 * reader of format 2 would ignore and score at inputSize x inputSize. Only such bundles are 3.
 */
export const BUNDLE_FORMAT_VERSION = 3;
const AREA_TENSOR = 'inspection_area';
const MAGIC = 'BGADMODL';

export interface BundleLevel {
  channels: number;
  height: number;
  width: number;
  stride: number;
  tap: string;
  blocks: number;
  boundary: number | null;
}

/** How the threshold was set at training time: at most `rate` of the held-out normal images score above it. */
export interface HeldOutThresholdRule {
  kind: 'held-out-false-reject-rate';
  rate: number;
  heldOutImages: number;
}

/** A threshold changed after training (the app's Models view): when, from what, and the rule it replaced. */
export interface UserThresholdRule {
  kind: 'set-by-user';
  /** ISO time of the change. */
  at: string;
  /** The threshold before this change. */
  previous: number;
  /** The rule the training set, kept across later changes. */
  trained: HeldOutThresholdRule;
}

export type ThresholdRule = HeldOutThresholdRule | UserThresholdRule;

export interface BundleMeta {
  format: 'bgad-model';
  formatVersion: number;
  createdAt: string;
  config: TrainConfig;
  /**
   * `inputSize`: the backbone's S. `inputHeight` x `inputWidth`: the input geometry of an aspect
   * model (bgad/geometry.ts `inputGeometry`); absent: S x S (every bundle before them).
   */
  backbone: { id: string; sha256: string; inputSize: number; inputHeight?: number; inputWidth?: number };
  levels: BundleLevel[];
  calibration: Calibration;
  /**
   * The model's decision threshold: an image fails when its score is above it. The bundle is its
   * one home: the app changes it by rewriting the bundle (`withThreshold`), so the app, `bgad
   * inspect`, the reports and the exported ONNX all read the same value.
   */
  threshold: number;
  thresholdRule: ThresholdRule;
  /**
   * The review band set in the app's Models view (scores with low < score <= high get the
   * verdict `review` where a band is asked for: the app, `bgad inspect --review-band`); absent
   * or null: none. Bundles written before it load as before.
   */
  reviewBand?: ReviewBand | null;
  /** Image scores of the held-out normals the threshold was set on (absent in older bundles): the review band's default proposal. */
  heldOutScores?: number[];
  anomaliesUsed: { path: string; type: string; sha256: string }[];
  trainImageHashes: string[];
  /** Training or held-out images that could not be read and were left out, with the reason. */
  skippedImages?: { path: string; reason: string }[];
  heldOutImageHashes: string[];
  metrics?: Record<string, unknown>;
  training?: { steps: number; trainSeconds: number; nanSteps: number };
  /** The inspection area the model was trained with (its pixels: `ModelBundle.inspectionArea`); absent: the whole image. */
  inspectionArea?: { width: number; height: number; areaPx: number };
}

export interface ModelBundle {
  meta: BundleMeta;
  weights: FlowWeights[];
  /** Image-normalised area outside which the anomaly map is zero (bgad/area.ts); absent: the whole image. */
  inspectionArea?: InspectionArea;
}

export class BundleError extends Error {}

/** The same model with another threshold, recording the change (the training-time rule is kept). */
export function withThreshold(b: ModelBundle, threshold: number, at: Date = new Date()): ModelBundle {
  if (!Number.isFinite(threshold)) throw new BundleError(`the threshold must be a finite number (got ${threshold})`);
  if (threshold === b.meta.threshold) return b;
  const r = b.meta.thresholdRule;
  const trained = r.kind === 'set-by-user' ? r.trained : r;
  return { ...b, meta: { ...b.meta, threshold, thresholdRule: { kind: 'set-by-user', at: at.toISOString(), previous: b.meta.threshold, trained } } };
}

/** The same model with another review band (null: none); the caller checks it holds the threshold (common/review-band.ts). */
export function withReviewBand(b: ModelBundle, band: ReviewBand | null): ModelBundle {
  if (band && !(Number.isFinite(band.low) && Number.isFinite(band.high) && band.low < band.high)) throw new BundleError(`the review band must be two finite numbers with low < high (got ${band.low}, ${band.high})`);
  const { reviewBand: _old, ...meta } = b.meta;
  return { ...b, meta: band ? { ...meta, reviewBand: { low: band.low, high: band.high } } : meta };
}

/**
 * What decides the scores (everything but the threshold and the review band), so results scored by one version of a
 * model stay valid after its threshold changes: verdicts are re-derived from the scores.
 */
export function scoringPart(b: ModelBundle): ModelBundle {
  const { reviewBand: _band, ...meta } = b.meta;
  return { ...b, meta: { ...meta, threshold: 0, thresholdRule: { kind: 'held-out-false-reject-rate', rate: 0, heldOutImages: 0 } } };
}

export function encodeBundle(b: ModelBundle, sha256: (bytes: Uint8Array) => Uint8Array): Uint8Array {
  const tensors: NamedTensor[] = [];
  b.weights.forEach((w, k) => {
    for (const [name, p] of w.params) tensors.push({ name: `L${k}.${name}`, shape: p.shape, data: p.data });
    w.rotations.forEach((r, j) => tensors.push({ name: `L${k}.rot${j}`, shape: [w.config.channels, w.config.channels], data: r }));
  });
  const area = b.inspectionArea;
  let meta = b.meta;
  if (area) {
    const problem = areaProblem(area);
    if (problem) throw new BundleError(`the inspection area cannot be stored: ${problem}`);
    tensors.push({ name: AREA_TENSOR, shape: [area.height, area.width], data: Float32Array.from(area.pixels, (v) => (v ? 1 : 0)) });
    meta = { ...meta, formatVersion: 2, inspectionArea: { width: area.width, height: area.height, areaPx: areaCount(area) } };
  }
  const version = !isSquare(inputGeometry(meta)) ? 3 : area ? 2 : 1;
  if (version === 3) meta = { ...meta, formatVersion: 3 };
  const payload = packTensors(tensors, meta as unknown as Record<string, unknown>);
  const out = new Uint8Array(8 + 4 + 32 + payload.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, version, true);
  out.set(sha256(payload), 12);
  out.set(payload, 44);
  return out;
}

export function decodeBundle(bytes: Uint8Array, sha256: (bytes: Uint8Array) => Uint8Array): ModelBundle {
  if (bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new BundleError('the file is not a BGAD Inspector model (wrong signature)');
  if (bytes.length < 44) throw new BundleError('the file is too short to be a model (truncated or empty)');
  const version = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (version > BUNDLE_FORMAT_VERSION) throw new BundleError(`the model was written by a newer version (format ${version}; this version reads ${BUNDLE_FORMAT_VERSION})`);
  const payload = bytes.subarray(44);
  const want = bytes.subarray(12, 44);
  const got = sha256(payload);
  if (got.length !== 32 || !got.every((v, i) => v === want[i])) throw new BundleError('the model file is corrupt or truncated (checksum mismatch)');
  let unpacked;
  try {
    unpacked = unpackTensors(payload);
  } catch (e) {
    throw new BundleError(`the model file is corrupt (${(e as Error).message})`);
  }
  const meta = unpacked.meta as unknown as BundleMeta;
  if (meta.format !== 'bgad-model' || !Array.isArray(meta.levels)) throw new BundleError('the model file has no BGAD model description');
  const { inputHeight: h, inputWidth: w } = meta.backbone ?? {};
  const side = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 8192;
  if ((h !== undefined || w !== undefined) && !(side(h) && side(w))) throw new BundleError(`the model's input geometry is damaged (height ${h}, width ${w})`);
  const byName = new Map(unpacked.tensors.map((t) => [t.name, t]));
  const weights: FlowWeights[] = meta.levels.map((lv, k) => {
    const params = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const t of unpacked.tensors) if (t.name.startsWith(`L${k}.b`)) params.set(t.name.slice(`L${k}.`.length), { shape: t.shape, data: t.data });
    const rotations: Float32Array[] = [];
    for (let j = 0; j < lv.blocks; j++) {
      const r = byName.get(`L${k}.rot${j}`);
      if (!r) throw new BundleError(`the model file lacks rotation ${j} of level ${k}`);
      rotations.push(r.data);
    }
    return { config: { channels: lv.channels, blocks: lv.blocks }, params, rotations };
  });
  const areaTensor = byName.get(AREA_TENSOR);
  if (!areaTensor) {
    if (meta.inspectionArea) throw new BundleError('the model file names an inspection area but lacks its pixels');
    return { meta, weights };
  }
  const [height, width] = areaTensor.shape as [number, number];
  const inspectionArea: InspectionArea = { width, height, pixels: Uint8Array.from(areaTensor.data, (v) => (v > 0.5 ? 1 : 0)) };
  const problem = areaProblem(inspectionArea);
  if (problem) throw new BundleError(`the model's inspection area is damaged (${problem})`);
  return { meta, weights, inspectionArea };
}
