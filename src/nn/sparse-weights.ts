// A pruned weight matrix stored compactly: only the surviving entries, grouped by output, so a
// product costs in proportion to the weights that remain. `values` is what the optimizer
// trains; `scatter()` writes it back into the dense parameter.
import { Tensor, fromOp } from "../autograd/tensor.js";
import { engine } from "../engine/engine.js";
import type { Parameter } from "./parameter.js";

export class SparseWeights {
  readonly inputs: number;
  readonly outputs: number;
  readonly nonzeros: number;
  /** The surviving weights, trainable. */
  readonly values: Tensor;
  /** int32 blocks: offsets[outputs + 1] and input indices[nonzeros]. */
  private readonly offsets: number;
  private readonly indices: number;

  constructor(readonly source: Parameter) {
    if (source.value.shape.length !== 2) throw new Error(`SparseWeights: ${source.name} must be a matrix`);
    if (!source.mask) throw new Error(`SparseWeights: ${source.name} has no mask`);
    const [inputs, outputs] = source.value.shape;
    this.inputs = inputs;
    this.outputs = outputs;
    const e = engine();
    const mask = source.mask.view();
    const offsets = new Int32Array(outputs + 1);
    const indices: number[] = [];
    for (let j = 0; j < outputs; j++) {
      for (let i = 0; i < inputs; i++) if (mask[i * outputs + j] !== 0) indices.push(i);
      offsets[j + 1] = indices.length;
    }
    this.nonzeros = indices.length;
    this.offsets = e.allocator.alloc((outputs + 1) * 4);
    this.indices = e.allocator.alloc(Math.max(1, indices.length) * 4);
    e.i32(this.offsets, outputs + 1).set(offsets);
    e.i32(this.indices, indices.length).set(indices);
    this.values = new Tensor([Math.max(1, this.nonzeros)], true, `${source.name} (sparse)`, false).fill(0);
    this.gather();
  }

  /** dense → compact */
  gather(): void {
    engine().kernels.gatherWeights(this.source.value.ptr, this.outputs, this.offsets, this.indices, this.values.ptr);
  }

  /** compact → dense (pruned entries stay zero) */
  scatter(): void {
    engine().kernels.scatterWeights(this.values.ptr, this.outputs, this.offsets, this.indices, this.source.value.ptr);
  }

  /** yT [outputs, batch] = Wᵀ · xT for feature-major xT [inputs, batch]. */
  apply(xT: Tensor): Tensor {
    if (xT.shape.length !== 2 || xT.shape[0] !== this.inputs) {
      throw new Error(`sparse ${this.source.name}: input must be feature-major [${this.inputs}, batch], got [${xT.shape.join(", ")}]`);
    }
    const batch = xT.shape[1];
    const e = engine();
    const work = 2 * this.nonzeros * batch;
    const out = new Tensor([this.outputs, batch], false, `sparse ${this.source.name}`);
    // threads split the batch lanes (forward, input gradient) or the outputs (weight gradient),
    // so no two threads write the same element
    e.parallel("sparseForward", batch, 4, work, (b0, b1) => [this.offsets, this.indices, this.values.ptr, this.outputs, xT.ptr, out.ptr, batch, b0, b1]);
    return fromOp(out, [xT, this.values], () => {
      const g = out.gradBuffer().ptr;
      if (xT.requiresGrad) {
        const dx = xT.gradBuffer().ptr;
        e.parallel("sparseBackwardInput", batch, 4, work, (b0, b1) => [this.offsets, this.indices, this.values.ptr, this.outputs, g, dx, batch, b0, b1]);
      }
      if (this.values.requiresGrad) {
        const dw = this.values.gradBuffer().ptr;
        e.parallel("sparseBackwardWeights", this.outputs, 1, work, (j0, j1) => [this.offsets + 4 * j0, this.indices, dw, j1 - j0, xT.ptr, g + 4 * j0 * batch, batch]);
      }
    });
  }

  dispose(): void {
    const e = engine();
    e.allocator.release(this.offsets, (this.outputs + 1) * 4);
    e.allocator.release(this.indices, Math.max(1, this.nonzeros) * 4);
    this.values.dispose();
  }
}
