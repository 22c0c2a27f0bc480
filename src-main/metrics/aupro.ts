/**
 * AUPRO: the area under the per-region-overlap curve, as defined for MVTec AD (Bergmann et
 * al., IJCV 2021; the reference is `compute_pro` + `trapezoid` in the MVTec AD evaluation
 * code). Pure: no node, electron, DOM or native imports.
 *
 * - Ground-truth regions are the 8-connected components of each mask (mask != 0).
 * - At every distinct score t (a pixel is "above" when score >= t), PRO(t) is the mean over
 *   all regions of all images of the fraction of the region's pixels above t, and FPR(t) is
 *   the fraction of normal pixels (mask == 0, over all images) above t.
 * - The curve (0,0), (FPR(t), PRO(t)) for t descending, (1,1) is integrated with the
 *   trapezoid rule from FPR 0 to `fprLimit`, interpolating linearly at exactly `fprLimit`,
 *   and the area is divided by `fprLimit` (so a perfect detector scores 1).
 * Differences from the reference: rates are float64 (the reference divides in float32).
 * Returns NaN when there is no ground-truth region or no normal pixel.
 */

const SIZE_BITS = 2 ** 21;

/** Labels the 8-connected components of `mask != 0`; returns the component sizes (label k+1 has size sizes[k]). */
export function labelComponents(mask: Uint8Array, width: number, height: number, labels: Int32Array): number[] {
  const n = width * height;
  if (mask.length !== n) throw new RangeError(`mask has ${mask.length} pixels, expected ${width} x ${height}`);
  labels.fill(0, 0, n);
  const sizes: number[] = [];
  const stack = new Int32Array(n);
  for (let start = 0; start < n; start++) {
    if (mask[start] === 0 || labels[start] !== 0) continue;
    const label = sizes.length + 1;
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    let size = 0;
    while (top > 0) {
      const p = stack[--top];
      size++;
      const x = p % width;
      const y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (mask[q] !== 0 && labels[q] === 0) {
            labels[q] = label;
            stack[top++] = q;
          }
        }
      }
    }
    sizes.push(size);
  }
  return sizes;
}

/**
 * AUPRO up to `fprLimit` (default 0.3), normalised by `fprLimit`. Exact: normal pixels are
 * sorted as a Float32Array; anomalous pixels as a Float64Array packing an order-preserving
 * 32-bit key of the score with the index of their region's size (there are fewer than 2^21
 * distinct region sizes for any realistic pixel count), both with the native typed sort.
 */
export function aupro(
  maps: Float32Array[],
  masks: Uint8Array[],
  widths: number[],
  heights: number[],
  fprLimit = 0.3,
): number {
  if (maps.length !== masks.length || maps.length !== widths.length || maps.length !== heights.length) {
    throw new RangeError('maps, masks, widths and heights must have the same length');
  }
  if (!(fprLimit > 0 && fprLimit <= 1)) throw new RangeError(`fprLimit must be in (0, 1], got ${fprLimit}`);
  let nAnom = 0;
  let nAll = 0;
  let maxPixels = 0;
  for (let k = 0; k < maps.length; k++) {
    const n = widths[k] * heights[k];
    if (maps[k].length !== n || masks[k].length !== n) {
      throw new RangeError(`image ${k}: map (${maps[k].length}) and mask (${masks[k].length}) must have ${widths[k]} x ${heights[k]} pixels`);
    }
    nAll += n;
    maxPixels = Math.max(maxPixels, n);
    const m = masks[k];
    for (let i = 0; i < n; i++) if (m[i] !== 0) nAnom++;
  }
  const nNormal = nAll - nAnom;
  const normal = new Float32Array(nNormal);
  const anom = new Float64Array(nAnom);
  const sizeIndex = new Map<number, number>();
  const invSizes: number[] = [];
  const labels = new Int32Array(maxPixels);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  let nRegions = 0;
  let iN = 0;
  let iA = 0;
  for (let k = 0; k < maps.length; k++) {
    const sizes = labelComponents(masks[k], widths[k], heights[k], labels);
    nRegions += sizes.length;
    const idxOfLabel = sizes.map((s) => {
      let idx = sizeIndex.get(s);
      if (idx === undefined) {
        idx = invSizes.length;
        sizeIndex.set(s, idx);
        invSizes.push(1 / s);
      }
      return idx;
    });
    const s = maps[k];
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const v = s[i];
      if (v !== v) throw new RangeError(`NaN score in map ${k} pixel ${i}`);
      const label = labels[i];
      if (label === 0) {
        normal[iN++] = v;
      } else {
        f32[0] = v + 0; // + 0 turns -0 into +0
        const bits = u32[0];
        const key = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
        anom[iA++] = key * SIZE_BITS + idxOfLabel[label - 1];
      }
    }
  }
  if (nRegions === 0 || nNormal === 0) return NaN;
  if (invSizes.length >= SIZE_BITS) throw new RangeError('too many distinct region sizes');
  normal.sort();
  anom.sort();

  const decode = (packed: number): number => {
    const key = Math.floor(packed / SIZE_BITS);
    u32[0] = key & 0x80000000 ? (key ^ 0x80000000) >>> 0 : ~key >>> 0;
    return f32[0];
  };

  let x0 = 0;
  let y0 = 0;
  let area = 0;
  let isDone = false;
  const step = (x1: number, y1: number): void => {
    if (x1 <= fprLimit) {
      area += 0.5 * (y0 + y1) * (x1 - x0);
      x0 = x1;
      y0 = y1;
    } else {
      const yAt = y0 + ((y1 - y0) * (fprLimit - x0)) / (x1 - x0);
      area += 0.5 * (y0 + yAt) * (fprLimit - x0);
      isDone = true;
    }
  };

  let i = nNormal - 1;
  let j = nAnom - 1;
  let fp = 0;
  let proSum = 0;
  let nextAnom = j >= 0 ? decode(anom[j]) : -Infinity;
  while (!isDone && (i >= 0 || j >= 0)) {
    const t = i < 0 ? nextAnom : j < 0 ? normal[i] : Math.max(normal[i], nextAnom);
    while (i >= 0 && normal[i] === t) {
      fp++;
      i--;
    }
    while (j >= 0 && nextAnom === t) {
      const packed = anom[j];
      proSum += invSizes[packed - Math.floor(packed / SIZE_BITS) * SIZE_BITS];
      j--;
      nextAnom = j >= 0 ? decode(anom[j]) : -Infinity;
    }
    step(Math.min(fp / nNormal, 1), Math.min(proSum / nRegions, 1));
  }
  if (!isDone) step(1, 1);
  return area / fprLimit;
}
