// The entry lists a pruned convolution's compact kernels run (src/autograd/sparse-conv2d.ts),
// derived from the layer's SparseWeights: each surviving tap as a byte offset into the padded
// input, which depends on the batch size (a channel plane holds every image), so the lists are
// made once per batch size.

import { type WindowGeometry, windowOutput } from "../autograd/image-ops.js";
import type { SparseConvLists } from "../autograd/sparse-conv2d.js";
import { engine } from "../engine/engine.js";
import type { SparseWeights } from "./sparse-weights.js";

export class SparseConvTaps {
  private readonly byBatch = new Map<number, SparseConvLists>();
  /** int32 block shared by every batch size: the entries by input channel, offsets[C + 1]. */
  private readonly channelOffsets: number;
  private readonly blocks: { ptr: number; bytes: number }[] = [];

  constructor(
    private readonly sparse: SparseWeights,
    private readonly geometry: WindowGeometry,
  ) {
    const area = geometry.kernelH * geometry.kernelW;
    this.channelOffsets = this.block(geometry.channels + 1);
    const e = engine();
    // a channel's entries by input are contiguous: the buckets of its kh·kw inputs
    const colOffsets = e.i32(sparse.colOffsets, sparse.inputs + 1);
    e.i32(this.channelOffsets, geometry.channels + 1).set(Array.from({ length: geometry.channels + 1 }, (_, c) => colOffsets[c * area]));
  }

  /** The lists for activations of `batch` images. */
  forBatch(batch: number): SparseConvLists {
    const known = this.byBatch.get(batch);
    if (known) return known;
    const g = this.geometry;
    const { outH, outW } = windowOutput(g);
    const k = g.kernelW,
      area = k * k,
      q = k - 1 - g.padding;
    const paddedW = g.width + 2 * g.padding,
      inChannelBytes = 4 * batch * (g.height + 2 * g.padding) * paddedW;
    const gradW = outW + 2 * q,
      gradChannelBytes = 4 * batch * (outH + 2 * q) * gradW;
    if (Math.max(g.channels * inChannelBytes, this.sparse.outputs * gradChannelBytes) > 2 ** 31 - 1) {
      throw new Error(`sparse ${this.sparse.source.name}: a batch of ${batch} makes channel planes too far apart for 32-bit offsets`);
    }
    const n = this.sparse.nonzeros;
    const forwardTaps = this.block(n),
      backwardTaps = this.block(n);
    // views only after both allocations (either may grow the memory and detach earlier views)
    const e = engine();
    const indices = e.i32(this.sparse.indices, n);
    const colOffsets = e.i32(this.sparse.colOffsets, this.sparse.inputs + 1);
    const colOutputs = e.i32(this.sparse.colOutputs, n);
    const forward = e.i32(forwardTaps, n),
      backward = e.i32(backwardTaps, n);
    for (let p = 0; p < n; p++) {
      const input = indices[p];
      const c = Math.floor(input / area),
        i = Math.floor((input % area) / k),
        j = input % k;
      forward[p] = c * inChannelBytes + 4 * (i * paddedW + j);
    }
    // by input: the kernel flipped, over the output gradient padded by q
    for (let input = 0; input < this.sparse.inputs; input++) {
      const i = Math.floor((input % area) / k),
        j = input % k;
      const shift = 4 * ((k - 1 - i) * gradW + (k - 1 - j));
      for (let p = colOffsets[input]; p < colOffsets[input + 1]; p++) backward[p] = colOutputs[p] * gradChannelBytes + shift;
    }
    const lists: SparseConvLists = {
      nonzeros: n,
      forward: { offsets: this.sparse.offsets, taps: forwardTaps, positions: null },
      backward: { offsets: this.channelOffsets, taps: backwardTaps, positions: this.sparse.colValues },
    };
    this.byBatch.set(batch, lists);
    return lists;
  }

  private block(count: number): number {
    const bytes = 4 * Math.max(1, count);
    const ptr = engine().allocator.alloc(bytes);
    this.blocks.push({ ptr, bytes });
    return ptr;
  }

  dispose(): void {
    const e = engine();
    for (const { ptr, bytes } of this.blocks) e.allocator.release(ptr, bytes);
    this.blocks.length = 0;
    this.byBatch.clear();
  }
}
