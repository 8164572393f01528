// SGD with momentum through the fused, mask-aware kernel.
import { Tensor } from "../autograd/tensor.js";
import { engine } from "../engine/engine.js";
import type { Parameter } from "../nn/parameter.js";
import { type Optimizer, zeroGrads } from "./optimizer.js";

export interface SgdOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
}

export class Sgd implements Optimizer {
  readonly name = "sgd";
  private readonly velocity: Tensor[];

  constructor(
    private readonly params: readonly Parameter[],
    private readonly options: SgdOptions,
  ) {
    this.velocity = params.map((p) => new Tensor(p.value.shape, false, `sgd velocity of ${p.name}`, false).fill(0));
  }

  step(): void {
    const { lr, momentum = 0, weightDecay = 0 } = this.options;
    const e = engine();
    this.params.forEach((p, i) => {
      const g = p.value.gradBuffer();
      const mask = p.mask ? p.mask.ptr : 0;
      const vel = this.velocity[i].ptr;
      e.parallel("sgdStep", p.value.size, 16, 10 * p.value.size, (b, end) => [
        p.value.ptr + 4 * b,
        g.ptr + 4 * b,
        vel + 4 * b,
        mask ? mask + 4 * b : 0,
        end - b,
        lr,
        momentum,
        weightDecay,
      ]);
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
