// SGD with momentum through the fused, mask-aware kernel.
import { Tensor } from "../autograd/tensor.js";
import { engine } from "../engine/engine.js";
import type { Parameter } from "../nn/parameter.js";
import { zeroGrads, type Optimizer } from "./optimizer.js";

export interface SgdOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
}

export class Sgd implements Optimizer {
  readonly name = "sgd";
  private readonly velocity: Tensor[];

  constructor(private readonly params: readonly Parameter[], private readonly options: SgdOptions) {
    this.velocity = params.map((p) => new Tensor(p.value.shape, false, `sgd velocity of ${p.name}`, false).fill(0));
  }

  step(): void {
    const { lr, momentum = 0, weightDecay = 0 } = this.options;
    const k = engine().kernels;
    this.params.forEach((p, i) => {
      const g = p.value.gradBuffer();
      k.sgdStep(p.value.ptr, g.ptr, this.velocity[i].ptr, p.mask ? p.mask.ptr : 0, p.value.size, lr, momentum, weightDecay);
    });
  }

  zeroGrad(): void {
    zeroGrads(this.params);
  }

  reset(): void {
    for (const v of this.velocity) v.fill(0);
  }

  state(): Tensor[] {
    return this.velocity;
  }

  dispose(): void {
    for (const v of this.velocity) v.dispose();
  }
}
