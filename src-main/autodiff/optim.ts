/** Optimizers and schedules on Float32Arrays, in place. Pure. */

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Clip the global L2 norm of this group's gradients to this value (off when undefined). */
  maxGradNorm?: number;
}

/** Adam (Kingma & Ba) with bias correction, one instance per parameter group. */
export class Adam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;
  readonly opts: Required<Omit<AdamOptions, 'maxGradNorm'>> & { maxGradNorm?: number };

  constructor(readonly params: Float32Array[], opts: AdamOptions) {
    this.opts = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, ...opts };
    this.m = params.map((p) => new Float32Array(p.length));
    this.v = params.map((p) => new Float32Array(p.length));
  }

  get stepCount(): number {
    return this.t;
  }

  /** One update with gradients aligned to `params`; returns the gradient norm before clipping. */
  step(grads: ArrayLike<number>[], lr = this.opts.lr): number {
    if (grads.length !== this.params.length) throw new Error(`Adam: ${grads.length} gradients for ${this.params.length} parameters`);
    const norm = globalNorm(grads);
    if (!Number.isFinite(norm)) throw new Error('Adam: non-finite gradient');
    const scale = this.opts.maxGradNorm !== undefined && norm > this.opts.maxGradNorm ? this.opts.maxGradNorm / (norm + 1e-12) : 1;
    this.t++;
    const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this.opts;
    const bc1 = 1 - b1 ** this.t, bc2 = 1 - b2 ** this.t;
    const stepSize = lr / bc1;
    const sqrtBc2 = Math.sqrt(bc2);
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k]!, g = grads[k]!, m = this.m[k]!, v = this.v[k]!;
      if (g.length !== p.length) throw new Error(`Adam: gradient ${k} has ${g.length} values for ${p.length}`);
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]! * scale + wd * p[i]!;
        const mi = (m[i] = b1 * m[i]! + (1 - b1) * gi);
        const vi = (v[i] = b2 * v[i]! + (1 - b2) * gi * gi);
        p[i] = p[i]! - (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + eps);
      }
    }
    return norm;
  }

  /** Optimizer state for checkpoints (resume after a restart). */
  state(): { t: number; m: Float32Array[]; v: Float32Array[] } {
    return { t: this.t, m: this.m, v: this.v };
  }

  loadState(s: { t: number; m: Float32Array[]; v: Float32Array[] }): void {
    if (s.m.length !== this.m.length) throw new Error('Adam: state does not match the parameters');
    this.t = s.t;
    s.m.forEach((x, i) => this.m[i]!.set(x));
    s.v.forEach((x, i) => this.v[i]!.set(x));
  }
}

export function globalNorm(xs: ArrayLike<number>[]): number {
  let s = 0;
  for (const x of xs) for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
}

/**
 * Linear warm-up from lr*warmupStartFactor to lr over `warmupSteps`, then cosine decay to
 * lr*finalFactor at `totalSteps`.
 */
export function cosineWithWarmup(step: number, o: { lr: number; totalSteps: number; warmupSteps: number; finalFactor?: number; warmupStartFactor?: number }): number {
  const final = o.lr * (o.finalFactor ?? 1e-3);
  if (o.warmupSteps > 0 && step < o.warmupSteps) {
    const s0 = o.warmupStartFactor ?? 0.1;
    return o.lr * (s0 + ((1 - s0) * step) / o.warmupSteps);
  }
  const span = Math.max(1, o.totalSteps - o.warmupSteps);
  const t = Math.min(1, Math.max(0, (step - o.warmupSteps) / span));
  return final + 0.5 * (o.lr - final) * (1 + Math.cos(Math.PI * t));
}
