/**
 * BGAD's 2-D sin/cos positional encoding (128 dims), split into its two separable halves:
 * channels 2k, 2k+1 = sin, cos(col * w_k) and 64+2k, 65+2k = sin, cos(row * w_k),
 * w_k = 10000^(-2k/64), k = 0..31. The condition of position (row, col) is
 * [colTable[col], rowTable[row]]. Pure.
 */
export const COND_DIM = 128;
const HALF = COND_DIM / 2;

/** Table of `count` positions x 64 channels (row-major). */
export function positionTable(count: number): Float32Array {
  const t = new Float32Array(count * HALF);
  for (let p = 0; p < count; p++) {
    for (let k = 0; k < HALF / 2; k++) {
      const w = Math.exp(-(2 * k) * (Math.log(10000) / HALF));
      t[p * HALF + 2 * k] = Math.sin(p * w);
      t[p * HALF + 2 * k + 1] = Math.cos(p * w);
    }
  }
  return t;
}

/** The full 128-dim condition of one position (for tests and reference code). */
export function conditionAt(row: number, col: number): Float32Array {
  const c = new Float32Array(COND_DIM);
  c.set(positionTable(col + 1).subarray(col * HALF, (col + 1) * HALF), 0);
  c.set(positionTable(row + 1).subarray(row * HALF, (row + 1) * HALF), HALF);
  return c;
}
