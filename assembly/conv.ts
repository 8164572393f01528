// Image kernels for convolutional layers, on activations laid out channel-major:
// x[c][n][h][w] = x + 4·(((c·N + n)·H + h)·W + w), i.e. [channels, batch·height·width]. In that
// layout a convolution is one product W[O, C·kh·kw] · cols[C·kh·kw, N·Ho·Wo], its output is
// channel-major again, and the sparse kernels apply to it unchanged (rows of cols are "features").

import { copyFloats, zeroFloats } from "./floats";
import { gemmColumnsInto } from "./gemm";

/** The first output column ow ≥ 0 with ow·stride ≥ offset (offset = padding − j). */
// @ts-ignore: decorator
@inline
function firstInside(offset: i32, stride: i32): i32 {
  return offset <= 0 ? 0 : (offset + stride - 1) / stride;
}

/** One past the last output column with ow·stride ≤ limit (limit = width − 1 + padding − j); 0 when none. */
// @ts-ignore: decorator
@inline
function lastInside(limit: i32, stride: i32): i32 {
  return limit < 0 ? 0 : limit / stride + 1;
}

/**
 * cols[(c·kh + i)·kw + j][(n·Ho + oh)·Wo + ow] = x[c][n][oh·stride − padding + i][ow·stride − padding + j],
 * or 0 where that falls outside the image. Rows [row0, row1) of cols only (threads split the rows).
 * x: [C, N·H·W]; cols: [C·kh·kw, N·Ho·Wo].
 */
export function im2col(
  x: usize, cols: usize, channels: i32, batch: i32, height: i32, width: i32,
  kernelH: i32, kernelW: i32, stride: i32, padding: i32, outH: i32, outW: i32, row0: i32, row1: i32,
): void {
  const plane = height * width;
  const outPlane = outH * outW;
  const rowLength = <usize>(batch * outPlane);
  for (let r = row0; r < row1; r++) {
    const c = r / (kernelH * kernelW);
    const i = (r / kernelW) % kernelH;
    const j = r % kernelW;
    // the output columns whose input column ow·stride − padding + j is inside the image
    const owBegin = firstInside(padding - j, stride);
    const owEnd = min(outW, lastInside(width - 1 + padding - j, stride));
    let dst = cols + ((<usize>r * rowLength) << 2);
    for (let n = 0; n < batch; n++) {
      const image = x + (<usize>((c * batch + n) * plane) << 2);
      for (let oh = 0; oh < outH; oh++) {
        const ih = oh * stride - padding + i;
        if (ih < 0 || ih >= height || owEnd <= owBegin) {
          zeroFloats(dst, outW);
        } else {
          if (owBegin > 0) zeroFloats(dst, owBegin);
          const src = image + (<usize>(ih * width + owBegin * stride - padding + j) << 2);
          if (stride == 1) {
            copyFloats(dst + (<usize>owBegin << 2), src, owEnd - owBegin);
          } else {
            for (let ow = owBegin; ow < owEnd; ow++) store<f32>(dst + (<usize>ow << 2), load<f32>(src + (<usize>((ow - owBegin) * stride) << 2)));
          }
          if (owEnd < outW) zeroFloats(dst + (<usize>owEnd << 2), outW - owEnd);
        }
        dst += <usize>outW << 2;
      }
    }
  }
}

/** to[r][0..4V) += from[r][0..4V) for `rows` rows, V ≤ 4 vectors a row (a constant after inlining). */
// @ts-ignore: decorator
@inline
function addVectorRows(V: i32, from: usize, to: usize, rows: i32, fromRowBytes: usize, toRowBytes: usize): void {
  for (let r = 0; r < rows; r++) {
    v128.store(to, f32x4.add(v128.load(to), v128.load(from)));
    if (V > 1) v128.store(to, f32x4.add(v128.load(to, 16), v128.load(from, 16)), 16);
    if (V > 2) v128.store(to, f32x4.add(v128.load(to, 32), v128.load(from, 32)), 32);
    if (V > 3) v128.store(to, f32x4.add(v128.load(to, 48), v128.load(from, 48)), 48);
    from += fromRowBytes;
    to += toRowBytes;
  }
}

/**
 * col2im's additions of one tap (i, j) of channel c at stride 1, over the output rows whose input
 * row lies inside the image (found once, not tested per row): the same additions in the same order.
 */
// @ts-ignore: decorator
@inline
function col2imTapStride1(
  src: usize, dx: usize, c: i32, batch: i32, height: i32, width: i32, padding: i32, outH: i32, outW: i32, i: i32, j: i32,
  owBegin: i32, owEnd: i32, n0: i32, n1: i32,
): void {
  const ohBegin = firstInside(padding - i, 1);
  const ohEnd = min(outH, lastInside(height - 1 + padding - i, 1));
  if (ohEnd <= ohBegin) return;
  const count = owEnd - owBegin;
  const vectorBytes = <usize>(count & ~3) << 2, countBytes = <usize>count << 2;
  const outRowBytes = <usize>outW << 2, rowBytes = <usize>width << 2;
  const plane = <usize>(height * width), outPlane = <usize>(outH * outW);
  for (let n = n0; n < n1; n++) {
    let from = src + ((<usize>(n - n0) * outPlane + <usize>(ohBegin * outW + owBegin)) << 2);
    let to = dx + (((<usize>c * <usize>batch + n) * plane + <usize>((ohBegin - padding + i) * width + owBegin - padding + j)) << 2);
    // rows of one to four whole vectors (LeNet-5's second layer: two): no inner loops to set up per row
    if ((count & 3) == 0 && count <= 16) {
      const rows = ohEnd - ohBegin;
      if (count == 8) addVectorRows(2, from, to, rows, outRowBytes, rowBytes);
      else if (count == 4) addVectorRows(1, from, to, rows, outRowBytes, rowBytes);
      else if (count == 12) addVectorRows(3, from, to, rows, outRowBytes, rowBytes);
      else addVectorRows(4, from, to, rows, outRowBytes, rowBytes);
      continue;
    }
    for (let oh = ohBegin; oh < ohEnd; oh++) {
      let o: usize = 0;
      for (; o < vectorBytes; o += 16) v128.store(to + o, f32x4.add(v128.load(to + o), v128.load(from + o)));
      for (; o < countBytes; o += 4) store<f32>(to + o, load<f32>(to + o) + load<f32>(from + o));
      from += outRowBytes;
      to += rowBytes;
    }
  }
}

/**
 * The adjoint of im2col: dx[c][n][ih][iw] += Σ cols entries that im2col copied from there.
 * Channels [c0, c1) only (threads split the channels, so each writes its own planes of dx).
 * Sums over (i, j) in increasing order, the same for any split.
 */
export function col2im(
  cols: usize, dx: usize, channels: i32, batch: i32, height: i32, width: i32,
  kernelH: i32, kernelW: i32, stride: i32, padding: i32, outH: i32, outW: i32, c0: i32, c1: i32,
): void {
  col2imPart(cols, dx, batch, height, width, kernelH, kernelW, stride, padding, outH, outW, c0, c1, 0, batch);
}

/**
 * A convolution's input gradient, dx += col2im(Wᵀ · dy), for images [n0, n1) (threads split the
 * images, so each writes its own images of dx): chunks of `chunkImages` images at a time, whose
 * columns of Wᵀ · dy go to `chunk` and are folded back into dx while still in cache, instead of
 * all columns through memory and back. The same sums as the whole product and col2im, element by
 * element (neither splits a sum).
 * w: [O, C·kh·kw]; dy: [O, N·Ho·Wo]; dx: [C, N·H·W]; chunk: [C·kh·kw, chunkImages·Ho·Wo];
 * work: sgemm's workspace (sgemmWorkspaceBytes).
 */
export function convInputGradient(
  w: usize, dy: usize, dx: usize, chunk: usize, work: usize, channels: i32, batch: i32, height: i32, width: i32,
  kernelH: i32, kernelW: i32, stride: i32, padding: i32, outH: i32, outW: i32, outputs: i32, chunkImages: i32, n0: i32, n1: i32,
): void {
  const depth = channels * kernelH * kernelW;
  const outPlane = outH * outW;
  for (let a = n0; a < n1; a += chunkImages) {
    const b = min(n1, a + chunkImages);
    gemmColumnsInto(1, 0, depth, batch * outPlane, outputs, w, dy, chunk, (b - a) * outPlane, a * outPlane, 0, work, a * outPlane, b * outPlane);
    col2imPart(chunk, dx, batch, height, width, kernelH, kernelW, stride, padding, outH, outW, 0, channels, a, b);
  }
}

/** col2im for channels [c0, c1) and images [n0, n1), with cols holding those images' columns only. */
function col2imPart(
  cols: usize, dx: usize, batch: i32, height: i32, width: i32,
  kernelH: i32, kernelW: i32, stride: i32, padding: i32, outH: i32, outW: i32, c0: i32, c1: i32, n0: i32, n1: i32,
): void {
  const plane = height * width;
  const outPlane = outH * outW;
  const rowLength = <usize>((n1 - n0) * outPlane);
  for (let c = c0; c < c1; c++) {
    for (let i = 0; i < kernelH; i++) {
      for (let j = 0; j < kernelW; j++) {
        const r = (c * kernelH + i) * kernelW + j;
        const owBegin = firstInside(padding - j, stride);
        const owEnd = min(outW, lastInside(width - 1 + padding - j, stride));
        if (owEnd <= owBegin) continue;
        let src = cols + ((<usize>r * rowLength) << 2);
        if (stride == 1) {
          col2imTapStride1(src, dx, c, batch, height, width, padding, outH, outW, i, j, owBegin, owEnd, n0, n1);
          continue;
        }
        for (let n = n0; n < n1; n++) {
          const image = dx + (<usize>((c * batch + n) * plane) << 2);
          for (let oh = 0; oh < outH; oh++) {
            const ih = oh * stride - padding + i;
            if (ih >= 0 && ih < height) {
              const dst = image + (<usize>(ih * width + owBegin * stride - padding + j) << 2);
              const from = src + (<usize>owBegin << 2);
              const count = owEnd - owBegin;
              for (let k = 0; k < count; k++) {
                const d = dst + (<usize>(k * stride) << 2);
                store<f32>(d, load<f32>(d) + load<f32>(from + (<usize>k << 2)));
              }
            }
            src += <usize>outW << 2;
          }
        }
      }
    }
  }
}

/**
 * Max pooling over size×size windows moved by `stride`, for planes [p0, p1) of x ([planes, H·W],
 * planes = channels·batch): out[p][oh][ow] = the window's maximum, argmax[...] = its flat index in
 * x (the first maximum in row-major window order). Windows lie inside the image (no padding).
 */
export function maxPool2d(
  x: usize, out: usize, argmax: usize, height: i32, width: i32, size: i32, stride: i32, outH: i32, outW: i32, p0: i32, p1: i32,
): void {
  const plane = height * width;
  // a window's other three places, from its first
  const right = i32x4.splat(1), below = i32x4.splat(width), belowRight = i32x4.splat(width + 1);
  for (let p = p0; p < p1; p++) {
    const base = p * plane;
    let o = <usize>(p * outH * outW);
    for (let oh = 0; oh < outH; oh++) {
      let ow = 0;
      // 2×2 windows at stride 2, four at a time: the case of every pooling layer in the paper's nets
      if (size == 2 && stride == 2) {
        for (; ow + 4 <= outW; ow += 4) {
          pool2x2Vector(x, out + (o << 2), argmax + (o << 2), base + 2 * oh * width + 2 * ow, right, below, belowRight);
          o += 4;
        }
      }
      for (; ow < outW; ow++) {
        let best = base + oh * stride * width + ow * stride;
        let bestValue = load<f32>(x + (<usize>best << 2));
        for (let i = 0; i < size; i++) {
          const row = base + (oh * stride + i) * width + ow * stride;
          for (let j = 0; j < size; j++) {
            const v = load<f32>(x + (<usize>(row + j) << 2));
            // selects, not branches (activations after ReLU tie often); a NaN takes over and stays, as in PyTorch
            const take = (v > bestValue) | ((v != v) & (bestValue == bestValue));
            best = select<i32>(row + j, best, take);
            bestValue = select<f32>(v, bestValue, take);
          }
        }
        store<f32>(out + (o << 2), bestValue);
        store<i32>(argmax + (o << 2), best);
        o++;
      }
    }
  }
}

// Lanes where candidate v replaces the best so far: greater, or a NaN over a number. As one
// test: "not v ≤ best" (true for v > best and for any NaN), except where best is a NaN already.
// @ts-ignore: decorator
@inline
function firstMaxTakes(v: v128, best: v128): v128 {
  return v128.andnot(f32x4.eq(best, best), f32x4.le(v, best));
}

// Four adjacent 2×2 windows whose top-left input is element `first`: the same maximum and first
// argmax (row-major window order, NaN kept) as the scalar loop, from eight floats of each row.
// The winner's place in its window (0, 1, width or width + 1) is selected as a constant and
// added to the windows' first indices once.
// @ts-ignore: decorator
@inline
function pool2x2Vector(x: usize, out: usize, argmax: usize, first: i32, right: v128, below: v128, belowRight: v128): void {
  const top = x + (<usize>first << 2), bottom = top + (<usize>(i32x4.extract_lane(below, 0)) << 2);
  const t0 = v128.load(top), t1 = v128.load(top, 16), b0 = v128.load(bottom), b1 = v128.load(bottom, 16);
  let best = v128.shuffle<f32>(t0, t1, 0, 2, 4, 6);
  let at = i32x4.splat(0);
  let v = v128.shuffle<f32>(t0, t1, 1, 3, 5, 7);
  let take = firstMaxTakes(v, best);
  best = v128.bitselect(v, best, take);
  at = v128.and(right, take);
  v = v128.shuffle<f32>(b0, b1, 0, 2, 4, 6);
  take = firstMaxTakes(v, best);
  best = v128.bitselect(v, best, take);
  at = v128.bitselect(below, at, take);
  v = v128.shuffle<f32>(b0, b1, 1, 3, 5, 7);
  take = firstMaxTakes(v, best);
  best = v128.bitselect(v, best, take);
  at = v128.bitselect(belowRight, at, take);
  v128.store(out, best);
  v128.store(argmax, i32x4.add(at, i32x4.add(i32x4.splat(first), i32x4(0, 2, 4, 6))));
}

/** dx[argmax[k]] += dy[k] for k in [k0, k1): the gradient reaches each window's maximum. */
export function maxPool2dBackward(dy: usize, argmax: usize, dx: usize, k0: i32, k1: i32): void {
  for (let k = k0; k < k1; k++) {
    const at = dx + (<usize>load<i32>(argmax + (<usize>k << 2)) << 2);
    store<f32>(at, load<f32>(at) + load<f32>(dy + (<usize>k << 2)));
  }
}

/**
 * maxPool2dBackward for 2×2 windows at stride 2 that tile the planes exactly (H = 2·Ho, W = 2·Wo),
 * into a gradient that nothing has reached yet: every entry of dx is written, dy at its window's
 * argmax and 0 elsewhere, so no pass has to clear dx first. The values are those of clearing and
 * adding (dy + 0, so a −0 becomes +0 as it would there). Planes [p0, p1).
 */
export function maxPool2x2BackwardTiled(dy: usize, argmax: usize, dx: usize, outH: i32, outW: i32, p0: i32, p1: i32): void {
  const width = 2 * outW;
  const zero = f32x4.splat(0);
  const offsets = i32x4(0, 2, 4, 6);
  for (let p = p0; p < p1; p++) {
    let k = <usize>(p * outH * outW);
    for (let oh = 0; oh < outH; oh++) {
      const first = p * 4 * outH * outW + 2 * oh * width;
      const top = dx + (<usize>first << 2), bottom = top + (<usize>width << 2);
      let ow = 0;
      for (; ow + 4 <= outW; ow += 4, k += 4) {
        const g = f32x4.add(v128.load(dy + (k << 2)), zero);
        const d = i32x4.sub(v128.load(argmax + (k << 2)), i32x4.add(i32x4.splat(first + 2 * ow), offsets));
        const tl = v128.and(g, i32x4.eq(d, i32x4.splat(0)));
        const tr = v128.and(g, i32x4.eq(d, i32x4.splat(1)));
        const bl = v128.and(g, i32x4.eq(d, i32x4.splat(width)));
        const br = v128.and(g, i32x4.eq(d, i32x4.splat(width + 1)));
        const at = <usize>(2 * ow) << 2;
        v128.store(top + at, v128.shuffle<f32>(tl, tr, 0, 4, 1, 5));
        v128.store(top + at, v128.shuffle<f32>(tl, tr, 2, 6, 3, 7), 16);
        v128.store(bottom + at, v128.shuffle<f32>(bl, br, 0, 4, 1, 5));
        v128.store(bottom + at, v128.shuffle<f32>(bl, br, 2, 6, 3, 7), 16);
      }
      for (; ow < outW; ow++, k++) {
        const g = load<f32>(dy + (k << 2)) + 0;
        const d = load<i32>(argmax + (k << 2)) - (first + 2 * ow);
        const at = <usize>(2 * ow) << 2;
        store<f32>(top + at, d == 0 ? g : 0);
        store<f32>(top + at + 4, d == 1 ? g : 0);
        store<f32>(bottom + at, d == width ? g : 0);
        store<f32>(bottom + at + 4, d == width + 1 ? g : 0);
      }
    }
  }
}

// Columns of a plane transposed per strip: few enough rows of out being written to stay in L1.
const TRANSPOSE_STRIP: i32 = 64;

/**
 * out[p][c][r] (+)= x[p][r][c] for each of `planes` planes of rows × cols: a channel-major image
 * [C, N·HW] becomes feature-major [C·HW, N] with rows = N, cols = HW (flatten), and back.
 * Blocks of 4×4 go through registers (shuffles); the edges that no whole block covers, one by one.
 */
export function transposePlanes(x: usize, out: usize, planes: i32, rows: i32, cols: i32, accumulate: i32): void {
  const size = rows * cols;
  const rows4 = rows & ~3,
    cols4 = cols & ~3;
  const srcRow = <usize>cols << 2,
    dstRow = <usize>rows << 2;
  for (let p = 0; p < planes; p++) {
    const src = x + (<usize>(p * size) << 2);
    const dst = out + (<usize>(p * size) << 2);
    for (let c0 = 0; c0 < cols4; c0 += TRANSPOSE_STRIP) {
      const c1 = min(cols4, c0 + TRANSPOSE_STRIP);
      for (let r = 0; r < rows4; r += 4) {
        for (let c = c0; c < c1; c += 4) {
          const s = src + <usize>r * srcRow + (<usize>c << 2);
          const d = dst + <usize>c * dstRow + (<usize>r << 2);
          transposeBlock(v128.load(s), v128.load(s + srcRow), v128.load(s + 2 * srcRow), v128.load(s + 3 * srcRow), d, dstRow, accumulate);
        }
      }
    }
    for (let r = 0; r < rows; r++) {
      for (let c = r < rows4 ? cols4 : 0; c < cols; c++) {
        const d = dst + (<usize>(c * rows + r) << 2);
        const v = load<f32>(src + (<usize>(r * cols + c) << 2));
        store<f32>(d, accumulate ? load<f32>(d) + v : v);
      }
    }
  }
}

// Rows r0..r3 of a 4×4 block, stored (or added) as its four columns, dstRow bytes apart.
// @ts-ignore: decorator
@inline
function transposeBlock(r0: v128, r1: v128, r2: v128, r3: v128, d: usize, dstRow: usize, accumulate: i32): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  let c0 = v128.shuffle<f32>(t0, t2, 0, 1, 4, 5);
  let c1 = v128.shuffle<f32>(t0, t2, 2, 3, 6, 7);
  let c2 = v128.shuffle<f32>(t1, t3, 0, 1, 4, 5);
  let c3 = v128.shuffle<f32>(t1, t3, 2, 3, 6, 7);
  const d1 = d + dstRow,
    d2 = d1 + dstRow,
    d3 = d2 + dstRow;
  if (accumulate) {
    c0 = f32x4.add(v128.load(d), c0);
    c1 = f32x4.add(v128.load(d1), c1);
    c2 = f32x4.add(v128.load(d2), c2);
    c3 = f32x4.add(v128.load(d3), c3);
  }
  v128.store(d, c0);
  v128.store(d1, c1);
  v128.store(d2, c2);
  v128.store(d3, c3);
}
