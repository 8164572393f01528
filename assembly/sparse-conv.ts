// Direct convolution at stride 1 with a pruned kernel kept compactly: only the surviving taps
// (c, i, j) of each output channel take part, so a step costs in proportion to the weights that
// remain, and nothing the size of im2col's columns is built. Images are channel-major and
// zero-padded as in direct-conv.ts. Each entry of a list is a tap's byte offset from the input
// block's first element (channel, row and column in one number) and its weight.
//
// The forward pass runs each output channel's list in (c, i, j) order from the bias, which is the
// dense direct convolution's order without the zero terms: the same bits for finite inputs (the
// dense kernel's 0 · Inf at a pruned tap would be NaN). The weight gradient sums each tap over
// (n, oy, ox) in the dense kernel's order too. The input gradient is the forward kernel run on the
// padded output gradient, with each input channel's list in (i, j, o) order (by input, as
// SparseWeights indexes it) and the kernel flipped (a 'full' correlation).
import { madd } from "./madd";

/** (l0 + l1) + (l2 + l3): one fixed order (as direct-conv.ts). */
// @ts-ignore: decorator
@inline
function lanesSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Stores v at `at`, or adds it to what is there; tail > 0 keeps only the last `tail` lanes (the columns a partial vector adds). */
// @ts-ignore: decorator
@inline
function put(at: usize, v: v128, accumulate: i32, tail: i32): void {
  if (tail == 0) {
    v128.store(at, accumulate ? f32x4.add(v128.load(at), v) : v);
    return;
  }
  if (tail >= 3) store<f32>(at + 4, accumulate ? load<f32>(at + 4) + f32x4.extract_lane(v, 1) : f32x4.extract_lane(v, 1));
  if (tail >= 2) store<f32>(at + 8, accumulate ? load<f32>(at + 8) + f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 2));
  store<f32>(at + 12, accumulate ? load<f32>(at + 12) + f32x4.extract_lane(v, 3) : f32x4.extract_lane(v, 3));
}

/** The byte offset of row `row` (a constant after inlining) from precomputed multiples of a row's bytes. */
// @ts-ignore: decorator
@inline
function rowAt(row: i32, r1: usize, r2: usize, r3: usize, r4: usize, r5: usize, r6: usize, r7: usize): usize {
  return row == 0 ? 0 : row == 1 ? r1 : row == 2 ? r2 : row == 3 ? r3 : row == 4 ? r4 : row == 5 ? r5 : row == 6 ? r6 : r7;
}

/** Slot s of a block of V vectors per row: row s / V, vector s % V. */
// @ts-ignore: decorator
@inline
function slotAt(s: i32, V: i32, r1: usize, r2: usize, r3: usize, r4: usize, r5: usize, r6: usize, r7: usize): usize {
  return rowAt(s / V, r1, r2, r3, r4, r5, r6, r7) + (<usize>(s % V) << 4);
}

/**
 * One block of R rows × V vectors of one output plane (R·V ≤ 8 accumulators, constants after
 * inlining): a[s] starts from `start`, takes every entry e in [e0, e1) in order, as
 * weights[e] · in[s + taps[e]], and is stored (or added) at out[s].
 */
// @ts-ignore: decorator
@inline
function block(
  R: i32, V: i32, input: usize, inRowBytes: usize, out: usize, outRowBytes: usize, taps: usize, weights: usize,
  e0: i32, e1: i32, start: v128, accumulate: i32, tail: i32,
): void {
  let a0 = start, a1 = start, a2 = start, a3 = start, a4 = start, a5 = start, a6 = start, a7 = start;
  const K = R * V;
  const r1 = inRowBytes, r2 = inRowBytes << 1, r3 = r1 + r2, r4 = inRowBytes << 2;
  const r5 = r4 + r1, r6 = r4 + r2, r7 = r4 + r3;
  for (let e = e0; e < e1; e++) {
    const at = input + <usize>load<i32>(taps + (<usize>e << 2));
    const w = v128.load(weights + (<usize>e << 4));
    a0 = madd(w, v128.load(at), a0);
    if (K > 1) a1 = madd(w, v128.load(at + slotAt(1, V, r1, r2, r3, r4, r5, r6, r7)), a1);
    if (K > 2) a2 = madd(w, v128.load(at + slotAt(2, V, r1, r2, r3, r4, r5, r6, r7)), a2);
    if (K > 3) a3 = madd(w, v128.load(at + slotAt(3, V, r1, r2, r3, r4, r5, r6, r7)), a3);
    if (K > 4) a4 = madd(w, v128.load(at + slotAt(4, V, r1, r2, r3, r4, r5, r6, r7)), a4);
    if (K > 5) a5 = madd(w, v128.load(at + slotAt(5, V, r1, r2, r3, r4, r5, r6, r7)), a5);
    if (K > 6) a6 = madd(w, v128.load(at + slotAt(6, V, r1, r2, r3, r4, r5, r6, r7)), a6);
    if (K > 7) a7 = madd(w, v128.load(at + slotAt(7, V, r1, r2, r3, r4, r5, r6, r7)), a7);
  }
  const o1 = outRowBytes, o2 = outRowBytes << 1, o3 = o1 + o2, o4 = outRowBytes << 2;
  const o5 = o4 + o1, o6 = o4 + o2, o7 = o4 + o3;
  put(out, a0, accumulate, tail);
  if (K > 1) put(out + slotAt(1, V, o1, o2, o3, o4, o5, o6, o7), a1, accumulate, tail);
  if (K > 2) put(out + slotAt(2, V, o1, o2, o3, o4, o5, o6, o7), a2, accumulate, tail);
  if (K > 3) put(out + slotAt(3, V, o1, o2, o3, o4, o5, o6, o7), a3, accumulate, tail);
  if (K > 4) put(out + slotAt(4, V, o1, o2, o3, o4, o5, o6, o7), a4, accumulate, tail);
  if (K > 5) put(out + slotAt(5, V, o1, o2, o3, o4, o5, o6, o7), a5, accumulate, tail);
  if (K > 6) put(out + slotAt(6, V, o1, o2, o3, o4, o5, o6, o7), a6, accumulate, tail);
  if (K > 7) put(out + slotAt(7, V, o1, o2, o3, o4, o5, o6, o7), a7, accumulate, tail);
}

/** block() with R ≤ 8 / V rows of V ≤ 8 vectors chosen at run time. */
function anyBlock(
  R: i32, V: i32, input: usize, inRowBytes: usize, out: usize, outRowBytes: usize, taps: usize, weights: usize,
  e0: i32, e1: i32, start: v128, accumulate: i32, tail: i32,
): void {
  switch (V) {
    case 8: block(1, 8, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail); return;
    case 7: block(1, 7, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail); return;
    case 6: block(1, 6, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail); return;
    case 5: block(1, 5, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail); return;
    case 4:
      if (R == 2) block(2, 4, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail);
      else block(1, 4, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail);
      return;
    case 3:
      if (R == 2) block(2, 3, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail);
      else block(1, 3, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail);
      return;
    case 2:
      if (R == 4) block(4, 2, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail);
      else if (R == 3) block(3, 2, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail);
      else if (R == 2) block(2, 2, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail);
      else block(1, 2, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail);
      return;
    default:
      switch (R) {
        case 8: block(8, 1, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail); return;
        case 7: block(7, 1, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail); return;
        case 6: block(6, 1, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail); return;
        case 5: block(5, 1, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail); return;
        case 4: block(4, 1, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail); return;
        case 3: block(3, 1, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail); return;
        case 2: block(2, 1, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail); return;
        default: block(1, 1, input, inRowBytes, out, outRowBytes, taps, weights, e0, e1, start, accumulate, tail);
      }
  }
}

/** out[q] = four copies of values[positions[q]]: a list's weights in its own order, ready to multiply. */
export function splatAt(values: usize, positions: usize, out: usize, count: i32): void {
  for (let q = 0; q < count; q++) {
    v128.store(out + (<usize>q << 4), v128.load32_splat(values + (<usize>load<i32>(positions + (<usize>q << 2)) << 2)));
  }
}

/**
 * y[o][n][oy][ox] (+)= bias[o] + Σ_e weights[e] · xp[n][oy][ox + taps[e]] over the entries e of
 * output o, [offsets[o], offsets[o + 1]), for images [n0, n1) (threads split the batch). bias 0
 * means none.
 * xp: [channels, N·Hp·Wp] padded (taps include the channel); taps: int32 [entries]; weights:
 * [entries] v128 (splatAt); offsets: int32 [outputs + 1]; y: [outputs, N·Ho·Wo] with
 * Ho = Hp − kh + 1 and Wo = Wp − kw + 1 ≥ 4.
 */
export function sparseConvForward(
  xp: usize, taps: usize, weights: usize, offsets: usize, bias: usize, y: usize,
  outputs: i32, batch: i32, paddedH: i32, paddedW: i32, kh: i32, kw: i32, accumulate: i32, n0: i32, n1: i32,
): void {
  const outH = paddedH - kh + 1;
  const outW = paddedW - kw + 1;
  const inPlane = <usize>(paddedH * paddedW);
  const outPlane = <usize>(outH * outW);
  const inRowBytes = <usize>paddedW << 2;
  const outRowBytes = <usize>outW << 2;
  const vectors = outW >> 2;
  const tail = outW & 3;
  // up to eight accumulators: rows of few vectors go several rows to a block
  const rowsPerBlock = vectors >= 5 ? 1 : 8 / vectors;
  const tailRows = 8;
  const back = <usize>(outW - 4) << 2;
  for (let n = n0; n < n1; n++) {
    const image = xp + ((<usize>n * inPlane) << 2);
    for (let o = 0; o < outputs; o++) {
      const e0 = load<i32>(offsets + (<usize>o << 2)), e1 = load<i32>(offsets + (<usize>(o + 1) << 2));
      const start = bias ? v128.load32_splat(bias + (<usize>o << 2)) : f32x4.splat(0);
      const plane = y + (((<usize>o * <usize>batch + n) * outPlane) << 2);
      for (let oy = 0; oy < outH; oy += rowsPerBlock) {
        const rows = min(rowsPerBlock, outH - oy);
        const input = image + <usize>oy * inRowBytes;
        const out = plane + <usize>oy * outRowBytes;
        let v = 0;
        for (; v + 8 <= vectors; v += 8) anyBlock(1, 8, input + (<usize>v << 4), inRowBytes, out + (<usize>v << 4), outRowBytes, taps, weights, e0, e1, start, accumulate, 0);
        if (v < vectors) anyBlock(rows, vectors - v, input + (<usize>v << 4), inRowBytes, out + (<usize>v << 4), outRowBytes, taps, weights, e0, e1, start, accumulate, 0);
      }
      // the last partial vector over the rows' final four columns, keeping the columns not yet written
      if (tail) {
        for (let oy = 0; oy < outH; oy += tailRows) {
          anyBlock(min(tailRows, outH - oy), 1, image + <usize>oy * inRowBytes + back, inRowBytes, plane + <usize>oy * outRowBytes + back, outRowBytes, taps, weights, e0, e1, start, accumulate, tail);
        }
      }
    }
  }
}

/**
 * The weight gradient of T ≤ 8 entries of one output channel (consecutive in its list): vector
 * registers a[t] sum dy[n][oy][ox] · xp[n][oy][ox + taps[t]] over images [nA, nB) and every row
 * and column in order, continuing the partial sums in `partial` (v128 per entry).
 */
// @ts-ignore: decorator
@inline
function weightGradGroup(
  T: i32, dy: usize, xp: usize, taps: usize, partial: usize, nA: i32, nB: i32, outH: i32, outW: i32, inPlaneBytes: usize, inRowBytes: usize,
  tailMask: v128,
): void {
  const t0 = <usize>load<i32>(taps);
  const t1 = T > 1 ? <usize>load<i32>(taps, 4) : 0, t2 = T > 2 ? <usize>load<i32>(taps, 8) : 0, t3 = T > 3 ? <usize>load<i32>(taps, 12) : 0;
  const t4 = T > 4 ? <usize>load<i32>(taps, 16) : 0, t5 = T > 5 ? <usize>load<i32>(taps, 20) : 0, t6 = T > 6 ? <usize>load<i32>(taps, 24) : 0;
  const t7 = T > 7 ? <usize>load<i32>(taps, 28) : 0;
  let a0 = v128.load(partial);
  let a1 = T > 1 ? v128.load(partial, 16) : a0, a2 = T > 2 ? v128.load(partial, 32) : a0, a3 = T > 3 ? v128.load(partial, 48) : a0;
  let a4 = T > 4 ? v128.load(partial, 64) : a0, a5 = T > 5 ? v128.load(partial, 80) : a0, a6 = T > 6 ? v128.load(partial, 96) : a0;
  let a7 = T > 7 ? v128.load(partial, 112) : a0;
  const full = outW & ~3;
  const tail = outW & 3;
  const outRowBytes = <usize>outW << 2;
  for (let n = nA; n < nB; n++) {
    let d = dy + ((<usize>n * <usize>(outH * outW)) << 2);
    let x = xp + <usize>n * inPlaneBytes;
    for (let oy = 0; oy < outH; oy++) {
      let dAt = d, xAt = x;
      const end = d + (<usize>full << 2);
      for (; dAt < end; dAt += 16, xAt += 16) {
        const g = v128.load(dAt);
        a0 = madd(g, v128.load(xAt + t0), a0);
        if (T > 1) a1 = madd(g, v128.load(xAt + t1), a1);
        if (T > 2) a2 = madd(g, v128.load(xAt + t2), a2);
        if (T > 3) a3 = madd(g, v128.load(xAt + t3), a3);
        if (T > 4) a4 = madd(g, v128.load(xAt + t4), a4);
        if (T > 5) a5 = madd(g, v128.load(xAt + t5), a5);
        if (T > 6) a6 = madd(g, v128.load(xAt + t6), a6);
        if (T > 7) a7 = madd(g, v128.load(xAt + t7), a7);
      }
      if (tail) {
        // the last partial vector starts at outW − 4 and keeps only the columns not yet counted
        const back = <usize>(4 - tail) << 2;
        dAt -= back;
        xAt -= back;
        const g = v128.and(v128.load(dAt), tailMask);
        a0 = madd(g, v128.load(xAt + t0), a0);
        if (T > 1) a1 = madd(g, v128.load(xAt + t1), a1);
        if (T > 2) a2 = madd(g, v128.load(xAt + t2), a2);
        if (T > 3) a3 = madd(g, v128.load(xAt + t3), a3);
        if (T > 4) a4 = madd(g, v128.load(xAt + t4), a4);
        if (T > 5) a5 = madd(g, v128.load(xAt + t5), a5);
        if (T > 6) a6 = madd(g, v128.load(xAt + t6), a6);
        if (T > 7) a7 = madd(g, v128.load(xAt + t7), a7);
      }
      d += outRowBytes;
      x += inRowBytes;
    }
  }
  v128.store(partial, a0);
  if (T > 1) v128.store(partial, a1, 16);
  if (T > 2) v128.store(partial, a2, 32);
  if (T > 3) v128.store(partial, a3, 48);
  if (T > 4) v128.store(partial, a4, 64);
  if (T > 5) v128.store(partial, a5, 80);
  if (T > 6) v128.store(partial, a6, 96);
  if (T > 7) v128.store(partial, a7, 112);
}

/**
 * dw[e] (+)= Σ_n Σ_oy Σ_ox dy[o][n][oy][ox] · xp[n][oy][ox + taps[e]] for the entries e of outputs
 * [o0, o1) (threads split the outputs). Images go in chunks of `chunk` (so the chunk's inputs stay
 * in cache while every output's entries pass over them); each entry's four lane sums carry over
 * from chunk to chunk in `partial` (v128 per entry), so the order of the additions is the same
 * for any chunk size and thread split.
 * dy: [outputs, N·Ho·Wo]; xp: [channels, N·Hp·Wp] padded; taps, offsets as sparseConvForward;
 * dw: [entries] (by position = entry); partial: [entries] v128, scratch.
 */
export function sparseConvWeightGrad(
  dy: usize, xp: usize, taps: usize, offsets: usize, dw: usize, partial: usize, batch: i32, paddedH: i32, paddedW: i32, kh: i32, kw: i32,
  chunk: i32, accumulate: i32, o0: i32, o1: i32,
): void {
  const outH = paddedH - kh + 1;
  const outW = paddedW - kw + 1;
  const inPlaneBytes = <usize>(paddedH * paddedW) << 2;
  const inRowBytes = <usize>paddedW << 2;
  const outChannelBytes = (<usize>batch * <usize>(outH * outW)) << 2;
  const tail = outW & 3;
  const tailMask = tail == 1 ? i32x4(0, 0, 0, -1) : tail == 2 ? i32x4(0, 0, -1, -1) : i32x4(0, -1, -1, -1);
  const e0 = load<i32>(offsets + (<usize>o0 << 2)), e1 = load<i32>(offsets + (<usize>o1 << 2));
  const zero = f32x4.splat(0);
  for (let e = e0; e < e1; e++) v128.store(partial + (<usize>e << 4), zero);
  for (let nA = 0; nA < batch; nA += chunk) {
    const nB = min(batch, nA + chunk);
    for (let o = o0; o < o1; o++) {
      const d = dy + <usize>o * outChannelBytes;
      const end = load<i32>(offsets + (<usize>(o + 1) << 2));
      let e = load<i32>(offsets + (<usize>o << 2));
      for (; e + 8 <= end; e += 8) weightGradGroup(8, d, xp, taps + (<usize>e << 2), partial + (<usize>e << 4), nA, nB, outH, outW, inPlaneBytes, inRowBytes, tailMask);
      const left = end - e;
      const t = taps + (<usize>e << 2), p = partial + (<usize>e << 4);
      if (left == 7) weightGradGroup(7, d, xp, t, p, nA, nB, outH, outW, inPlaneBytes, inRowBytes, tailMask);
      else if (left == 6) weightGradGroup(6, d, xp, t, p, nA, nB, outH, outW, inPlaneBytes, inRowBytes, tailMask);
      else if (left == 5) weightGradGroup(5, d, xp, t, p, nA, nB, outH, outW, inPlaneBytes, inRowBytes, tailMask);
      else if (left == 4) weightGradGroup(4, d, xp, t, p, nA, nB, outH, outW, inPlaneBytes, inRowBytes, tailMask);
      else if (left == 3) weightGradGroup(3, d, xp, t, p, nA, nB, outH, outW, inPlaneBytes, inRowBytes, tailMask);
      else if (left == 2) weightGradGroup(2, d, xp, t, p, nA, nB, outH, outW, inPlaneBytes, inRowBytes, tailMask);
      else if (left == 1) weightGradGroup(1, d, xp, t, p, nA, nB, outH, outW, inPlaneBytes, inRowBytes, tailMask);
    }
  }
  for (let e = e0; e < e1; e++) {
    const at = dw + (<usize>e << 2);
    const s = lanesSum(v128.load(partial + (<usize>e << 4)));
    store<f32>(at, accumulate ? load<f32>(at) + s : s);
  }
}
