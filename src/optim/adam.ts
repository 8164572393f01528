// Adam through the fused, mask-aware kernel: one pass per parameter.
import { Tensor } from "../autograd/tensor.js";
import { engine } from "../engine/engine.js";
import type { Parameter } from "../nn/parameter.js";
import { type Optimizer, zeroGrads } from "./optimizer.js";

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class Adam implements Optimizer {
  readonly name = "adam";
  private readonly moments: { m: Tensor; v: Tensor }[];
  private t = 0;

  constructor(
    private readonly params: readonly Parameter[],
    private readonly options: AdamOptions,
  ) {
    this.moments = params.map((p) => ({
      m: new Tensor(p.value.shape, false, `adam m of ${p.name}`, false).fill(0),
      v: new Tensor(p.value.shape, false, `adam v of ${p.name}`, false).fill(0),
    }));
  }

  step(): void {
    const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0 } = this.options;
    this.t++;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    const e = engine();
    this.params.forEach((p, i) => {
      const { m, v } = this.moments[i];
      const g = p.value.gradBuffer();
      const mask = p.mask ? p.mask.ptr : 0;
      e.parallel("adamStep", p.value.size, 16, 20 * p.value.size, (b, end) => [
        p.value.ptr + 4 * b,
        g.ptr + 4 * b,
        m.ptr + 4 * b,
        v.ptr + 4 * b,
        mask ? mask + 4 * b : 0,
        end - b,
        lr,
        beta1,
        beta2,
        eps,
        c1,
        c2,
        weightDecay,
      ]);
    });
  }

  zeroGrad(): void {
    zeroGrads(this.params);
  }

  reset(): void {
    this.t = 0;
    for (const { m, v } of this.moments) {
      m.fill(0);
      v.fill(0);
    }
  }

  state(): Tensor[] {
    return this.moments.flatMap(({ m, v }) => [m, v]);
  }

  dispose(): void {
    for (const { m, v } of this.moments) {
      m.dispose();
      v.dispose();
    }
  }
}
