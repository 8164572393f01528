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
 * The gradient goes to each window's maximum (its first, in row-major order).
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
    const dx = x.gradBuffer().ptr;
    // split by planes: windows of one plane only ever reach that plane, so threads never share an entry
    e.parallel("maxPool2dBackward", planes, 1, out.size, (p0, p1) => [gradOut, argmax.ptr, dx, p0 * outPlane, p1 * outPlane]);
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
