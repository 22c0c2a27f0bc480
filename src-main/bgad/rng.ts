/** A small seeded PRNG (sfc32 seeded by splitmix32) so that same seed gives the same model. Pure. */
export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  private spare: number | null = null;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(); this.b = next(); this.c = next(); this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }

  /** A new independent stream derived from this one. */
  fork(): Rng {
    return new Rng(this.u32());
  }
}

/**
 * A random rotation: Haar-distributed orthogonal matrix (Gram-Schmidt on a Gaussian matrix)
 * with determinant +1. Row-major n x n, float64.
 */
export function randomRotation(n: number, rng: Rng): Float64Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) q[i] = rng.normal();
  // Modified Gram-Schmidt on the rows (twice for numerical orthogonality).
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < n; i++) {
      const ri = i * n;
      for (let j = 0; j < i; j++) {
        const rj = j * n;
        let dot = 0;
        for (let k = 0; k < n; k++) dot += q[ri + k]! * q[rj + k]!;
        for (let k = 0; k < n; k++) q[ri + k]! -= dot * q[rj + k]!;
      }
      let norm = 0;
      for (let k = 0; k < n; k++) norm += q[ri + k]! ** 2;
      norm = Math.sqrt(norm);
      for (let k = 0; k < n; k++) q[ri + k]! /= norm;
    }
  }
  if (determinantSign(q, n) < 0) for (let k = 0; k < n; k++) q[k] = -q[k]!;
  return q;
}

/** Sign of the determinant by LU with partial pivoting. */
export function determinantSign(m: Float64Array, n: number): number {
  const a = Float64Array.from(m);
  let sign = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]!) > Math.abs(a[p * n + c]!)) p = r;
    const piv = a[p * n + c]!;
    if (piv === 0) return 0;
    if (p !== c) {
      sign = -sign;
      for (let k = 0; k < n; k++) [a[c * n + k], a[p * n + k]] = [a[p * n + k]!, a[c * n + k]!];
    }
    if (piv < 0) sign = -sign;
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c]! / piv;
      if (f === 0) continue;
      for (let k = c; k < n; k++) a[r * n + k]! -= f * a[c * n + k]!;
    }
  }
  return sign;
}
