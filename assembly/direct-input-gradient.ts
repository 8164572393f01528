// The input gradient of a stride-1 'same' convolution (kh = kw = 2p + 1) summed directly, for
// rows that fit in registers (width a multiple of 4, from 8 to 28). Through the GEMM, a layer with
// few input channels makes a product of only C·k² rows whose columns col2im then folds back
// through memory; here each dx row's vectors stay in registers while every (output channel, tap)
// adds into them straight from dy, and taps that fall outside dy are left out (rows) or read as
// zeros (the lanes shifted in at the two ends of a row), so no padded copy of dy is needed.
import { madd } from "./madd";

/**
 * out[v] = w[o][c][k−1−i][k−1−j] as a v128 of four copies, ordered [c][i][j][o]: the order in
 * which convInputGradientSame reads them. w: [O, C·k·k]; out: [C·k·k·O] v128.
 */
export function splatFlippedWeights(w: usize, out: usize, outputs: i32, channels: i32, k: i32): void {
  const taps = k * k;
  let at = out;
  for (let c = 0; c < channels; c++) {
    for (let t = 0; t < taps; t++) {
      const flipped = taps - 1 - t;
      for (let o = 0; o < outputs; o++) {
        v128.store(at, v128.load32_splat(w + (<usize>((o * channels + c) * taps + flipped) << 2)));
        at += 16;
      }
    }
  }
}

/** Lanes l of a vector at one end of a row whose input l + s lies in the row (0 ≤ l + s < 4). */
// @ts-ignore: decorator
@inline
function insideLanes(s: i32): v128 {
  const from = i32x4.add(i32x4(0, 1, 2, 3), i32x4.splat(s));
  return v128.and(i32x4.ge_s(from, i32x4.splat(0)), i32x4.lt_s(from, i32x4.splat(4)));
}

/** The v-th vector from `at`, its offset an immediate of the load (v is constant after inlining). */
// @ts-ignore: decorator
@inline
function vectorAt(v: i32, at: usize): v128 {
  if (v == 0) return v128.load(at);
  if (v == 1) return v128.load(at, 16);
  if (v == 2) return v128.load(at, 32);
  if (v == 3) return v128.load(at, 48);
  if (v == 4) return v128.load(at, 64);
  if (v == 5) return v128.load(at, 80);
  return v128.load(at, 96);
}

/**
 * dx[c][n][y][·] (+)= Σ over taps (i, j) with dy row y + i − p inside dy, Σ_o w[o][c][k−1−i][k−1−j] ·
 * dy[o][n][y + i − p][· + j − p], one row of V vectors, in the order i, j, o. V ≤ 7 and constant
 * after inlining: seven accumulators, the seven loads V8 issues ahead of their FMAs and a weight
 * fill the vector registers (an eighth accumulator, or a mask held through the loop, spills one).
 */
// @ts-ignore: decorator
@inline
function rowGradient(
  V: i32, dxRow: usize, dyImage: usize, y: i32, height: i32, rowBytes: usize, channelBytes: usize, weights: usize,
  tapBytes: usize, block: i32, k: i32, p: i32, accumulate: i32,
): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0;
  if (accumulate) {
    a0 = v128.load(dxRow);
    if (V > 1) a1 = v128.load(dxRow, 16);
    if (V > 2) a2 = v128.load(dxRow, 32);
    if (V > 3) a3 = v128.load(dxRow, 48);
    if (V > 4) a4 = v128.load(dxRow, 64);
    if (V > 5) a5 = v128.load(dxRow, 80);
    if (V > 6) a6 = v128.load(dxRow, 96);
  }
  for (let i = 0; i < k; i++) {
    const sy = y + i - p;
    if (sy < 0 || sy >= height) continue;
    const rowStart = dyImage + <usize>sy * rowBytes;
    for (let j = 0; j < k; j++) {
      // every vector reads at row + 16v + 4s: with a negative shift the first vector's load starts
      // up to three floats before its row, with a positive one the last vector's ends up to three
      // past it (the memory is there: see convInputGradientSame). That vector's sum over the
      // channels goes to its own register, whose lanes from outside the row are then dropped.
      const s = j - p;
      let at = rowStart + <usize>(s << 2);
      let wt = weights + <usize>(i * k + j) * tapBytes;
      const wtEnd = wt + (<usize>block << 4);
      let edge = f32x4.splat(0);
      // the same loop three times, one per sign of the shift, so that none of them tests it
      if (s < 0) {
        for (; wt < wtEnd; at += channelBytes, wt += 16) {
          const w = v128.load(wt);
          edge = madd(w, v128.load(at), edge);
          if (V > 2) a1 = madd(w, vectorAt(1, at), a1);
          if (V > 3) a2 = madd(w, vectorAt(2, at), a2);
          if (V > 4) a3 = madd(w, vectorAt(3, at), a3);
          if (V > 5) a4 = madd(w, vectorAt(4, at), a4);
          if (V > 6) a5 = madd(w, vectorAt(5, at), a5);
          const x = vectorAt(V - 1, at);
          if (V == 2) a1 = madd(w, x, a1);
          else if (V == 3) a2 = madd(w, x, a2);
          else if (V == 4) a3 = madd(w, x, a3);
          else if (V == 5) a4 = madd(w, x, a4);
          else if (V == 6) a5 = madd(w, x, a5);
          else a6 = madd(w, x, a6);
        }
        a0 = f32x4.add(a0, v128.and(edge, insideLanes(s)));
      } else if (s == 0) {
        for (; wt < wtEnd; at += channelBytes, wt += 16) {
          const w = v128.load(wt);
          a0 = madd(w, v128.load(at), a0);
          if (V > 2) a1 = madd(w, vectorAt(1, at), a1);
          if (V > 3) a2 = madd(w, vectorAt(2, at), a2);
          if (V > 4) a3 = madd(w, vectorAt(3, at), a3);
          if (V > 5) a4 = madd(w, vectorAt(4, at), a4);
          if (V > 6) a5 = madd(w, vectorAt(5, at), a5);
          const x = vectorAt(V - 1, at);
          if (V == 2) a1 = madd(w, x, a1);
          else if (V == 3) a2 = madd(w, x, a2);
          else if (V == 4) a3 = madd(w, x, a3);
          else if (V == 5) a4 = madd(w, x, a4);
          else if (V == 6) a5 = madd(w, x, a5);
          else a6 = madd(w, x, a6);
        }
      } else {
        for (; wt < wtEnd; at += channelBytes, wt += 16) {
          const w = v128.load(wt);
          a0 = madd(w, v128.load(at), a0);
          if (V > 2) a1 = madd(w, vectorAt(1, at), a1);
          if (V > 3) a2 = madd(w, vectorAt(2, at), a2);
          if (V > 4) a3 = madd(w, vectorAt(3, at), a3);
          if (V > 5) a4 = madd(w, vectorAt(4, at), a4);
          if (V > 6) a5 = madd(w, vectorAt(5, at), a5);
          edge = madd(w, vectorAt(V - 1, at), edge);
        }
        edge = v128.and(edge, insideLanes(s));
        if (V == 2) a1 = f32x4.add(a1, edge);
        else if (V == 3) a2 = f32x4.add(a2, edge);
        else if (V == 4) a3 = f32x4.add(a3, edge);
        else if (V == 5) a4 = f32x4.add(a4, edge);
        else if (V == 6) a5 = f32x4.add(a5, edge);
        else a6 = f32x4.add(a6, edge);
      }
    }
  }
  v128.store(dxRow, a0);
  if (V > 1) v128.store(dxRow, a1, 16);
  if (V > 2) v128.store(dxRow, a2, 32);
  if (V > 3) v128.store(dxRow, a3, 48);
  if (V > 4) v128.store(dxRow, a4, 64);
  if (V > 5) v128.store(dxRow, a5, 80);
  if (V > 6) v128.store(dxRow, a6, 96);
}

/**
 * dx (+)= the input gradient of a stride-1 convolution with a k×k kernel and 'same' padding
 * p = (k − 1) / 2, for images [n0, n1) (threads split the images): dx[c][n][y][x] = Σ_i Σ_j Σ_o
 * w[o][c][i][j] · dy[o][n][y + p − i][x + p − j] over the taps inside dy. Each element's sum is
 * one row's, in one order, whatever the split. Width a multiple of 4 in [8, 28], k odd and ≤ 7.
 * Loads at the two ends of a row reach up to three floats outside it, so up to 12 bytes before dy
 * and after it: the host keeps memory there (the allocator's READ_PAST_END), and those lanes
 * never reach dx.
 * weights: splatFlippedWeights of w [O, C·k·k]; dy: [O, N·H·W]; dx: [C, N·H·W].
 */
export function convInputGradientSame(
  weights: usize, dy: usize, dx: usize, channels: i32, batch: i32, height: i32, width: i32, outputs: i32, k: i32,
  accumulate: i32, n0: i32, n1: i32,
): void {
  const plane = <usize>(height * width);
  const rowBytes = <usize>width << 2;
  const channelBytes = (<usize>batch * plane) << 2;
  const tapBytes = <usize>outputs << 4;
  const weightsPerChannelBytes = <usize>(k * k) * tapBytes;
  const p = (k - 1) >> 1;
  const V = width >> 2;
  for (let n = n0; n < n1; n++) {
    for (let c = 0; c < channels; c++) {
      const dxImage = dx + ((<usize>(c * batch + n) * plane) << 2);
      // a few output channels at a time over the whole image: their dy planes stay in L1 and in
      // the TLB (each channel's plane is a page or more away from the next)
      for (let o = 0; o < outputs; o += INPUT_GRADIENT_BLOCK) {
        const block = min(INPUT_GRADIENT_BLOCK, outputs - o);
        const dyImage = dy + <usize>o * channelBytes + ((<usize>n * plane) << 2);
        const wc = weights + <usize>c * weightsPerChannelBytes + (<usize>o << 4);
        const add = o > 0 ? 1 : accumulate;
        for (let y = 0; y < height; y++) {
          const dxRow = dxImage + <usize>y * rowBytes;
          if (V == 7) rowGradient(7, dxRow, dyImage, y, height, rowBytes, channelBytes, wc, tapBytes, block, k, p, add);
          else if (V == 6) rowGradient(6, dxRow, dyImage, y, height, rowBytes, channelBytes, wc, tapBytes, block, k, p, add);
          else if (V == 5) rowGradient(5, dxRow, dyImage, y, height, rowBytes, channelBytes, wc, tapBytes, block, k, p, add);
          else if (V == 4) rowGradient(4, dxRow, dyImage, y, height, rowBytes, channelBytes, wc, tapBytes, block, k, p, add);
          else if (V == 3) rowGradient(3, dxRow, dyImage, y, height, rowBytes, channelBytes, wc, tapBytes, block, k, p, add);
          else rowGradient(2, dxRow, dyImage, y, height, rowBytes, channelBytes, wc, tapBytes, block, k, p, add);
        }
      }
    }
  }
}

/** Output channels summed into a dx row before it goes back to memory. */
const INPUT_GRADIENT_BLOCK = 8;
