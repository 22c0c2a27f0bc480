/**
 * On-disk cache of backbone features, keyed by (image sha256, backbone sha256, input geometry):
 *   <dir>/<backboneId>-<backboneSha[0:12]>/<size>/<imageSha[0:2]>/<imageSha>.bin
 * where <size> is S for a square input and HxW (e.g. 256x64) for an aspect model's, so the
 * features of one image at two geometries never mix.
 * A file is written to a temp name in the same folder and renamed into place, so readers never
 * see a partial file and two processes filling the same entry at once simply race to write the
 * same bytes. Storage is float16 by default (half the disk; relative error <= 2^-11, far below
 * the backbone's own precision) or float32.
 *
 * File layout (little-endian): "BGFC", u16 version, u16 dtype (1 f32, 2 f16),
 * 32 B image sha256, 32 B backbone sha256, u32 size code (S for a square input, else
 * H * 65536 + W: never a square's S, which is below 65536), u32 tap count, per tap u32 C, H, W,
 * then each tap's NCHW values (N = 1) in spec order.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { AppError } from '../common/errors';
import { loadImageTensorFromBuffer } from '../images/load';
import { writeFileAtomic } from '../fs/atomic-file';
import { createHash } from 'node:crypto';
import type { FeatureExtractor, TapShape } from './extractor';
import type { BackboneSpec } from './registry';
import { asGeometry, geometryKey, isSquare, type InputSize } from '../bgad/geometry';

export type FeatureDtype = 'float16' | 'float32';

const MAGIC = 0x43464742; // "BGFC" little-endian
const VERSION = 1;

export interface CachedFeatures {
  taps: Float32Array[];
  shapes: TapShape[];
}

// --- float16 <-> float32 -----------------------------------------------------------------
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7bff; // saturate to the largest finite half
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  if ((h & 0x7fff) >= 0x7c00) h = 0x7bff;
  return sign | h;
}

let halfTable: Float32Array | null = null;
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  halfTable = t;
  return t;
}

/** Rounds values in place to what the cache stores, so cache hits and misses give identical features. */
export function roundToStorage(t: Float32Array, dtype: FeatureDtype): Float32Array {
  if (dtype === 'float32') return t;
  const table = halfToFloatTable();
  for (let i = 0; i < t.length; i++) t[i] = table[toHalf(t[i]!)]!;
  return t;
}

// --- cache -------------------------------------------------------------------------------
/** The header's size field of an input geometry (see the file layout above). */
function sizeCode(size: InputSize): number {
  const g = asGeometry(size);
  return isSquare(g) ? g.height : g.height * 65536 + g.width;
}

export class FeatureCache {
  hits = 0;
  misses = 0;

  /** `dir` is the features folder (e.g. `<data folder>/features`). */
  constructor(readonly dir: string, readonly dtype: FeatureDtype = 'float16') {}

  pathFor(imageSha: string, spec: BackboneSpec, sizePx: InputSize = spec.inputSize): string {
    if (!/^[0-9a-f]{64}$/.test(imageSha)) throw new AppError('BAD_ARGUMENT', `Not a sha256: ${imageSha}.`);
    return join(this.dir, `${spec.id}-${spec.sha256.slice(0, 12)}`, geometryKey(sizePx), imageSha.slice(0, 2), `${imageSha}.bin`);
  }

  get(imageSha: string, spec: BackboneSpec, sizePx: InputSize = spec.inputSize): Float32Array[] | null {
    return this.getEntry(imageSha, spec, sizePx)?.taps ?? null;
  }

  getEntry(imageSha: string, spec: BackboneSpec, sizePx: InputSize = spec.inputSize): CachedFeatures | null {
    const p = this.pathFor(imageSha, spec, sizePx);
    if (!existsSync(p)) {
      this.misses++;
      return null;
    }
    let buf: Buffer;
    try {
      buf = readFileSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        this.misses++;
        return null;
      }
      throw e;
    }
    const entry = decodeEntry(buf, imageSha, spec, sizePx);
    if (entry) this.hits++;
    else this.misses++;
    return entry;
  }

  async put(imageSha: string, spec: BackboneSpec, taps: Float32Array[], shapes: TapShape[], sizePx: InputSize = spec.inputSize): Promise<void> {
    await writeFileAtomic(this.pathFor(imageSha, spec, sizePx), encodeEntry(imageSha, spec, sizePx, taps, shapes, this.dtype));
  }
}

function encodeEntry(imageSha: string, spec: BackboneSpec, sizePx: InputSize, taps: Float32Array[], shapes: TapShape[], dtype: FeatureDtype): Uint8Array {
  if (taps.length !== spec.taps.length || shapes.length !== taps.length) throw new Error(`feature cache: ${taps.length} taps for a ${spec.taps.length}-tap backbone`);
  const headerBytes = 4 + 2 + 2 + 32 + 32 + 4 + 4 + 12 * taps.length;
  const bpe = dtype === 'float16' ? 2 : 4;
  const total = taps.reduce((a, t) => a + t.length, 0);
  const out = Buffer.alloc(headerBytes + total * bpe);
  let o = 0;
  out.writeUInt32LE(MAGIC, o); o += 4;
  out.writeUInt16LE(VERSION, o); o += 2;
  out.writeUInt16LE(dtype === 'float16' ? 2 : 1, o); o += 2;
  out.write(imageSha, o, 'hex'); o += 32;
  out.write(spec.sha256, o, 'hex'); o += 32;
  out.writeUInt32LE(sizeCode(sizePx), o); o += 4;
  out.writeUInt32LE(taps.length, o); o += 4;
  taps.forEach((t, i) => {
    const s = shapes[i]!;
    if (s.channels * s.height * s.width !== t.length) throw new Error(`feature cache: tap ${i} has ${t.length} values for shape ${s.channels}x${s.height}x${s.width}`);
    out.writeUInt32LE(s.channels, o); out.writeUInt32LE(s.height, o + 4); out.writeUInt32LE(s.width, o + 8); o += 12;
  });
  for (const t of taps) {
    if (dtype === 'float32') {
      Buffer.from(t.buffer, t.byteOffset, t.byteLength).copy(out, o);
      o += t.byteLength;
    } else {
      for (let i = 0; i < t.length; i++, o += 2) out.writeUInt16LE(toHalf(t[i]!), o);
    }
  }
  return out;
}

function decodeEntry(buf: Buffer, imageSha: string, spec: BackboneSpec, sizePx: InputSize): CachedFeatures | null {
  if (buf.length < 80 || buf.readUInt32LE(0) !== MAGIC || buf.readUInt16LE(4) !== VERSION) return null;
  const dtype = buf.readUInt16LE(6);
  if (dtype !== 1 && dtype !== 2) return null;
  if (buf.toString('hex', 8, 40) !== imageSha || buf.toString('hex', 40, 72) !== spec.sha256 || buf.readUInt32LE(72) !== sizeCode(sizePx)) return null;
  const n = buf.readUInt32LE(76);
  if (n !== spec.taps.length || buf.length < 80 + 12 * n) return null;
  const shapes: TapShape[] = [];
  let o = 80;
  let total = 0;
  for (let i = 0; i < n; i++, o += 12) {
    const s = { channels: buf.readUInt32LE(o), height: buf.readUInt32LE(o + 4), width: buf.readUInt32LE(o + 8) };
    if (s.channels !== spec.taps[i]!.channels) return null;
    shapes.push(s);
    total += s.channels * s.height * s.width;
  }
  const bpe = dtype === 2 ? 2 : 4;
  if (buf.length !== o + total * bpe) return null;
  const taps: Float32Array[] = [];
  const table = dtype === 2 ? halfToFloatTable() : null;
  for (const s of shapes) {
    const len = s.channels * s.height * s.width;
    const t = new Float32Array(len);
    if (table) {
      for (let i = 0; i < len; i++) t[i] = table[buf[o + 2 * i]! | (buf[o + 2 * i + 1]! << 8)]!;
    } else {
      t.set(new Float32Array(buf.buffer.slice(buf.byteOffset + o, buf.byteOffset + o + len * 4)));
    }
    o += len * bpe;
    taps.push(t);
  }
  return { taps, shapes };
}

export interface ImageFeatures {
  path: string;
  sha256: string;
  taps: Float32Array[];
  shapes: TapShape[];
  fromCache: boolean;
}

/**
 * Features for image files, in input order: cache hits skip decoding and the backbone;
 * misses are decoded, run in batches of `batchSize` and written to the cache.
 */
export async function* featuresForImages(
  paths: string[],
  ctx: {
    extractor: FeatureExtractor;
    cache?: FeatureCache;
    /** The input size: S (square) or an aspect model's H x W; default the backbone's S. */
    sizePx?: InputSize;
    batchSize?: number;
    maxPixels?: number;
    signal?: AbortSignal;
    /** When given, images that cannot be read are reported here and skipped (else the first one throws). */
    onError?: (path: string, error: AppError) => void;
  },
): AsyncGenerator<ImageFeatures> {
  const spec = ctx.extractor.spec;
  const size = ctx.sizePx ?? spec.inputSize;
  const { height: H, width: W } = asGeometry(size);
  const batch = Math.max(1, ctx.batchSize ?? 8);
  for (let start = 0; start < paths.length; start += batch) {
    if (ctx.signal?.aborted) throw new AppError('CANCELLED', 'Feature extraction was cancelled.');
    const window = paths.slice(start, start + batch);
    const results: (ImageFeatures | null)[] = new Array<ImageFeatures | null>(window.length).fill(null);
    const pending: { k: number; path: string; sha256: string; chw: Float32Array }[] = [];
    for (let k = 0; k < window.length; k++) {
      const path = window[k]!;
      try {
        let buf: Buffer;
        try {
          buf = await readFile(path);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('NOT_FOUND', `Image ${path} does not exist.`, { subject: path, hint: 'Re-import the folder if the file was moved.', cause: e });
          if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw new AppError('BAD_IMAGE', `${path} is a folder, not an image.`, { subject: path, hint: 'Remove it from the image list.' });
          throw e;
        }
        const sha256 = createHash('sha256').update(buf).digest('hex');
        const hit = ctx.cache?.getEntry(sha256, spec, size);
        if (hit) {
          results[k] = { path, sha256, taps: hit.taps, shapes: hit.shapes, fromCache: true };
          continue;
        }
        const { chw } = await loadImageTensorFromBuffer(buf, size, path, { maxPixels: ctx.maxPixels });
        pending.push({ k, path, sha256, chw });
      } catch (e) {
        // with onError, an unreadable image is reported and left out; the others go on
        if (!ctx.onError || !(e instanceof AppError)) throw e;
        ctx.onError(path, e);
      }
    }
    if (pending.length) {
      const input = new Float32Array(pending.length * 3 * H * W);
      pending.forEach((p, i) => input.set(p.chw, i * 3 * H * W));
      const { taps, shapes } = await ctx.extractor.extractBatchWithShapes(input, pending.length, size);
      for (let i = 0; i < pending.length; i++) {
        const p = pending[i]!;
        const own = taps.map((t) => {
          const per = t.length / pending.length;
          return t.slice(i * per, (i + 1) * per);
        });
        if (ctx.cache) {
          await ctx.cache.put(p.sha256, spec, own, shapes, size);
          for (const t of own) roundToStorage(t, ctx.cache.dtype);
        }
        results[p.k] = { path: p.path, sha256: p.sha256, taps: own, shapes, fromCache: false };
      }
    }
    for (const r of results) if (r) yield r;
  }
}
