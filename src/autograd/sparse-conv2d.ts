// A stride-1 convolution whose kernel is pruned and kept compactly (assembly/sparse-conv.ts):
// forward, input gradient and weight gradient touch the surviving taps only, on channel-major
// images, and never build im2col's columns. The entry lists come from the layer
// (src/nn/sparse-conv-lists.ts); this op only runs them.
import { engine } from "../engine/engine.js";
import { padded, type WindowGeometry, windowOutput } from "./image-ops.js";
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

/** A list's weights as v128 splats in its own order, which is what the kernel reads. */
function splatted(values: Tensor, list: TapList, count: number): Tensor {
  const e = engine();
  const out = new Tensor([4 * Math.max(1, count)], false, "splatted weights");
  if (list.positions === null) e.kernels.splatWeights(values.ptr, out.ptr, count);
  else e.kernels.splatAt(values.ptr, list.positions, out.ptr, count);
  return out;
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
 * Whether the compact direct kernels suit a geometry: stride 1, a square kernel, padding below
 * the kernel, and rows of at least one vector in the output and in the input (the input gradient
 * is the same kernel run back).
 */
export function suitsSparseConvolution(g: WindowGeometry): boolean {
  return g.stride === 1 && g.kernelH === g.kernelW && g.padding < g.kernelW && windowOutput(g).outW >= 4 && g.width >= 4;
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
  const forwardWeights = splatted(values, f, lists.nonzeros);
  e.parallel("sparseConvForward", batch, 1, work, (n0, n1) => [
    xp.ptr,
    f.taps,
    forwardWeights.ptr,
    f.offsets,
    bias.ptr,
    out.ptr,
    outputs,
    batch,
    paddedH,
    paddedW,
    k,
    k,
    0,
    n0,
    n1,
  ]);
  forwardWeights.dispose();
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
      const b = lists.backward;
      const backwardWeights = splatted(values, b, lists.nonzeros);
      e.parallel("sparseConvForward", batch, 1, work, (n0, n1) => [
        dyp.ptr,
        b.taps,
        backwardWeights.ptr,
        b.offsets,
        0,
        buffer.ptr,
        g.channels,
        batch,
        outH + 2 * q,
        outW + 2 * q,
        k,
        k,
        overwrite ? 0 : 1,
        n0,
        n1,
      ]);
      backwardWeights.dispose();
      if (dyp !== dy) dyp.dispose();
    }
  });
  // without a backward pass to come, the padded copy has done its work
  if (xp !== x && !result.backwardFn) xp.dispose();
  return result;
}
