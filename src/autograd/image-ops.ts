// Differentiable ops on images laid out channel-major, [channels, batch·height·width] (see
// assembly/conv.ts): im2col (whose product with a weight matrix is a convolution), max pooling,
// and flattening to feature-major vectors. Each op's forward kernel and backward closure sit
// side by side, and gradients accumulate into `.grad`, as in ops.ts.
import { engine } from "../engine/engine.js";
import { fromOp, Tensor } from "./tensor.js";

/** Where a kernel window goes over an image: sizes, stride and zero padding (square kernels may differ in height and width). */
export interface WindowGeometry {
  channels: number;
  height: number;
  width: number;
  kernelH: number;
  kernelW: number;
  stride: number;
  padding: number;
}

/** Output height and width of a window geometry (floor division, as PyTorch does). */
export function windowOutput(g: WindowGeometry): { outH: number; outW: number } {
  return {
    outH: Math.floor((g.height + 2 * g.padding - g.kernelH) / g.stride) + 1,
    outW: Math.floor((g.width + 2 * g.padding - g.kernelW) / g.stride) + 1,
  };
}

function expectImage(op: string, x: Tensor, channels: number, batch: number, height: number, width: number): void {
  if (x.shape.length !== 2 || x.shape[0] !== channels || x.shape[1] !== batch * height * width) {
    throw new Error(
      `${op}: expected a channel-major image batch [${channels}, ${batch}·${height}·${width} = ${batch * height * width}], got [${x.shape.join(", ")}]`,
    );
  }
}

/**
 * The columns of a convolution: x [C, N·H·W] → cols [C·kh·kw, N·Ho·Wo], so that W [O, C·kh·kw] ·
 * cols is the convolution's output [O, N·Ho·Wo]. Backward is col2im (the adjoint), accumulated.
 */
export function im2col(x: Tensor, batch: number, g: WindowGeometry): Tensor {
  expectImage("im2col", x, g.channels, batch, g.height, g.width);
  const { outH, outW } = windowOutput(g);
  if (outH < 1 || outW < 1) throw new Error(`im2col: a ${g.kernelH}×${g.kernelW} window does not fit a ${g.height}×${g.width} image with padding ${g.padding}`);
  const e = engine();
  const rows = g.channels * g.kernelH * g.kernelW;
  const out = new Tensor([rows, batch * outH * outW], false, "im2col");
  const geometry = [g.channels, batch, g.height, g.width, g.kernelH, g.kernelW, g.stride, g.padding, outH, outW];
  e.parallel("im2col", rows, 1, out.size, (r0, r1) => [x.ptr, out.ptr, ...geometry, r0, r1]);
  return fromOp(out, [x], () => {
    const gradOut = out.gradBuffer().ptr;
    const dx = x.gradBuffer().ptr;
    e.parallel("col2im", g.channels, 1, out.size, (c0, c1) => [gradOut, dx, ...geometry, c0, c1]);
  });
}

/**
 * Max pooling over size×size windows (stride defaults to size): x [C, N·H·W] → [C, N·Ho·Wo].
 * The gradient goes to each window's maximum (its first, in row-major order); 2×2 windows that
 * tile the image write every entry of a fresh gradient, which then needs no clearing.
 */
export function maxPool2d(x: Tensor, channels: number, batch: number, height: number, width: number, size: number, stride = size): Tensor {
  expectImage("maxPool2d", x, channels, batch, height, width);
  const { outH, outW } = windowOutput({ channels, height, width, kernelH: size, kernelW: size, stride, padding: 0 });
  if (outH < 1 || outW < 1) throw new Error(`maxPool2d: a ${size}×${size} window does not fit a ${height}×${width} image`);
  const e = engine();
  const planes = channels * batch;
  const outPlane = outH * outW;
  const out = new Tensor([channels, batch * outPlane], false, "maxPool2d");
  const argmax = new Tensor([out.size], false, "maxPool2d argmax"); // int32 bits, freed with the step
  e.parallel("maxPool2d", planes, 1, x.size, (p0, p1) => [x.ptr, out.ptr, argmax.ptr, height, width, size, stride, outH, outW, p0, p1]);
  return fromOp(out, [x], () => {
    const gradOut = out.gradBuffer().ptr;
    const { buffer, overwrite } = x.gradTarget();
    // split by planes: windows of one plane only ever reach that plane, so threads never share an entry
    if (overwrite && size === 2 && stride === 2 && height === 2 * outH && width === 2 * outW) {
      e.parallel("maxPool2x2BackwardTiled", planes, 1, x.size, (p0, p1) => [gradOut, argmax.ptr, buffer.ptr, outH, outW, p0, p1]);
      return;
    }
    if (overwrite) buffer.fill(0);
    e.parallel("maxPool2dBackward", planes, 1, out.size, (p0, p1) => [gradOut, argmax.ptr, buffer.ptr, p0 * outPlane, p1 * outPlane]);
  });
}

/**
 * Flattens a channel-major image batch [C, N·P] (P = height·width) to feature-major vectors
 * [C·P, N], feature c·P + p as PyTorch's flatten numbers them.
 */
export function channelsToFeatures(x: Tensor, batch: number): Tensor {
  if (x.shape.length !== 2 || x.shape[1] % batch !== 0) throw new Error(`channelsToFeatures: [${x.shape.join(", ")}] is not a channel-major batch of ${batch}`);
  const channels = x.shape[0];
  const plane = x.shape[1] / batch;
  const e = engine();
  const out = new Tensor([channels * plane, batch], false, "flatten");
  e.kernels.transposePlanes(x.ptr, out.ptr, channels, batch, plane, 0);
  return fromOp(out, [x], () => {
    const { buffer, overwrite } = x.gradTarget();
    e.kernels.transposePlanes(out.gradBuffer().ptr, buffer.ptr, channels, plane, batch, overwrite ? 0 : 1);
  });
}

/**
 * Up to this many weights per output channel (C·kh·kw), a convolution runs direct; deeper kernels
 * go through im2col and the packed GEMM, whose columns then cost little next to the arithmetic
 * and serve both passes. Measured by `npm run bench -- conv`.
 */
export const DIRECT_CONVOLUTION_DEPTH = 256;

/**
 * Deeper kernels run direct too when the output rows are at least this wide: Conv-2's second
 * layer (576 deep, rows of 28) trained 3% faster direct, while Conv-4's 14-wide layers of the
 * same depth trained slower direct than through im2col.
 */
export const DIRECT_DEEP_MIN_WIDTH = 24;

/**
 * Whether a direct kernel (dense or compact) can run a geometry at all: stride 1, a square kernel,
 * padding below the kernel and output rows of at least one vector.
 */
export function directKernelsFit(g: WindowGeometry): boolean {
  return g.stride === 1 && g.kernelH === g.kernelW && g.padding < g.kernelW && windowOutput(g).outW >= 4;
}

/**
 * Whether conv2d (the direct kernels) suits a geometry: one they fit (directKernelsFit) with a
 * shallow kernel (DIRECT_CONVOLUTION_DEPTH) or wide rows (DIRECT_DEEP_MIN_WIDTH).
 */
export function suitsDirectConvolution(g: WindowGeometry): boolean {
  return directKernelsFit(g) && (g.channels * g.kernelH * g.kernelW <= DIRECT_CONVOLUTION_DEPTH || windowOutput(g).outW >= DIRECT_DEEP_MIN_WIDTH);
}

/**
 * Up to this many input channels, a 'same' convolution's input gradient is summed directly
 * (assembly/direct-input-gradient.ts); with more, Wᵀ · dy has rows enough (C·kh·kw) for the
 * packed GEMM: at two channels the two tied, at three the GEMM was faster. Measured by
 * `npm run bench -- conv` (Conv-2's first layer on 28×28×1).
 */
export const DIRECT_INPUT_GRADIENT_CHANNELS = 1;

/**
 * Whether the direct input gradient takes a geometry: stride 1, a square odd kernel of at most 7
 * with 'same' padding, rows of 8 to 28 floats in whole vectors (one row in registers), and few
 * input channels (DIRECT_INPUT_GRADIENT_CHANNELS).
 */
export function suitsDirectInputGradient(g: WindowGeometry): boolean {
  const k = g.kernelW;
  return (
    g.stride === 1 &&
    g.kernelH === k &&
    k % 2 === 1 &&
    k <= 7 &&
    2 * g.padding === k - 1 &&
    g.width % 4 === 0 &&
    g.width >= 8 &&
    g.width <= 28 &&
    g.channels <= DIRECT_INPUT_GRADIENT_CHANNELS
  );
}

/**
 * Floats of the input gradient's columns (Wᵀ · dy) computed at a time, in whole images: small
 * enough to stay in cache until col2im folds them back.
 */
const INPUT_GRADIENT_CHUNK_FLOATS = 1 << 16;

/**
 * dx += col2im(Wᵀ · dy) for a convolution (w [O, C·kh·kw], dy [O, N·Ho·Wo], dx [C, N·H·W]): threads
 * split the images, and each folds back INPUT_GRADIENT_CHUNK_FLOATS of columns at a time; or the
 * same sums in another order, directly, for the geometries that suit it (suitsDirectInputGradient).
 */
export function convolutionInputGradient(w: number, dy: number, dx: number, batch: number, outputs: number, g: WindowGeometry): void {
  const e = engine();
  const { outH, outW } = windowOutput(g);
  const depth = g.channels * g.kernelH * g.kernelW;
  if (suitsDirectInputGradient(g)) {
    const k = g.kernelW;
    const bytes = 16 * outputs * depth;
    const flipped = e.allocator.alloc(bytes);
    try {
      e.kernels.splatFlippedWeights(w, flipped, outputs, g.channels, k);
      const args = [g.channels, batch, g.height, g.width, outputs, k, 1];
      e.parallel("convInputGradientSame", batch, 1, 2 * outputs * depth * batch * outH * outW, (n0, n1) => [flipped, dy, dx, ...args, n0, n1]);
    } finally {
      e.allocator.release(flipped, bytes);
    }
    return;
  }
  const chunkImages = Math.max(1, Math.floor(INPUT_GRADIENT_CHUNK_FLOATS / (depth * outH * outW)));
  const chunkFloats = depth * chunkImages * outH * outW;
  const chunks = e.allocator.alloc(4 * e.threads * chunkFloats);
  const geometry = [g.channels, batch, g.height, g.width, g.kernelH, g.kernelW, g.stride, g.padding, outH, outW];
  try {
    e.parallel("convInputGradient", batch, 1, 2 * outputs * depth * batch * outH * outW, (n0, n1, part) => [
      w,
      dy,
      dx,
      chunks + 4 * part * chunkFloats,
      e.gemmWorkspace(part),
      ...geometry,
      outputs,
      chunkImages,
      n0,
      n1,
    ]);
  } finally {
    e.allocator.release(chunks, 4 * e.threads * chunkFloats);
  }
}

/** x zero-padded by `pad` on every side of every plane: [C, N·H·W] → [C, N·(H+2p)·(W+2p)] (x itself when pad is 0). */
export function padded(x: Tensor, planes: number, height: number, width: number, pad: number): Tensor {
  if (pad === 0) return x;
  const out = new Tensor([planes, (height + 2 * pad) * (width + 2 * pad)], false, "padded");
  engine().parallel("padPlanes", planes, 1, out.size, (p0, p1) => [x.ptr, out.ptr, height, width, pad, p0, p1]);
  return out;
}

/**
 * A stride-1 convolution: x [C, N·H·W], w [O, C·kh·kw], b [O] → y [O, N·Ho·Wo], the same sums as
 * W · im2col(x) + b in another order, for geometries that suit it (suitsDirectConvolution).
 * Forward and weight gradient are direct (assembly/direct-conv.ts), the bias gradient is summed
 * per channel, and the input gradient is Wᵀ · dy folded back by col2im a few images at a time; each accumulates.
 */
export function conv2d(x: Tensor, w: Tensor, b: Tensor, batch: number, g: WindowGeometry): Tensor {
  expectImage("conv2d", x, g.channels, batch, g.height, g.width);
  if (!suitsDirectConvolution(g)) {
    throw new Error(`conv2d: stride ${g.stride}, padding ${g.padding} and a ${g.kernelH}×${g.kernelW}×${g.channels} kernel are for im2col and a product`);
  }
  const outputs = w.shape[0];
  const depth = g.channels * g.kernelH * g.kernelW;
  if (w.shape.length !== 2 || w.shape[1] !== depth || b.size !== outputs) {
    throw new Error(
      `conv2d: weight [${w.shape.join(", ")}] and bias [${b.shape.join(", ")}] do not fit ${g.channels} channels and a ${g.kernelH}×${g.kernelW} kernel`,
    );
  }
  const e = engine();
  const { outH, outW } = windowOutput(g);
  const paddedH = g.height + 2 * g.padding,
    paddedW = g.width + 2 * g.padding;
  const xp = padded(x, g.channels * batch, g.height, g.width, g.padding);
  const splatted = new Tensor([4 * w.size], false, "splatted weights");
  e.kernels.splatForwardWeights(w.ptr, splatted.ptr, outputs, depth);
  const out = new Tensor([outputs, batch * outH * outW], false, "conv2d");
  const columns = out.shape[1];
  const flops = 2 * out.size * depth;
  // the kernels' shape arguments: input channels, batch, padded size, output channels, kernel
  const shape = [g.channels, batch, paddedH, paddedW, outputs, g.kernelH, g.kernelW];
  e.parallel("convForward", batch, 1, flops, (n0, n1) => [xp.ptr, splatted.ptr, b.ptr, out.ptr, ...shape, n0, n1]);
  splatted.dispose();
  const result = fromOp(out, [x, w, b], () => {
    const dy = out.gradBuffer().ptr;
    if (w.requiresGrad) {
      const { buffer, overwrite } = w.gradTarget();
      const tasks = Math.ceil(outputs / e.kernels.convWeightGradOutputsPerTask(outputs, g.kernelH * g.kernelW)) * g.channels;
      e.parallel("convWeightGrad", tasks, 1, flops, (t0, t1) => [dy, xp.ptr, buffer.ptr, ...shape, overwrite ? 0 : 1, t0, t1]);
    }
    if (b.requiresGrad) {
      const { buffer, overwrite } = b.gradTarget();
      e.kernels.sumEachRow(dy, buffer.ptr, outputs, columns, overwrite ? 0 : 1);
    }
    if (x.requiresGrad) convolutionInputGradient(w.ptr, dy, x.gradBuffer().ptr, batch, outputs, g);
  });
  // without a backward pass to come, the padded copy has done its work
  if (xp !== x && !result.backwardFn) xp.dispose();
  return result;
}
