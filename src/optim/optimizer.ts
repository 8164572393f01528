// What every optimizer offers the training loop.

import type { Tensor } from "../autograd/tensor.js";
import type { Parameter } from "../nn/parameter.js";

export interface Optimizer {
  readonly name: string;
  /** Applies one update from the parameters' current gradients (masked entries stay zero). */
  step(): void;
  /** Zeroes the parameters' gradients. */
  zeroGrad(): void;
  /** Clears optimizer state (moments, step count), as at the start of a lottery round. */
  reset(): void;
  dispose(): void;
  /** The optimizer's state tensors (moments, velocities), for diagnostics. */
  state(): Tensor[];
}

export function zeroGrads(params: readonly Parameter[]): void {
  for (const p of params) p.value.zeroGrad();
}
