// A stride-1 convolution whose kernel is pruned and kept compactly (assembly/sparse-conv.ts):
// forward, input gradient and weight gradient touch the surviving taps only, on channel-major
// images, and never build im2col's columns. The entry lists come from the layer
// (src/nn/sparse-conv-lists.ts); this op only runs them.
import { engine } from "../engine/engine.js";
import { directKernelsFit, padded, type WindowGeometry, windowOutput } from "./image-ops.js";
import { fromOp, Tensor } from "./tensor.js";

/**
 * One pass's entries: per output plane, [offsets[p], offsets[p + 1]) of int32 taps (byte offsets
 * in the padded input) and the positions of their weights in the values (null: in that order).
 */
export interface TapList {
  offsets: number;
  taps: number;
  positions: number | null;
}

/**
 * out [planes, N·Ho·Wo] (+)= bias + each plane's list over the padded input [·, N·Hp·Wp] (k×k
 * taps), threads splitting the batch once `work` is worth it. The list's weights go to the kernel
 * as v128 splats in the list's own order.
 */
function runList(
  input: Tensor,
  list: TapList,
  values: Tensor,
  count: number,
  bias: number,
  out: Tensor,
  planes: number,
  batch: number,
  paddedH: number,
  paddedW: number,
  k: number,
  accumulate: boolean,
  work: number,
): void {
  const e = engine();
  const weights = new Tensor([4 * Math.max(1, count)], false, "splatted weights");
  if (list.positions === null) e.kernels.splatWeights(values.ptr, weights.ptr, count);
  else e.kernels.splatAt(values.ptr, list.positions, weights.ptr, count);
  e.parallel("sparseConvForward", batch, 1, work, (n0, n1) => [
    input.ptr,
    list.taps,
    weights.ptr,
    list.offsets,
    bias,
    out.ptr,
    planes,
    batch,
    paddedH,
    paddedW,
    k,
    k,
    accumulate ? 1 : 0,
    n0,
    n1,
  ]);
  weights.dispose();
}

/** The lists a pruned convolution runs for a batch size: by output channel (forward, weight gradient) and by input channel (input gradient). */
export interface SparseConvLists {
  nonzeros: number;
  forward: TapList;
  backward: TapList;
}

/** Images in the input chunk the weight gradient keeps in cache while every output passes over it. */
const WEIGHT_GRAD_CHUNK_BYTES = 256 * 1024;

/**
 * Whether the compact direct kernels suit a geometry: one the direct kernels fit, with input rows
 * of at least one vector too (the input gradient is the same kernel run back).
 */
export function suitsSparseConvolution(g: WindowGeometry): boolean {
  return directKernelsFit(g) && g.width >= 4;
}

/**
 * x [C, N·H·W], the surviving weights `values` [entries] (as `lists` index them) and bias [O] →
 * y [O, N·Ho·Wo]: the convolution with every pruned tap left out.
 */
export function sparseConv2d(x: Tensor, values: Tensor, bias: Tensor, outputs: number, batch: number, g: WindowGeometry, lists: SparseConvLists): Tensor {
  if (!suitsSparseConvolution(g))
    throw new Error(`sparseConv2d: stride ${g.stride} and padding ${g.padding} with a ${g.kernelH}×${g.kernelW} kernel need im2col`);
  if (x.shape.length !== 2 || x.shape[0] !== g.channels || x.shape[1] !== batch * g.height * g.width) {
    throw new Error(`sparseConv2d: expected [${g.channels}, ${batch}·${g.height}·${g.width}], got [${x.shape.join(", ")}]`);
  }
  if (bias.size !== outputs) throw new Error(`sparseConv2d: bias [${bias.shape.join(", ")}] does not fit ${outputs} outputs`);
  const e = engine();
  const { outH, outW } = windowOutput(g);
  const k = g.kernelW;
  const paddedH = g.height + 2 * g.padding,
    paddedW = g.width + 2 * g.padding;
  const xp = padded(x, g.channels * batch, g.height, g.width, g.padding);
  const out = new Tensor([outputs, batch * outH * outW], false, "sparse conv2d");
  const work = 2 * lists.nonzeros * batch * outH * outW;
  const f = lists.forward;
  runList(xp, f, values, lists.nonzeros, bias.ptr, out, outputs, batch, paddedH, paddedW, k, false, work);
  const result = fromOp(out, [x, values, bias], () => {
    const dy = out.gradBuffer();
    if (values.requiresGrad && lists.nonzeros > 0) {
      const { buffer, overwrite } = values.gradTarget();
      const partial = new Tensor([4 * lists.nonzeros], false, "sparse conv2d partial sums");
      const chunk = Math.max(1, Math.floor(WEIGHT_GRAD_CHUNK_BYTES / (4 * g.channels * paddedH * paddedW)));
      e.parallel("sparseConvWeightGrad", outputs, 1, work, (o0, o1) => [
        dy.ptr,
        xp.ptr,
        f.taps,
        f.offsets,
        buffer.ptr,
        partial.ptr,
        batch,
        paddedH,
        paddedW,
        k,
        k,
        chunk,
        overwrite ? 0 : 1,
        o0,
        o1,
      ]);
      partial.dispose();
    } else if (values.requiresGrad) values.gradBuffer();
    if (bias.requiresGrad) {
      const { buffer, overwrite } = bias.gradTarget();
      e.kernels.sumEachRow(dy.ptr, buffer.ptr, outputs, batch * outH * outW, overwrite ? 0 : 1);
    }
    if (x.requiresGrad) {
      // the input gradient is a 'full' correlation: the output gradient padded by k − 1 − p, the kernel flipped
      const q = k - 1 - g.padding;
      const dyp = padded(dy, outputs * batch, outH, outW, q);
      const { buffer, overwrite } = x.gradTarget();
      runList(dyp, lists.backward, values, lists.nonzeros, 0, buffer, g.channels, batch, outH + 2 * q, outW + 2 * q, k, !overwrite, work);
      if (dyp !== dy) dyp.dispose();
    }
  });
  // without a backward pass to come, the padded copy has done its work
  if (xp !== x && !result.backwardFn) xp.dispose();
  return result;
}
