import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultModelsDir, ZOO_INT8_FILE } from '../../src-main/backbones/registry';
import { sourceKey } from '../helpers/source-key';

/** Converted backbones are shared by all test files (conversion writes atomically), keyed by the converter's source. */
export const TEST_CACHE_DIR = join(tmpdir(), `bgad-test-backbones-${sourceKey(['autodiff', 'backbones'], 'backbones')}`);

export const ZOO_PRESENT = existsSync(join(defaultModelsDir(), ZOO_INT8_FILE));
export const ZOO_SKIP_MESSAGE = `skipped: ${join(defaultModelsDir(), ZOO_INT8_FILE)} is absent on this machine`;

/** A deterministic smooth-plus-noise test image, planar RGB in [0,1]. */
export function testImage(height: number, width = height, seed = 1): Float32Array {
  const out = new Float32Array(3 * height * width);
  let s = seed;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        s = (s * 1103515245 + 12345) & 0x7fffffff;
        const noise = s / 0x7fffffff - 0.5;
        const v = 0.5 + 0.3 * Math.sin((x + 7 * c) / 9) * Math.cos(y / 13) + 0.15 * noise;
        out[(c * height + y) * width + x] = Math.min(1, Math.max(0, v));
      }
    }
  }
  return out;
}

/** Mean over positions of the cosine between the channel vectors of two NCHW maps (N = 1). */
export function meanPositionCosine(a: Float32Array, b: Float32Array, channels: number): number {
  const hw = a.length / channels;
  let sum = 0;
  for (let p = 0; p < hw; p++) {
    let dot = 0, na = 0, nb = 0;
    for (let c = 0; c < channels; c++) {
      const u = a[c * hw + p]!, v = b[c * hw + p]!;
      dot += u * v; na += u * u; nb += v * v;
    }
    sum += na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb || 1e-30);
  }
  return sum / hw;
}
