// Direct convolution at stride 1 on channel-major images, [channels, batch·height·width] (see
// conv.ts). Each block of output rows is summed in registers straight from the input rows it
// covers, so nothing the size of im2col's columns is written or read: for layers with few input
// channels those columns cost more memory traffic than the products do arithmetic. Inputs are
// zero-padded beforehand (padPlanes), so no load ever leaves an image row, and every output's sum
// runs in one fixed order whatever the thread split.
import { copyFloats, zeroFloats } from "./floats";
import { madd } from "./madd";

/**
 * xp[p][(h + pad)·(W + 2·pad) + w + pad] = x[p][h·W + w], and 0 in the border; planes [plane0, plane1).
 * x: [planes, H·W]; xp: [planes, (H + 2·pad)·(W + 2·pad)].
 */
export function padPlanes(x: usize, xp: usize, height: i32, width: i32, pad: i32, plane0: i32, plane1: i32): void {
  const paddedWidth = width + 2 * pad;
  const paddedPlane = <usize>((height + 2 * pad) * paddedWidth);
  const borderRows = pad * paddedWidth;
  for (let p = plane0; p < plane1; p++) {
    const dst = xp + ((<usize>p * paddedPlane) << 2);
    // each byte written once: the top and bottom border rows, then every row with its side borders
    zeroFloats(dst, borderRows);
    zeroFloats(dst + ((paddedPlane - <usize>borderRows) << 2), borderRows);
    const src = x + ((<usize>p * <usize>(height * width)) << 2);
    for (let h = 0; h < height; h++) {
      const from = src + (<usize>(h * width) << 2);
      const row = dst + (<usize>((h + pad) * paddedWidth) << 2);
      const to = row + (<usize>pad << 2);
      for (let k = 0; k < pad; k++) {
        store<f32>(row + (<usize>k << 2), 0);
        store<f32>(to + (<usize>(width + k) << 2), 0);
      }
      copyFloats(to, from, width);
    }
  }
}

/** Each weight as a v128 of four copies, so the inner loops load it ready to multiply. w: [n]; out: [n] v128. */
export function splatWeights(w: usize, out: usize, count: i32): void {
  for (let k = 0; k < count; k++) v128.store(out + (<usize>k << 4), v128.load32_splat(w + (<usize>k << 2)));
}

/** How many output channels convForward sums together from output `outputs − left` on: 4, then 2, then 1. */
// @ts-ignore: decorator
@inline
function forwardGroup(left: i32): i32 {
  return left >= 4 ? 4 : left >= 2 ? 2 : 1;
}

/**
 * The weights as convForward reads them: each weight as a v128 of four copies, output channels
 * in the groups convForward sums together (forwardGroup) and, within a group, each tap's weights
 * side by side, so a block loads a tap's weights at fixed offsets from one pointer.
 * w: [O, depth]; out: [O·depth] v128, group g from output o at o·depth, tap t's weights at (t·g + k).
 */
export function splatForwardWeights(w: usize, out: usize, outputs: i32, depth: i32): void {
  for (let o = 0; o < outputs; ) {
    const g = forwardGroup(outputs - o);
    const group = out + ((<usize>o * <usize>depth) << 4);
    for (let k = 0; k < g; k++) {
      const from = w + ((<usize>(o + k) * <usize>depth) << 2);
      for (let t = 0; t < depth; t++) v128.store(group + (<usize>(t * g + k) << 4), v128.load32_splat(from + (<usize>t << 2)));
    }
    o += g;
  }
}

/**
 * One block of OB output channels × VW vectors of one output row: registers a[o][v] start from
 * the bias (or zero), take every tap (c, i, j) in that order, and are stored. OB ≤ 4 and VW ≤ 4
 * with OB·VW ≤ 8: eight accumulators hide the FMA latency and, with the inputs and a weight, fit
 * the vector registers (twelve spill). OB and VW are constants after inlining.
 */
// @ts-ignore: decorator
@inline
function forwardBlock(
  OB: i32, VW: i32, out: usize, outChannelBytes: usize, inRow: usize, inChannelBytes: usize, weights: usize,
  channels: i32, kh: i32, kw: i32, rowBytes: usize, bias: usize, in1: usize = 16, out1: usize = 16,
): void {
  let i0 = f32x4.splat(0), i1 = i0, i2 = i0, i3 = i0;
  if (bias) {
    i0 = v128.load32_splat(bias);
    if (OB > 1) i1 = v128.load32_splat(bias + 4);
    if (OB > 2) i2 = v128.load32_splat(bias + 8);
    if (OB > 3) i3 = v128.load32_splat(bias + 12);
  }
  const o1 = out + outChannelBytes, o2 = o1 + outChannelBytes, o3 = o2 + outChannelBytes;
  let a00 = i0, a01 = i0, a02 = i0, a03 = i0;
  let a10 = i1, a11 = i1, a12 = i1, a13 = i1;
  let a20 = i2, a21 = i2, a30 = i3, a31 = i3;
  let wt = weights;
  let channelRow = inRow;
  for (let c = 0; c < channels; c++) {
    let row = channelRow;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const at = row + (<usize>j << 2);
        const x0 = v128.load(at);
        const x1 = VW > 1 ? v128.load(at + in1) : x0;
        const x2 = VW > 2 ? v128.load(at, 32) : x0;
        const x3 = VW > 3 ? v128.load(at, 48) : x0;
        const k0 = v128.load(wt);
        a00 = madd(k0, x0, a00);
        if (VW > 1) a01 = madd(k0, x1, a01);
        if (VW > 2) a02 = madd(k0, x2, a02);
        if (VW > 3) a03 = madd(k0, x3, a03);
        if (OB > 1) {
          const k1 = v128.load(wt, 16);
          a10 = madd(k1, x0, a10);
          if (VW > 1) a11 = madd(k1, x1, a11);
          if (VW > 2) a12 = madd(k1, x2, a12);
          if (VW > 3) a13 = madd(k1, x3, a13);
        }
        if (OB > 2) {
          const k2 = v128.load(wt, 32);
          a20 = madd(k2, x0, a20);
          if (VW > 1) a21 = madd(k2, x1, a21);
        }
        if (OB > 3) {
          const k3 = v128.load(wt, 48);
          a30 = madd(k3, x0, a30);
          if (VW > 1) a31 = madd(k3, x1, a31);
        }
        wt += <usize>OB << 4;
      }
      row += rowBytes;
    }
    channelRow += inChannelBytes;
  }
  v128.store(out, a00);
  if (VW > 1) v128.store(out + out1, a01);
  if (VW > 2) v128.store(out, a02, 32);
  if (VW > 3) v128.store(out, a03, 48);
  if (OB > 1) {
    v128.store(o1, a10);
    if (VW > 1) v128.store(o1 + out1, a11);
    if (VW > 2) v128.store(o1, a12, 32);
    if (VW > 3) v128.store(o1, a13, 48);
  }
  if (OB > 2) {
    v128.store(o2, a20);
    if (VW > 1) v128.store(o2 + out1, a21);
  }
  if (OB > 3) {
    v128.store(o3, a30);
    if (VW > 1) v128.store(o3 + out1, a31);
  }
}

/**
 * One output row of OB channels, left to right in blocks of VW = min(4, 8 / OB) vectors, then a
 * shorter block; a last partial vector is recomputed over the row's final four columns (those
 * columns get the same sums again, so the overlap is harmless and no store leaves the row).
 */
// @ts-ignore: decorator
@inline
function forwardRow(
  OB: i32, out: usize, outChannelBytes: usize, inRow: usize, inChannelBytes: usize, weights: usize,
  channels: i32, kh: i32, kw: i32, rowBytes: usize, outW: i32, bias: usize, leaveSingle: bool = false,
): void {
  const VW = OB == 1 ? 4 : 8 / OB;
  const vectors = outW >> 2;
  const blocks = vectors / VW;
  let s = 0;
  for (let b = 0; b < blocks; b++, s += 4 * VW) {
    const d = <usize>s << 2;
    forwardBlock(OB, VW, out + d, outChannelBytes, inRow + d, inChannelBytes, weights, channels, kh, kw, rowBytes, bias);
  }
  const rest = vectors - (s >> 2);
  const d = <usize>s << 2;
  if (rest == 3) forwardBlock(OB, 3, out + d, outChannelBytes, inRow + d, inChannelBytes, weights, channels, kh, kw, rowBytes, bias);
  else if (rest == 2) forwardBlock(OB, 2, out + d, outChannelBytes, inRow + d, inChannelBytes, weights, channels, kh, kw, rowBytes, bias);
  else if (rest == 1 && !leaveSingle) forwardBlock(OB, 1, out + d, outChannelBytes, inRow + d, inChannelBytes, weights, channels, kh, kw, rowBytes, bias);
  if (outW & 3) {
    const t = <usize>(outW - 4) << 2;
    forwardBlock(OB, 1, out + t, outChannelBytes, inRow + t, inChannelBytes, weights, channels, kh, kw, rowBytes, bias);
  }
}

/**
 * y[o][n][oy][ox] = bias[o] + Σ_c Σ_i Σ_j w[o][c][i][j] · xp[c][n][oy + i][ox + j] for images
 * [n0, n1) (threads split the batch); bias 0 means none.
 * xp: [C, N·Hp·Wp] (padded); weights: [O·C·kh·kw] v128 from splatForwardWeights; bias: [O] or 0;
 * y: [O, N·Ho·Wo] with Ho = Hp − kh + 1 and Wo = Wp − kw + 1 ≥ 4.
 */
export function convForward(
  xp: usize, weights: usize, bias: usize, y: usize, channels: i32, batch: i32, paddedH: i32, paddedW: i32,
  outputs: i32, kh: i32, kw: i32, n0: i32, n1: i32,
): void {
  const outH = paddedH - kh + 1;
  const outW = paddedW - kw + 1;
  const inPlane = <usize>(paddedH * paddedW);
  const outPlane = <usize>(outH * outW);
  const inChannelBytes = (<usize>batch * inPlane) << 2;
  const outChannelBytes = (<usize>batch * outPlane) << 2;
  const weightsPerOutputBytes = <usize>(channels * kh * kw) << 4;
  const rowBytes = <usize>paddedW << 2;
  // one input channel (an image's first layer): the channel loop folds away, freeing registers
  if (channels == 1) forwardImages(1, xp, weights, bias, y, batch, paddedW, outputs, kh, kw, outH, outW, inPlane, outPlane, inChannelBytes, outChannelBytes, weightsPerOutputBytes, rowBytes, n0, n1);
  else forwardImages(channels, xp, weights, bias, y, batch, paddedW, outputs, kh, kw, outH, outW, inPlane, outPlane, inChannelBytes, outChannelBytes, weightsPerOutputBytes, rowBytes, n0, n1);
}

/** convForward's loops over images, output channels and rows; `channels` is a constant after inlining where it can be. */
// @ts-ignore: decorator
@inline
function forwardImages(
  channels: i32, xp: usize, weights: usize, bias: usize, y: usize, batch: i32, paddedW: i32, outputs: i32, kh: i32, kw: i32,
  outH: i32, outW: i32, inPlane: usize, outPlane: usize, inChannelBytes: usize, outChannelBytes: usize, weightsPerOutputBytes: usize,
  rowBytes: usize, n0: i32, n1: i32,
): void {
  // with four channels a block is two vectors: an odd count of whole vectors leaves one per row
  const pairSingles = ((outW >> 2) & 1) == 1;
  for (let n = n0; n < n1; n++) {
    for (let o = 0; o < outputs; ) {
      const left = outputs - o;
      const ob = forwardGroup(left);
      const w = weights + <usize>o * weightsPerOutputBytes;
      const b = bias ? bias + (<usize>o << 2) : 0;
      for (let oy = 0; oy < outH; oy++) {
        const out = y + (((<usize>o * <usize>batch + n) * outPlane + <usize>(oy * outW)) << 2);
        const inRow = xp + ((<usize>n * inPlane + <usize>(oy * paddedW)) << 2);
        if (ob == 4 && pairSingles && oy + 1 < outH) {
          // two rows that each end in one whole vector past their blocks: those two vectors form one
          // block of eight accumulators (alone, four would wait on the FMA latency)
          forwardRow(4, out, outChannelBytes, inRow, inChannelBytes, w, channels, kh, kw, rowBytes, outW, b, true);
          const nextOut = out + (<usize>outW << 2);
          forwardRow(4, nextOut, outChannelBytes, inRow + rowBytes, inChannelBytes, w, channels, kh, kw, rowBytes, outW, b, true);
          const last = <usize>(outW & ~7) << 2; // the single vector's column: after the blocks of two
          forwardBlock(4, 2, out + last, outChannelBytes, inRow + last, inChannelBytes, w, channels, kh, kw, rowBytes, b, rowBytes, <usize>outW << 2);
          oy++;
          continue;
        }
        if (ob == 4) forwardRow(4, out, outChannelBytes, inRow, inChannelBytes, w, channels, kh, kw, rowBytes, outW, b);
        else if (ob == 2) forwardRow(2, out, outChannelBytes, inRow, inChannelBytes, w, channels, kh, kw, rowBytes, outW, b);
        else forwardRow(1, out, outChannelBytes, inRow, inChannelBytes, w, channels, kh, kw, rowBytes, outW, b);
      }
      o += ob;
    }
  }
}

/** (l0 + l1) + (l2 + l3): one fixed order. */
// @ts-ignore: decorator
@inline
function lanesSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// @ts-ignore: decorator
@inline
function addOrSet(at: usize, value: f32, accumulate: i32): void {
  store<f32>(at, accumulate ? load<f32>(at) + value : value);
}

/**
 * The weight gradient of OB ≤ 4 output channels from o at input channel c, for T ≤ 3 taps (T ≤ 2 when OB = 4) of the
 * kernel (consecutive in (i, j) order, so consecutive in dw, and at byte offsets 0, off1, off2 in
 * the input): registers a[o][t] sum dy[o][n][oy][ox] · xp[c][n][oy + i][ox + j] over every
 * (n, oy, ox) in that order, four columns at a time (a last partial vector counts only the
 * columns not yet counted), then each is reduced and written to dw[o][c][i][j] (or added to it).
 * Eight or nine accumulators keep both FMA pipes busy through their latency; more spill. V > 0: every row
 * is exactly V vectors (a constant loop length); V = 0: outW as it comes.
 */
// @ts-ignore: decorator
@inline
function weightGradBlock(
  OB: i32, T: i32, V: i32, dy: usize, outChannelBytes: usize, xTap: usize, off1: usize, off2: usize, dwAt: usize, dwPerOutputBytes: usize,
  batch: i32, outH: i32, outW: i32, paddedH: i32, paddedW: i32, tailMask: v128, accumulate: i32,
): void {
  let a00 = f32x4.splat(0), a01 = a00, a02 = a00;
  let a10 = a00, a11 = a00, a12 = a00;
  let a20 = a00, a21 = a00, a22 = a00;
  let a30 = a00, a31 = a00;
  const full = V > 0 ? 4 * V : outW & ~3;
  const tail = V > 0 ? 0 : outW & 3;
  const rowBytes = <usize>paddedW << 2;
  const twoChannelsBytes = outChannelBytes << 1;
  const threeChannelsBytes = twoChannelsBytes + outChannelBytes;
  for (let n = 0; n < batch; n++) {
    let d = dy + ((<usize>n * <usize>(outH * outW)) << 2);
    let x = xTap + ((<usize>n * <usize>(paddedH * paddedW)) << 2);
    for (let oy = 0; oy < outH; oy++) {
      let dAt = d,
        xAt = x;
      const end = d + (<usize>full << 2);
      for (; dAt < end; dAt += 16, xAt += 16) {
        const d0 = v128.load(dAt);
        const d1 = OB > 1 ? v128.load(dAt + outChannelBytes) : d0;
        const d2 = OB > 2 ? v128.load(dAt + twoChannelsBytes) : d0;
        const d3 = OB > 3 ? v128.load(dAt + threeChannelsBytes) : d0;
        const x0 = v128.load(xAt);
        a00 = madd(d0, x0, a00);
        if (OB > 1) a10 = madd(d1, x0, a10);
        if (OB > 2) a20 = madd(d2, x0, a20);
        if (OB > 3) a30 = madd(d3, x0, a30);
        if (T > 1) {
          const x1 = v128.load(xAt + off1);
          a01 = madd(d0, x1, a01);
          if (OB > 1) a11 = madd(d1, x1, a11);
          if (OB > 2) a21 = madd(d2, x1, a21);
          if (OB > 3) a31 = madd(d3, x1, a31);
        }
        if (T > 2) {
          const x2 = v128.load(xAt + off2);
          a02 = madd(d0, x2, a02);
          if (OB > 1) a12 = madd(d1, x2, a12);
          if (OB > 2) a22 = madd(d2, x2, a22);
        }
      }
      if (tail) {
        // the last partial vector starts at outW − 4 and keeps only the columns not yet counted
        const back = <usize>(4 - tail) << 2;
        dAt -= back;
        xAt -= back;
        const d0 = v128.and(v128.load(dAt), tailMask);
        const d1 = OB > 1 ? v128.and(v128.load(dAt + outChannelBytes), tailMask) : d0;
        const d2 = OB > 2 ? v128.and(v128.load(dAt + twoChannelsBytes), tailMask) : d0;
        const d3 = OB > 3 ? v128.and(v128.load(dAt + threeChannelsBytes), tailMask) : d0;
        const x0 = v128.load(xAt);
        a00 = madd(d0, x0, a00);
        if (OB > 1) a10 = madd(d1, x0, a10);
        if (OB > 2) a20 = madd(d2, x0, a20);
        if (OB > 3) a30 = madd(d3, x0, a30);
        if (T > 1) {
          const x1 = v128.load(xAt + off1);
          a01 = madd(d0, x1, a01);
          if (OB > 1) a11 = madd(d1, x1, a11);
          if (OB > 2) a21 = madd(d2, x1, a21);
          if (OB > 3) a31 = madd(d3, x1, a31);
        }
        if (T > 2) {
          const x2 = v128.load(xAt + off2);
          a02 = madd(d0, x2, a02);
          if (OB > 1) a12 = madd(d1, x2, a12);
          if (OB > 2) a22 = madd(d2, x2, a22);
        }
      }
      d += <usize>outW << 2;
      x += rowBytes;
    }
  }
  addOrSet(dwAt, lanesSum(a00), accumulate);
  if (T > 1) addOrSet(dwAt + 4, lanesSum(a01), accumulate);
  if (T > 2) addOrSet(dwAt + 8, lanesSum(a02), accumulate);
  if (OB > 1) {
    const at = dwAt + dwPerOutputBytes;
    addOrSet(at, lanesSum(a10), accumulate);
    if (T > 1) addOrSet(at + 4, lanesSum(a11), accumulate);
    if (T > 2) addOrSet(at + 8, lanesSum(a12), accumulate);
  }
  if (OB > 2) {
    const at = dwAt + (dwPerOutputBytes << 1);
    addOrSet(at, lanesSum(a20), accumulate);
    if (T > 1) addOrSet(at + 4, lanesSum(a21), accumulate);
    if (T > 2) addOrSet(at + 8, lanesSum(a22), accumulate);
  }
  if (OB > 3) {
    const at = dwAt + dwPerOutputBytes * 3;
    addOrSet(at, lanesSum(a30), accumulate);
    if (T > 1) addOrSet(at + 4, lanesSum(a31), accumulate);
  }
}

/** One weight-gradient block of OB output channels and T taps (run-time values, dispatched to constants), rows of V vectors. */
// @ts-ignore: decorator
@inline
function weightGradTaps(
  V: i32, ob: i32, taps: i32, dy: usize, outChannelBytes: usize, xTap: usize, off1: usize, off2: usize, dwAt: usize, dwPerOutputBytes: usize,
  batch: i32, outH: i32, outW: i32, paddedH: i32, paddedW: i32, tailMask: v128, accumulate: i32,
): void {
  if (ob == 4) {
    if (taps == 2) weightGradBlock(4, 2, V, dy, outChannelBytes, xTap, off1, off2, dwAt, dwPerOutputBytes, batch, outH, outW, paddedH, paddedW, tailMask, accumulate);
    else weightGradBlock(4, 1, V, dy, outChannelBytes, xTap, off1, off2, dwAt, dwPerOutputBytes, batch, outH, outW, paddedH, paddedW, tailMask, accumulate);
  } else if (ob == 3) {
    if (taps == 3) weightGradBlock(3, 3, V, dy, outChannelBytes, xTap, off1, off2, dwAt, dwPerOutputBytes, batch, outH, outW, paddedH, paddedW, tailMask, accumulate);
    else if (taps == 2) weightGradBlock(3, 2, V, dy, outChannelBytes, xTap, off1, off2, dwAt, dwPerOutputBytes, batch, outH, outW, paddedH, paddedW, tailMask, accumulate);
    else weightGradBlock(3, 1, V, dy, outChannelBytes, xTap, off1, off2, dwAt, dwPerOutputBytes, batch, outH, outW, paddedH, paddedW, tailMask, accumulate);
  } else if (ob == 2) {
    if (taps == 3) weightGradBlock(2, 3, V, dy, outChannelBytes, xTap, off1, off2, dwAt, dwPerOutputBytes, batch, outH, outW, paddedH, paddedW, tailMask, accumulate);
    else if (taps == 2) weightGradBlock(2, 2, V, dy, outChannelBytes, xTap, off1, off2, dwAt, dwPerOutputBytes, batch, outH, outW, paddedH, paddedW, tailMask, accumulate);
    else weightGradBlock(2, 1, V, dy, outChannelBytes, xTap, off1, off2, dwAt, dwPerOutputBytes, batch, outH, outW, paddedH, paddedW, tailMask, accumulate);
  } else {
    if (taps == 3) weightGradBlock(1, 3, V, dy, outChannelBytes, xTap, off1, off2, dwAt, dwPerOutputBytes, batch, outH, outW, paddedH, paddedW, tailMask, accumulate);
    else if (taps == 2) weightGradBlock(1, 2, V, dy, outChannelBytes, xTap, off1, off2, dwAt, dwPerOutputBytes, batch, outH, outW, paddedH, paddedW, tailMask, accumulate);
    else weightGradBlock(1, 1, V, dy, outChannelBytes, xTap, off1, off2, dwAt, dwPerOutputBytes, batch, outH, outW, paddedH, paddedW, tailMask, accumulate);
  }
}

/**
 * Cycles per output position of a layer's blocks of `perTask` output channels × `groupTaps` taps,
 * as the FMA pipes see them: two FMAs a cycle, but each accumulator waits four cycles for its
 * last FMA, so a block of fewer than eight accumulators runs at the latency's pace.
 */
function weightGradCycles(outputs: i32, kernelTaps: i32, perTask: i32, groupTaps: i32): f64 {
  let cycles = 0.0;
  for (let o = 0; o < outputs; o += perTask) {
    const ob = min(perTask, outputs - o);
    for (let t = 0; t < kernelTaps; t += groupTaps) cycles += max(<f64>(ob * min(groupTaps, kernelTaps - t)) / 2, 4);
  }
  return cycles;
}

/**
 * How many output channels one convWeightGrad task covers (its callers count tasks with it): 3
 * with taps three at a time (nine accumulators), or 4 with taps two at a time (eight), whichever
 * leaves less of the layer in short blocks (LeNet-5's 16 outputs: four blocks of 4, not five of
 * 3 and one of 1).
 */
export function convWeightGradOutputsPerTask(outputs: i32, kernelTaps: i32): i32 {
  return weightGradCycles(outputs, kernelTaps, 4, 2) < weightGradCycles(outputs, kernelTaps, 3, 3) ? 4 : 3;
}

/**
 * dw[o][c][i][j] (+)= Σ_n Σ_oy Σ_ox dy[o][n][oy][ox] · xp[c][n][oy + i][ox + j], for tasks
 * [t0, t1) of (group of convWeightGradOutputsPerTask output channels, input channel): threads
 * split the tasks and each weight's sum is one task's, in the same order for any split or grouping.
 * dy: [O, N·Ho·Wo]; xp: [C, N·Hp·Wp] (padded); dw: [O, C·kh·kw]; Wo ≥ 4.
 */
export function convWeightGrad(
  dy: usize, xp: usize, dw: usize, channels: i32, batch: i32, paddedH: i32, paddedW: i32,
  outputs: i32, kh: i32, kw: i32, accumulate: i32, t0: i32, t1: i32,
): void {
  const outH = paddedH - kh + 1;
  const outW = paddedW - kw + 1;
  const outChannelBytes = (<usize>batch * <usize>(outH * outW)) << 2;
  const inChannelBytes = (<usize>batch * <usize>(paddedH * paddedW)) << 2;
  const kernelTaps = kh * kw;
  const dwPerOutputBytes = <usize>(channels * kernelTaps) << 2;
  const rowBytes = <usize>paddedW << 2;
  // lanes of the last partial vector (at outW − 4) that no full vector has counted
  const fresh = 4 - (outW & 3);
  const tailMask = i32x4.ge_s(i32x4(0, 1, 2, 3), i32x4.splat(fresh));
  const perTask = convWeightGradOutputsPerTask(outputs, kernelTaps);
  const groupTaps = perTask == 4 ? 2 : 3;
  for (let t = t0; t < t1; t++) {
    const o = (t / channels) * perTask;
    const c = t % channels;
    const ob = min(perTask, outputs - o);
    const d = dy + <usize>o * outChannelBytes;
    const xChannel = xp + <usize>c * inChannelBytes;
    const dwChannel = dw + (((<usize>o * <usize>channels + c) * <usize>kernelTaps) << 2);
    for (let tap = 0; tap < kernelTaps; tap += groupTaps) {
      const taps = min(groupTaps, kernelTaps - tap);
      // byte offset of each tap's window in the input plane
      const off0 = <usize>(tap / kw) * rowBytes + (<usize>(tap % kw) << 2);
      const off1 = taps > 1 ? <usize>((tap + 1) / kw) * rowBytes + (<usize>((tap + 1) % kw) << 2) - off0 : 0;
      const off2 = taps > 2 ? <usize>((tap + 2) / kw) * rowBytes + (<usize>((tap + 2) % kw) << 2) - off0 : 0;
      // rows of exactly two vectors (LeNet-5's second layer) are worth a loop of constant length
      if (outW == 8) weightGradTaps(2, ob, taps, d, outChannelBytes, xChannel + off0, off1, off2, dwChannel + (<usize>tap << 2), dwPerOutputBytes, batch, outH, outW, paddedH, paddedW, tailMask, accumulate);
      else weightGradTaps(0, ob, taps, d, outChannelBytes, xChannel + off0, off1, off2, dwChannel + (<usize>tap << 2), dwPerOutputBytes, batch, outH, outW, paddedH, paddedW, tailMask, accumulate);
    }
  }
}
