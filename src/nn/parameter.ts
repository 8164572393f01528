// A named trainable tensor. Prunable parameters (weights) carry a mask of 1s (kept) and 0s
// (pruned); the masked entries of the value are held at exactly zero by the optimizer.
import { Tensor } from "../autograd/tensor.js";

export class Parameter {
  mask: Tensor | null = null;

  constructor(readonly name: string, readonly value: Tensor, readonly prunable: boolean) {}

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
