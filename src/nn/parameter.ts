// A named trainable tensor. Prunable parameters (weights) carry a mask of 1s (kept) and 0s
// (pruned); the masked entries of the value are held at exactly zero by the optimizer.
import { Tensor } from "../autograd/tensor.js";

/**
 * How a weight enters its layer's product, as a matrix with `inputs` rows and `outputs` columns:
 * weight (i, j) is stored at i·inputStride + j·outputStride. The execution plan builds compact
 * sparse storage from this without knowing the layer.
 */
export interface WeightProduct {
  inputs: number;
  outputs: number;
  inputStride: number;
  outputStride: number;
}

/** A weight stored [inputs, outputs] row-major (a linear layer's): weight (i, j) at i·outputs + j. */
export function linearProduct(inputs: number, outputs: number): WeightProduct {
  return { inputs, outputs, inputStride: outputs, outputStride: 1 };
}

/** Which of a model's per-round pruning rates applies to a prunable weight (the paper's protocols differ by kind). */
export type PruneGroup = "conv" | "linear" | "output";

export class Parameter {
  mask: Tensor | null = null;

  constructor(
    readonly name: string,
    readonly value: Tensor,
    readonly prunable: boolean,
    /** The shape a user sees (in checkpoints and exports): [out, in, kh, kw] for a convolution kernel held as a matrix. */
    readonly shape: readonly number[] = value.shape,
    readonly product: WeightProduct | null = null,
    readonly group: PruneGroup | null = null,
  ) {}

  /** Creates the mask (all kept) on first use. */
  ensureMask(): Tensor {
    if (!this.mask) this.mask = new Tensor(this.value.shape, false, `mask of ${this.name}`, false).fill(1);
    return this.mask;
  }

  /** Forces pruned entries of the value to zero (after loading or resetting weights). */
  applyMask(): void {
    if (!this.mask) return;
    const v = this.value.view();
    const m = this.mask.view();
    for (let i = 0; i < v.length; i++) if (m[i] === 0) v[i] = 0;
  }

  dispose(): void {
    this.value.dispose();
    this.mask?.dispose();
  }
}
