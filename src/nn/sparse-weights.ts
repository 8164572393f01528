// A pruned weight matrix stored compactly: only the surviving entries, grouped by output, so a
// product costs in proportion to the weights that remain. Any layer's weight works that declares
// how it enters its product (Parameter.product): a linear layer's, or a convolution's kernel. `values` is what the optimizer
// trains; `scatter()` writes it back into the dense parameter.
import { LIVE_SHARE_WORTH_SKIPPING } from "../autograd/live-product.js";
import { fromOp, Tensor } from "../autograd/tensor.js";
import { engine } from "../engine/engine.js";
import type { Parameter } from "./parameter.js";

/**
 * Below this many surviving weights per input feature the sparse path takes every entry: side by
 * side, LeNet-300-100 at 3.6% remaining (fc1: 11 per input) trained ~2% slower with the skip and at
 * 7% (21 per input) ~7% faster.
 */
const LIVE_ENTRIES_PER_INPUT = 16;

export class SparseWeights {
  readonly inputs: number;
  readonly outputs: number;
  readonly nonzeros: number;
  /** The surviving weights, trainable. */
  readonly values: Tensor;
  /** int32 blocks, by output: offsets[outputs + 1] and input indices[nonzeros]. */
  readonly offsets: number;
  readonly indices: number;
  /** int32 blocks, by input (for the input gradient): offsets[inputs + 1], output indices and positions in `values`. */
  readonly colOffsets: number;
  readonly colOutputs: number;
  readonly colValues: number;
  /**
   * Per batch size: `indices` and `colOutputs` as byte offsets of rows in the feature-major
   * activations (index · batch · 4), which is what the kernels read.
   */
  private readonly rows = new Map<number, { inputRows: number; colOutputRows: number }>();
  /** Structures a layer derives from the entries (made once, freed with them). */
  private readonly derivedByKey = new Map<string, { dispose(): void }>();

  /** Where weight (input i, output j) sits in the dense parameter: i·inputStride + j·outputStride. */
  private readonly inputStride: number;
  private readonly outputStride: number;

  constructor(readonly source: Parameter) {
    if (!source.product) throw new Error(`SparseWeights: ${source.name} is not the weight of a product`);
    if (!source.mask) throw new Error(`SparseWeights: ${source.name} has no mask`);
    const { inputs, outputs, inputStride, outputStride } = source.product;
    this.inputs = inputs;
    this.outputs = outputs;
    this.inputStride = inputStride;
    this.outputStride = outputStride;
    const e = engine();
    const mask = source.mask.view();
    const offsets = new Int32Array(outputs + 1);
    const indices: number[] = [];
    for (let j = 0; j < outputs; j++) {
      for (let i = 0; i < inputs; i++) if (mask[i * inputStride + j * outputStride] !== 0) indices.push(i);
      offsets[j + 1] = indices.length;
    }
    this.nonzeros = indices.length;
    // the same entries listed by input, outputs in increasing order within each
    const colOffsets = new Int32Array(inputs + 1);
    for (const i of indices) colOffsets[i + 1]++;
    for (let i = 0; i < inputs; i++) colOffsets[i + 1] += colOffsets[i];
    const colOutputs = new Int32Array(indices.length),
      colValues = new Int32Array(indices.length);
    const fill = colOffsets.slice(0, inputs);
    for (let j = 0; j < outputs; j++) {
      for (let p = offsets[j]; p < offsets[j + 1]; p++) {
        const at = fill[indices[p]]++;
        colOutputs[at] = j;
        colValues[at] = p;
      }
    }
    const block = (values: ArrayLike<number>): number => {
      const ptr = e.allocator.alloc(Math.max(1, values.length) * 4);
      e.i32(ptr, values.length).set(values);
      return ptr;
    };
    this.offsets = block(offsets);
    this.indices = block(indices);
    this.colOffsets = block(colOffsets);
    this.colOutputs = block(colOutputs);
    this.colValues = block(colValues);
    this.values = new Tensor([Math.max(1, this.nonzeros)], true, `${source.name} (sparse)`, false).fill(0);
    this.gather();
  }

  /** dense → compact */
  gather(): void {
    engine().kernels.gatherWeights(this.source.value.ptr, this.outputs, this.offsets, this.indices, this.values.ptr, this.inputStride, this.outputStride);
  }

  /** compact → dense (pruned entries stay zero) */
  scatter(): void {
    engine().kernels.scatterWeights(this.values.ptr, this.outputs, this.offsets, this.indices, this.source.value.ptr, this.inputStride, this.outputStride);
  }

  /** yT [outputs, batch] = Wᵀ · xT for feature-major xT [inputs, batch] (for a convolution, xT is its im2col columns). */
  apply(xT: Tensor): Tensor {
    if (xT.shape.length !== 2 || xT.shape[0] !== this.inputs) {
      throw new Error(`sparse ${this.source.name}: input must be feature-major [${this.inputs}, batch], got [${xT.shape.join(", ")}]`);
    }
    const batch = xT.shape[1];
    if (!xT.requiresGrad) {
      const live = this.applyToData(xT, batch);
      if (live) return live;
    }
    const e = engine();
    const work = 2 * this.nonzeros * batch;
    const out = new Tensor([this.outputs, batch], false, `sparse ${this.source.name}`);
    // threads split the outputs (forward, weight gradient) or the inputs (input gradient), so
    // each writes its own rows; splitting the batch lanes made them write the same cache lines
    const { inputRows, colOutputRows } = this.rowOffsets(batch);
    e.parallel("sparseForward", this.outputs, 1, work, (j0, j1) => [
      this.offsets + 4 * j0,
      inputRows,
      this.values.ptr,
      j1 - j0,
      xT.ptr,
      out.ptr + 4 * j0 * batch,
      batch,
    ]);
    return fromOp(out, [xT, this.values], () => {
      const g = out.gradBuffer().ptr;
      if (xT.requiresGrad) {
        const { buffer, overwrite } = xT.gradTarget();
        e.parallel("sparseBackwardInput", this.inputs, 1, work, (i0, i1) => [
          this.colOffsets + 4 * i0,
          colOutputRows,
          this.colValues,
          this.values.ptr,
          i1 - i0,
          g,
          buffer.ptr + 4 * i0 * batch,
          batch,
          overwrite ? 0 : 1,
        ]);
      }
      if (this.values.requiresGrad) {
        const dw = this.values.gradBuffer().ptr;
        e.parallel("sparseBackwardWeights", this.outputs, 1, work, (j0, j1) => [
          this.offsets + 4 * j0,
          inputRows,
          dw,
          j1 - j0,
          xT.ptr,
          g + 4 * j0 * batch,
          batch,
        ]);
      }
    });
  }

  /**
   * apply() for data (an input that needs no gradient): only the entries whose input feature is
   * nonzero somewhere in the batch take part, in the same order, so the sums and the weight
   * gradient keep their bits (assembly/live-features.ts). Null when nearly every feature is live,
   * or when the layer keeps too few weights for the skipping to pay.
   */
  private applyToData(xT: Tensor, batch: number): Tensor | null {
    // finding the live entries costs a pass over the entries and one over the input: with few
    // weights per input feature that is all the zero terms would have cost
    if (this.nonzeros < LIVE_ENTRIES_PER_INPUT * this.inputs) return null;
    const e = engine();
    const live = new Tensor([this.inputs], false, "live features"); // int32 bits, freed with the step
    const count = e.kernels.liveFeatures(xT.ptr, this.inputs, batch, 0, live.ptr);
    if (count > LIVE_SHARE_WORTH_SKIPPING * this.inputs) {
      live.dispose();
      return null;
    }
    const { inputRows } = this.rowOffsets(batch);
    const flags = new Tensor([this.inputs], false, "live flags");
    const offsets = new Tensor([this.outputs + 1], false, "live offsets");
    const rows = new Tensor([Math.max(1, this.nonzeros)], false, "live rows");
    const positions = new Tensor([Math.max(1, this.nonzeros)], false, "live positions");
    const entries = e.kernels.liveEntries(
      this.offsets,
      this.indices,
      inputRows,
      this.outputs,
      this.inputs,
      live.ptr,
      count,
      flags.ptr,
      offsets.ptr,
      rows.ptr,
      positions.ptr,
    );
    flags.dispose();
    const work = 2 * entries * batch;
    const out = new Tensor([this.outputs, batch], false, `sparse ${this.source.name} (live inputs)`);
    // the gather by output with values read through positions: sparseForward over the live entries
    e.parallel("sparseBackwardInput", this.outputs, 1, work, (j0, j1) => [
      offsets.ptr + 4 * j0,
      rows.ptr,
      positions.ptr,
      this.values.ptr,
      j1 - j0,
      xT.ptr,
      out.ptr + 4 * j0 * batch,
      batch,
      0,
    ]);
    return fromOp(out, [xT, this.values], () => {
      if (!this.values.requiresGrad || entries === 0) return;
      const g = out.gradBuffer().ptr;
      const dw = this.values.gradBuffer().ptr;
      // the live entries' gradients, compact, go through the kernel's very additions and back
      const compact = new Tensor([entries], false, "live weight gradient");
      e.kernels.takeAt(dw, positions.ptr, compact.ptr, entries);
      e.parallel("sparseBackwardWeights", this.outputs, 1, work, (j0, j1) => [
        offsets.ptr + 4 * j0,
        rows.ptr,
        compact.ptr,
        j1 - j0,
        xT.ptr,
        g + 4 * j0 * batch,
        batch,
      ]);
      e.kernels.putAt(compact.ptr, positions.ptr, dw, entries);
      compact.dispose();
    });
  }

  /** The row byte offsets the kernels read for activations of `batch` columns (made once per batch size). */
  rowOffsets(batch: number): { inputRows: number; colOutputRows: number } {
    const known = this.rows.get(batch);
    if (known) return known;
    if (Math.max(this.inputs, this.outputs) * batch * 4 > 2 ** 31 - 1) {
      throw new Error(`sparse ${this.source.name}: a batch of ${batch} makes rows too far apart for 32-bit offsets`);
    }
    const e = engine();
    const n = Math.max(1, this.nonzeros);
    const made = { inputRows: e.allocator.alloc(4 * n), colOutputRows: e.allocator.alloc(4 * n) };
    // views only after both allocations (either may grow the memory and detach earlier views)
    const rowBytes = 4 * batch;
    e.i32(made.inputRows, this.nonzeros).set(e.i32(this.indices, this.nonzeros).map((i) => i * rowBytes));
    e.i32(made.colOutputRows, this.nonzeros).set(e.i32(this.colOutputs, this.nonzeros).map((j) => j * rowBytes));
    this.rows.set(batch, made);
    return made;
  }

  /** What `make` derives from these entries, made on first use under `key` and disposed with them. */
  derived<T extends { dispose(): void }>(key: string, make: () => T): T {
    let known = this.derivedByKey.get(key);
    if (!known) {
      known = make();
      this.derivedByKey.set(key, known);
    }
    return known as T;
  }

  dispose(): void {
    for (const d of this.derivedByKey.values()) d.dispose();
    this.derivedByKey.clear();
    const e = engine();
    for (const { inputRows, colOutputRows } of this.rows.values()) {
      e.allocator.release(inputRows, 4 * Math.max(1, this.nonzeros));
      e.allocator.release(colOutputRows, 4 * Math.max(1, this.nonzeros));
    }
    this.rows.clear();
    e.allocator.release(this.offsets, (this.outputs + 1) * 4);
    e.allocator.release(this.indices, Math.max(1, this.nonzeros) * 4);
    e.allocator.release(this.colOffsets, (this.inputs + 1) * 4);
    e.allocator.release(this.colOutputs, Math.max(1, this.nonzeros) * 4);
    e.allocator.release(this.colValues, Math.max(1, this.nonzeros) * 4);
    this.values.dispose();
  }
}
