// Sparse × dense products for pruned layers, in feature-major layout: activations are stored
// [features][batch], so every surviving weight becomes f32x4 axpys or dots over the batch
// (the approach of XNNPACK's sparse kernels, "Fast Sparse ConvNets", CVPR 2020). A layer's
// surviving weights are stored by output: for output j, entries offsets[j] .. offsets[j+1]
// of `inputRows` and `values` (f32 weight); the input gradient reads the same weights through a
// by-input index. Forward and input gradient are one gather kernel. Rows are named by their byte
// offset in the activations (index · batch · 4), not by index: adding an offset instead of
// multiplying an index makes the forward ~9% faster.
//
// The batch lanes of a row are covered in as few, as even blocks of at most 7 vectors as
// possible (batch 60 = 5 + 5 + 5 vectors), each block's vectors held in registers while output
// j's weights stream past. Blocks are few because each costs the per-weight overhead (index,
// address, broadcast) again; they stop at 7 because 7 accumulators, the broadcast weight and 7
// operands fill x86's 16 SIMD registers: 8-vector blocks spill and run at half speed. The weights
// go through all blocks a chunk at a time, so the chunk's input rows are still in L1 when the
// next block reads them. Measured against the GEMM by `npm run bench -- sparse`.
import { madd } from "./madd";

const CHUNK = 64; // weights per chunk: 64 input rows of a 60-lane batch take 15 KB of L1
const MAX_BLOCK = 7;

/** The first lane past the last whole 4-lane vector of a batch (the scalar tail starts there). */
// @ts-ignore: decorator
@inline
function vectorEnd(batch: i32): i32 {
  return (batch >> 2) << 2;
}

/** Blocks needed to cover `vectors` vectors. */
// @ts-ignore: decorator
@inline
function blockCount(vectors: i32): i32 {
  return (vectors + MAX_BLOCK - 1) / MAX_BLOCK;
}

/** Vectors in block k of `blocks` covering `vectors` (the first `vectors % blocks` get one more). */
// @ts-ignore: decorator
@inline
function blockSize(vectors: i32, blocks: i32, k: i32): i32 {
  return vectors / blocks + (k < vectors % blocks ? 1 : 0);
}

/**
 * yT[j][b] = Σ_p values[p] · xT[input p][b] over output j's entries, input p's row starting
 * inputRows[p] bytes into xT (overwrites yT). Threads split the outputs: their rows of yT are
 * disjoint.
 */
export function sparseForward(offsets: usize, inputRows: usize, values: usize, outputs: i32, xT: usize, yT: usize, batch: i32): void {
  gatherRows(false, offsets, inputRows, 0, values, outputs, xT, yT, batch, 0);
}

/**
 * dxT[i][b] (+)= Σ_j W[i][j] · dyT[j][b], the input gradient, from the weights listed by input:
 * input i's entries colOffsets[i] .. colOffsets[i+1] name an output (colOutputRows: the byte
 * offset of its row in dyT) and where its weight sits in `values` (colValues). Gathering by input keeps each dx row in registers and lets
 * threads split the inputs; scattering by output made them write the same cache lines. Sums over
 * j in increasing order, as the scatter did. Overwrites unless `accumulate`.
 */
export function sparseBackwardInput(
  colOffsets: usize, colOutputRows: usize, colValues: usize, values: usize, inputs: i32, dyT: usize, dxT: usize, batch: i32, accumulate: i32,
): void {
  gatherRows(true, colOffsets, colOutputRows, colValues, values, inputs, dyT, dxT, batch, accumulate);
}

// out[r][b] (+)= Σ_q w(q) · x[source q][b] over row r's entries (source q's row sourceRows[q]
// bytes into x), w(q) = values[q], or with `indirect` (a compile-time constant) values[valueIndex[q]].
// @ts-ignore: decorator
@inline
function gatherRows(
  indirect: bool, offsets: usize, sourceRows: usize, valueIndex: usize, values: usize, rows: i32, x: usize, out: usize, batch: i32, accumulate: i32,
): void {
  const rowBytes = <usize>batch << 2;
  const vectorsEnd = vectorEnd(batch);
  const vectors = vectorsEnd >> 2;
  const blocks = blockCount(vectors);
  for (let r = 0; r < rows; r++) {
    const begin = load<i32>(offsets + (<usize>r << 2)), end = load<i32>(offsets + (<usize>(r + 1) << 2));
    const o = out + <usize>r * rowBytes;
    for (let c = begin; c < end || c == begin; c += CHUNK) { // at least once: no entries → zeros
      const ce = min(end, c + CHUNK);
      const more = accumulate != 0 || c > begin ? 1 : 0;
      let b = 0;
      for (let k = 0; k < blocks; k++) {
        const n = blockSize(vectors, blocks, k);
        const lane = <usize>b << 2;
        switch (n) {
          case 7: gatherBlock(7, indirect, c, ce, sourceRows, valueIndex, values, x + lane, o + lane, more); break;
          case 6: gatherBlock(6, indirect, c, ce, sourceRows, valueIndex, values, x + lane, o + lane, more); break;
          case 5: gatherBlock(5, indirect, c, ce, sourceRows, valueIndex, values, x + lane, o + lane, more); break;
          case 4: gatherBlock(4, indirect, c, ce, sourceRows, valueIndex, values, x + lane, o + lane, more); break;
          case 3: gatherBlock(3, indirect, c, ce, sourceRows, valueIndex, values, x + lane, o + lane, more); break;
          case 2: gatherBlock(2, indirect, c, ce, sourceRows, valueIndex, values, x + lane, o + lane, more); break;
          default: gatherBlock(1, indirect, c, ce, sourceRows, valueIndex, values, x + lane, o + lane, more);
        }
        b += n << 2;
      }
    }
    for (let b = vectorsEnd; b < batch; b++) {
      const at = o + (<usize>b << 2);
      let s: f32 = accumulate ? load<f32>(at) : 0;
      for (let q = begin; q < end; q++) {
        const w = load<f32>(values + (<usize>(indirect ? load<i32>(valueIndex + (<usize>q << 2)) : q) << 2));
        s += w * load<f32>(x + <usize>load<i32>(sourceRows + (<usize>q << 2)) + (<usize>b << 2));
      }
      store<f32>(at, s);
    }
  }
}

// One block of n vectors (n and indirect are compile-time constants once inlined): n accumulators
// in registers, starting from `out` when `more`, else from zero.
// @ts-ignore: decorator
@inline
function gatherBlock(
  n: i32, indirect: bool, begin: i32, end: i32, sourceRows: usize, valueIndex: usize, values: usize, x: usize, out: usize, more: i32,
): void {
  const zero = f32x4.splat(0);
  let a0 = more ? v128.load(out) : zero;
  let a1 = more && n > 1 ? v128.load(out, 16) : zero, a2 = more && n > 2 ? v128.load(out, 32) : zero;
  let a3 = more && n > 3 ? v128.load(out, 48) : zero, a4 = more && n > 4 ? v128.load(out, 64) : zero;
  let a5 = more && n > 5 ? v128.load(out, 80) : zero, a6 = more && n > 6 ? v128.load(out, 96) : zero;
  for (let q = begin; q < end; q++) {
    const w = v128.load32_splat(values + (<usize>(indirect ? load<i32>(valueIndex + (<usize>q << 2)) : q) << 2));
    const row = x + <usize>load<i32>(sourceRows + (<usize>q << 2));
    a0 = madd(w, v128.load(row), a0);
    if (n > 1) a1 = madd(w, v128.load(row, 16), a1);
    if (n > 2) a2 = madd(w, v128.load(row, 32), a2);
    if (n > 3) a3 = madd(w, v128.load(row, 48), a3);
    if (n > 4) a4 = madd(w, v128.load(row, 64), a4);
    if (n > 5) a5 = madd(w, v128.load(row, 80), a5);
    if (n > 6) a6 = madd(w, v128.load(row, 96), a6);
  }
  v128.store(out, a0);
  if (n > 1) v128.store(out, a1, 16);
  if (n > 2) v128.store(out, a2, 32);
  if (n > 3) v128.store(out, a3, 48);
  if (n > 4) v128.store(out, a4, 64);
  if (n > 5) v128.store(out, a5, 80);
  if (n > 6) v128.store(out, a6, 96);
}

/**
 * grad[p] += Σ_b xT[input p][b] · dyT[j][b] (input p's row inputRows[p] bytes into xT): the weight
 * gradient, only where weights survive.
 * Output j's gradient lanes stay in registers, a block at a time, while its weights' input rows
 * stream past.
 */
export function sparseBackwardWeights(
  offsets: usize, inputRows: usize, grad: usize, outputs: i32, xT: usize, dyT: usize, batch: i32,
): void {
  const rowBytes = <usize>batch << 2;
  const vectorsEnd = vectorEnd(batch);
  const vectors = vectorsEnd >> 2;
  const blocks = blockCount(vectors);
  for (let j = 0; j < outputs; j++) {
    const begin = load<i32>(offsets + (<usize>j << 2)), end = load<i32>(offsets + (<usize>(j + 1) << 2));
    const dy = dyT + <usize>j * rowBytes;
    for (let c = begin; c < end; c += CHUNK) {
      const ce = min(end, c + CHUNK);
      let b = 0;
      for (let k = 0; k < blocks; k++) {
        const n = blockSize(vectors, blocks, k);
        const lane = <usize>b << 2;
        switch (n) {
          case 7: weightGradientBlock(7, c, ce, inputRows, grad, xT + lane, dy + lane); break;
          case 6: weightGradientBlock(6, c, ce, inputRows, grad, xT + lane, dy + lane); break;
          case 5: weightGradientBlock(5, c, ce, inputRows, grad, xT + lane, dy + lane); break;
          case 4: weightGradientBlock(4, c, ce, inputRows, grad, xT + lane, dy + lane); break;
          case 3: weightGradientBlock(3, c, ce, inputRows, grad, xT + lane, dy + lane); break;
          case 2: weightGradientBlock(2, c, ce, inputRows, grad, xT + lane, dy + lane); break;
          default: weightGradientBlock(1, c, ce, inputRows, grad, xT + lane, dy + lane);
        }
        b += n << 2;
      }
    }
    let b = vectorsEnd;
    for (; b < batch; b++) {
      const g = load<f32>(dy + (<usize>b << 2));
      for (let p = begin; p < end; p++) {
        const at = grad + (<usize>p << 2);
        store<f32>(at, load<f32>(at) + load<f32>(xT + <usize>load<i32>(inputRows + (<usize>p << 2)) + (<usize>b << 2)) * g);
      }
    }
  }
}

// One block of n vectors: the dot of each weight's input lanes with output j's gradient lanes
// (held in registers), two weights at a time so their horizontal sums share the shuffles and
// land with one 8-byte add (four at a time spills registers and is slower).
// @ts-ignore: decorator
@inline
function weightGradientBlock(n: i32, begin: i32, end: i32, inputRows: usize, grad: usize, x0: usize, dy: usize): void {
  const g0 = v128.load(dy);
  const g1 = n > 1 ? v128.load(dy, 16) : g0, g2 = n > 2 ? v128.load(dy, 32) : g0, g3 = n > 3 ? v128.load(dy, 48) : g0;
  const g4 = n > 4 ? v128.load(dy, 64) : g0, g5 = n > 5 ? v128.load(dy, 80) : g0, g6 = n > 6 ? v128.load(dy, 96) : g0;
  let p = begin;
  for (; p + 2 <= end; p += 2) {
    const at = inputRows + (<usize>p << 2);
    const d0 = dot(n, x0 + <usize>load<i32>(at), g0, g1, g2, g3, g4, g5, g6);
    const d1 = dot(n, x0 + <usize>load<i32>(at, 4), g0, g1, g2, g3, g4, g5, g6);
    // lanes (l0 + l2) + (l1 + l3) of each, as addLanes sums one
    const s = f32x4.add(v128.shuffle<f32>(d0, d1, 0, 4, 1, 5), v128.shuffle<f32>(d0, d1, 2, 6, 3, 7));
    const sums = f32x4.add(s, v128.shuffle<f32>(s, s, 2, 3, 0, 1));
    const out = grad + (<usize>p << 2);
    v128.store64_lane(out, f32x4.add(v128.load64_zero(out), sums), 0);
  }
  for (; p < end; p++) {
    addLanes(grad + (<usize>p << 2), dot(n, x0 + <usize>load<i32>(inputRows + (<usize>p << 2)), g0, g1, g2, g3, g4, g5, g6));
  }
}

// Σ over the block's n vectors of x · g, lane by lane.
// @ts-ignore: decorator
@inline
function dot(n: i32, x: usize, g0: v128, g1: v128, g2: v128, g3: v128, g4: v128, g5: v128, g6: v128): v128 {
  let a = f32x4.mul(v128.load(x), g0);
  if (n > 1) a = madd(v128.load(x, 16), g1, a);
  if (n > 2) a = madd(v128.load(x, 32), g2, a);
  if (n > 3) a = madd(v128.load(x, 48), g3, a);
  if (n > 4) a = madd(v128.load(x, 64), g4, a);
  if (n > 5) a = madd(v128.load(x, 80), g5, a);
  if (n > 6) a = madd(v128.load(x, 96), g6, a);
  return a;
}

// *at += the four lanes of v, summed as (v0 + v2) + (v1 + v3)
// @ts-ignore: decorator
@inline
function addLanes(at: usize, v: v128): void {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  store<f32>(at, load<f32>(at) + (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1)));
}

/** out[c][r] = x[r][c] for x of rows × cols (blocked so both sides stay in cache). */
export function transpose(x: usize, out: usize, rows: i32, cols: i32): void {
  const BLOCK = 16;
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const r1 = min(rows, r0 + BLOCK);
    for (let c0 = 0; c0 < cols; c0 += BLOCK) {
      const c1 = min(cols, c0 + BLOCK);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) {
          store<f32>(out + (<usize>(c * rows + r) << 2), load<f32>(x + (<usize>(r * cols + c) << 2)));
        }
      }
    }
  }
}

/** out[r][c] = x[r][c] + v[r]: a bias per row (per feature, in feature-major layout). */
export function addPerRow(x: usize, v: usize, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = f32x4.splat(load<f32>(v + (<usize>r << 2)));
    const row = <usize>(r * cols) << 2;
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const o = row + (<usize>c << 2);
      v128.store(out + o, f32x4.add(v128.load(x + o), s));
    }
    for (; c < cols; c++) {
      const o = row + (<usize>c << 2);
      store<f32>(out + o, load<f32>(x + o) + load<f32>(v + (<usize>r << 2)));
    }
  }
}

/** ((l0 + l1) + l2) + l3, then the row's last columns one by one: each row's sum in one fixed order. */
// @ts-ignore: decorator
@inline
function finishRowSum(a: v128, row: usize, c: i32, cols: i32, at: usize, accumulate: i32): void {
  let s = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
  for (let k = c; k < cols; k++) s += load<f32>(row + (<usize>k << 2));
  store<f32>(at, accumulate ? load<f32>(at) + s : s);
}

/**
 * out[r] (+)= Σ_c x[r][c]: four columns at a time in one vector per row, then the lanes and the
 * last columns. Rows go four at a time, so four independent chains of additions hide the add
 * latency; each row's additions are the same as alone.
 */
export function sumEachRow(x: usize, out: usize, rows: i32, cols: i32, accumulate: i32): void {
  const rowBytes = <usize>cols << 2;
  const vectorCols = cols & ~3;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const row0 = x + <usize>r * rowBytes, row1 = row0 + rowBytes, row2 = row1 + rowBytes, row3 = row2 + rowBytes;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let c = 0; c < vectorCols; c += 4) {
      const o = <usize>c << 2;
      a0 = f32x4.add(a0, v128.load(row0 + o));
      a1 = f32x4.add(a1, v128.load(row1 + o));
      a2 = f32x4.add(a2, v128.load(row2 + o));
      a3 = f32x4.add(a3, v128.load(row3 + o));
    }
    const at = out + (<usize>r << 2);
    finishRowSum(a0, row0, vectorCols, cols, at, accumulate);
    finishRowSum(a1, row1, vectorCols, cols, at + 4, accumulate);
    finishRowSum(a2, row2, vectorCols, cols, at + 8, accumulate);
    finishRowSum(a3, row3, vectorCols, cols, at + 12, accumulate);
  }
  for (; r < rows; r++) {
    const row = x + <usize>r * rowBytes;
    let a = f32x4.splat(0);
    for (let c = 0; c < vectorCols; c += 4) a = f32x4.add(a, v128.load(row + (<usize>c << 2)));
    finishRowSum(a, row, vectorCols, cols, out + (<usize>r << 2), accumulate);
  }
}

/**
 * Gathers the surviving weights of a dense W into values[] (in the sparse order). Weight (input i,
 * output j) sits at i·inputStride + j·outputStride: a linear layer's [in, out] W has strides
 * (outputs, 1), a convolution's [out, in·kh·kw] W has strides (1, inputs).
 */
export function gatherWeights(w: usize, outputs: i32, offsets: usize, inputs: usize, values: usize, inputStride: i32, outputStride: i32): void {
  for (let j = 0; j < outputs; j++) {
    const begin = load<i32>(offsets + (<usize>j << 2)), end = load<i32>(offsets + (<usize>(j + 1) << 2));
    for (let p = begin; p < end; p++) {
      const i = load<i32>(inputs + (<usize>p << 2));
      store<f32>(values + (<usize>p << 2), load<f32>(w + (<usize>(i * inputStride + j * outputStride) << 2)));
    }
  }
}

/** Scatters values[] back into the dense W (entries not listed are left alone); strides as for gatherWeights. */
export function scatterWeights(values: usize, outputs: i32, offsets: usize, inputs: usize, w: usize, inputStride: i32, outputStride: i32): void {
  for (let j = 0; j < outputs; j++) {
    const begin = load<i32>(offsets + (<usize>j << 2)), end = load<i32>(offsets + (<usize>(j + 1) << 2));
    for (let p = begin; p < end; p++) {
      const i = load<i32>(inputs + (<usize>p << 2));
      store<f32>(w + (<usize>(i * inputStride + j * outputStride) << 2), load<f32>(values + (<usize>p << 2)));
    }
  }
}

/** out[f][r] = pixels[r][f] · scale + shift: a batch of uint8 images straight to feature-major floats. */
export function bytesToFloatTransposed(pixels: usize, out: usize, rows: i32, features: i32, scaleBy: f32, shift: f32): void {
  for (let r = 0; r < rows; r++) {
    const src = pixels + <usize>(r * features);
    for (let f = 0; f < features; f++) {
      store<f32>(out + (<usize>(f * rows + r) << 2), <f32>load<u8>(src + <usize>f) * scaleBy + shift);
    }
  }
}
