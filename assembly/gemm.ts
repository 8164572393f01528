// Packed-panel single-precision GEMM (the BLIS/GotoBLAS loop nest) with a 4×8 register-blocked
// f32x4 micro-kernel: four broadcast rows of A times two vectors of a B panel, eight v128
// accumulators, which fits x86's 16 SIMD registers. Packing makes all three layouts that
// training needs (A·B, A·Bᵀ, Aᵀ·B) run through the same fast inner loop.
import { madd } from "./madd";

const MR: i32 = 4; // rows of C per micro-tile
const NR: i32 = 8; // columns of C per micro-tile
const KC: i32 = 256; // depth of one packed block: A panel 4 KiB + B panel 8 KiB stay in L1
const MC: i32 = 128; // rows of A packed at once (128 KiB, L2)
const NC: i32 = 1024; // columns of B packed at once (1 MiB, L2)
const DIRECT_ROWS: i32 = 32; // at most this many rows of A: B is read in place, not packed

/** Bytes of scratch space `sgemm` needs at `work` (packed A block, packed B block, edge tile). */
export function sgemmWorkspaceBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4;
}

/**
 * C[M×N] = op(A)·op(B), or C += op(A)·op(B) when `accumulate` is set. All matrices row-major.
 * transA = 0: A is M×K; transA = 1: A is K×M (op(A) = Aᵀ).
 * transB = 0: B is K×N; transB = 1: B is N×K (op(B) = Bᵀ).
 */
export function sgemm(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  a: usize, b: usize, c: usize, accumulate: i32, work: usize,
): void {
  sgemmColumns(transA, transB, M, N, K, a, b, c, accumulate, work, 0, N);
}

/**
 * Columns [n0, n1) of the same product: threads split one GEMM by column ranges (multiples of 8),
 * each with its own `work`, and every element is computed exactly as by the whole call.
 */
export function sgemmColumns(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  a: usize, b: usize, c: usize, accumulate: i32, work: usize, n0: i32, n1: i32,
): void {
  gemmColumnsInto(transA, transB, M, N, K, a, b, c, N, 0, accumulate, work, n0, n1);
}

/**
 * sgemmColumns with C's column j of row i at c + 4·(i·ldc + j − firstColumn): columns [n0, n1)
 * of the product written to a buffer of their own (firstColumn ≤ n0, ldc ≥ n1 − firstColumn),
 * element for element the same sums.
 */
export function gemmColumnsInto(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  a: usize, b: usize, c: usize, ldc: i32, firstColumn: i32, accumulate: i32, work: usize, n0: i32, n1: i32,
): void {
  if (M <= 0 || n1 <= n0) return;
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) memory.fill(c + (<usize>(i * ldc + n0 - firstColumn) << 2), 0, <usize>(n1 - n0) << 2);
    return;
  }
  const packedA = work;
  const packedB = work + (<usize>(MC * KC) << 2);
  const tile = packedB + (<usize>(KC * NC) << 2);
  // With few rows of A, each packed B value would be used by at most DIRECT_ROWS / 4 micro-tiles:
  // the micro-kernel then reads full 8-column strips of a row-major B where they lie (same sums).
  const direct = transB == 0 && M <= DIRECT_ROWS;
  for (let jc = n0; jc < n1; jc += NC) {
    const nc = min(NC, n1 - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const acc = pc > 0 || accumulate != 0;
      if (transB) packBTransposed(b, K, jc, pc, nc, kc, packedB);
      else if (!direct) packB(b, N, jc, pc, nc, kc, packedB);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        if (transA) packATransposed(a, M, ic, pc, mc, kc, packedA);
        else packA(a, K, ic, pc, mc, kc, packedA);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          let pb = packedB + (<usize>(jr * kc) << 2);
          let bStride: usize = NR << 2;
          if (direct) {
            if (cols == NR) {
              pb = b + (<usize>(pc * N + jc + jr) << 2);
              bStride = <usize>N << 2;
            } else if (ic == 0) {
              packB(b, N, jc + jr, pc, cols, kc, packedB + (<usize>(jr * kc) << 2)); // the edge strip, zero-padded
            }
          }
          panelTiles(packedA, pb, bStride, kc, c + (<usize>(ic * ldc + jc + jr - firstColumn) << 2), ldc, mc, cols, acc, tile);
        }
      }
    }
  }
}

/**
 * Columns [n0, n1) of C[M×N] (+)= op(A)·B over only the depths listed in `live` (liveCount
 * ascending i32 indices into [0, K)), for transB = 0: the product of a layer with an input whose
 * other features are zero in every example. The depth blocks keep their boundaries at multiples
 * of KC of the full depth, so every element is the same sum as the full product's minus its zero
 * terms, which adding leaves unchanged (a sum from +0 is never −0): the same bits.
 * transA = 0: A is M×K; transA = 1: A is K×M. B is K×N.
 */
export function sgemmLive(
  transA: i32, M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, accumulate: i32, work: usize,
  n0: i32, n1: i32, live: usize, liveCount: i32,
): void {
  if (M <= 0 || n1 <= n0) return;
  const packedA = work;
  const packedB = work + (<usize>(MC * KC) << 2);
  const tile = packedB + (<usize>(KC * NC) << 2);
  for (let jc = n0; jc < n1; jc += NC) {
    const nc = min(NC, n1 - jc);
    let first = 0; // the first listed depth of this block
    for (let pc = 0; pc < K; pc += KC) {
      let last = first;
      while (last < liveCount && load<i32>(live + (<usize>last << 2)) < pc + KC) last++;
      const kc = last - first;
      const acc = pc > 0 || accumulate != 0;
      if (kc == 0) {
        // a block of zero terms: its partial sum is +0, which only the first block writes
        if (!acc) for (let i = 0; i < M; i++) memory.fill(c + (<usize>(i * N + jc) << 2), 0, <usize>nc << 2);
        continue;
      }
      const depths = live + (<usize>first << 2);
      packBRows(b, N, jc, nc, kc, depths, packedB);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        if (transA) packATransposedRows(a, M, ic, mc, kc, depths, packedA);
        else packAColumns(a, K, ic, mc, kc, depths, packedA);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const pb = packedB + (<usize>(jr * kc) << 2);
          panelTiles(packedA, pb, NR << 2, kc, c + (<usize>(ic * N + jc + jr) << 2), N, mc, cols, acc, tile);
        }
      }
      first = last;
    }
  }
}

// packB's panels from the listed rows of B (K×N): panel p holds, for each listed k, B[k][8p .. 8p+7].
function packBRows(b: usize, N: i32, jc: i32, nc: i32, kc: i32, depths: usize, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    for (let k = 0; k < kc; k++) {
      const src = b + (<usize>(load<i32>(depths + (<usize>k << 2)) * N + jc + jr) << 2);
      if (cols == NR) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
      } else {
        for (let t = 0; t < NR; t++) store<f32>(dst + (<usize>t << 2), t < cols ? load<f32>(src + (<usize>t << 2)) : 0);
      }
      dst += 32;
    }
  }
}

// packA's panels from the listed columns of A (M×K): panel p holds, for each listed k, A[4p .. 4p+3][k].
function packAColumns(a: usize, K: i32, ic: i32, mc: i32, kc: i32, depths: usize, dst: usize): void {
  const rowBytes = <usize>K << 2;
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    const src = a + (<usize>((ic + ir) * K) << 2);
    for (let k = 0; k < kc; k++) {
      const s = src + (<usize>load<i32>(depths + (<usize>k << 2)) << 2);
      for (let r = 0; r < MR; r++) store<f32>(dst + (<usize>r << 2), r < rows ? load<f32>(s + <usize>r * rowBytes) : 0);
      dst += 16;
    }
  }
}

// packATransposed's panels from the listed rows of A (K×M).
function packATransposedRows(a: usize, M: i32, ic: i32, mc: i32, kc: i32, depths: usize, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    for (let k = 0; k < kc; k++) {
      const src = a + (<usize>(load<i32>(depths + (<usize>k << 2)) * M + ic + ir) << 2);
      if (rows == MR) v128.store(dst, v128.load(src));
      else for (let r = 0; r < MR; r++) store<f32>(dst + (<usize>r << 2), r < rows ? load<f32>(src + (<usize>r << 2)) : 0);
      dst += 16;
    }
  }
}

// B (K×N) block → panels of 8 columns; panel p holds, for each k, B[k][8p .. 8p+7] (zero-padded).
function packB(b: usize, N: i32, jc: i32, pc: i32, nc: i32, kc: i32, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    let src = b + (<usize>(pc * N + jc + jr) << 2);
    const stride = <usize>N << 2;
    if (cols == NR) {
      for (let k = 0; k < kc; k++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        src += stride;
        dst += 32;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let t = 0; t < NR; t++) {
          store<f32>(dst + (<usize>t << 2), t < cols ? load<f32>(src + (<usize>t << 2)) : 0);
        }
        src += stride;
        dst += 32;
      }
    }
  }
}

// Same panels for op(B) = Bᵀ with B stored N×K: column j of op(B) is row j of B.
function packBTransposed(b: usize, K: i32, jc: i32, pc: i32, nc: i32, kc: i32, dst: usize): void {
  const rowBytes = <usize>K << 2;
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const src = b + (<usize>((jc + jr) * K + pc) << 2);
    if (cols == NR) {
      // 4 k at a time: load 4 consecutive k from each of the 8 rows, transpose two 4×4 blocks.
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const s = src + (<usize>k << 2);
        const r0 = v128.load(s), r1 = v128.load(s + rowBytes);
        const r2 = v128.load(s + 2 * rowBytes), r3 = v128.load(s + 3 * rowBytes);
        const r4 = v128.load(s + 4 * rowBytes), r5 = v128.load(s + 5 * rowBytes);
        const r6 = v128.load(s + 6 * rowBytes), r7 = v128.load(s + 7 * rowBytes);
        const d = dst + (<usize>k << 5);
        transposeStore(r0, r1, r2, r3, d);
        transposeStore(r4, r5, r6, r7, d + 16);
      }
      for (; k < kc; k++) {
        const s = src + (<usize>k << 2);
        const d = dst + (<usize>k << 5);
        for (let t = 0; t < NR; t++) store<f32>(d + (<usize>t << 2), load<f32>(s + <usize>t * rowBytes));
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const s = src + (<usize>k << 2);
        const d = dst + (<usize>k << 5);
        for (let t = 0; t < NR; t++) {
          store<f32>(d + (<usize>t << 2), t < cols ? load<f32>(s + <usize>t * rowBytes) : 0);
        }
      }
    }
    dst += <usize>(kc * NR) << 2;
  }
}

// Rows r0..r3 hold 4 consecutive k of 4 columns; store them as 4 k-rows of a panel (stride 32 bytes).
// @ts-ignore: decorator
@inline
function transposeStore(r0: v128, r1: v128, r2: v128, r3: v128, d: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 32);
  v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 64);
  v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 96);
}

// A (M×K) block → panels of 4 rows; panel p holds, for each k, A[4p .. 4p+3][k] (zero-padded).
function packA(a: usize, K: i32, ic: i32, pc: i32, mc: i32, kc: i32, dst: usize): void {
  const rowBytes = <usize>K << 2;
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    const src = a + (<usize>((ic + ir) * K + pc) << 2);
    if (rows == MR) {
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const s = src + (<usize>k << 2);
        transposeStore4(v128.load(s), v128.load(s + rowBytes), v128.load(s + 2 * rowBytes),
          v128.load(s + 3 * rowBytes), dst + (<usize>k << 4));
      }
      for (; k < kc; k++) {
        const s = src + (<usize>k << 2);
        const d = dst + (<usize>k << 4);
        for (let r = 0; r < MR; r++) store<f32>(d + (<usize>r << 2), load<f32>(s + <usize>r * rowBytes));
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const s = src + (<usize>k << 2);
        const d = dst + (<usize>k << 4);
        for (let r = 0; r < MR; r++) {
          store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(s + <usize>r * rowBytes) : 0);
        }
      }
    }
    dst += <usize>(kc * MR) << 2;
  }
}

// 4×4 transpose stored as 4 consecutive k-rows of an A panel (stride 16 bytes).
// @ts-ignore: decorator
@inline
function transposeStore4(r0: v128, r1: v128, r2: v128, r3: v128, d: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 16);
  v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 32);
  v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 48);
}

// Same panels for op(A) = Aᵀ with A stored K×M: the 4 values for one k are already contiguous.
function packATransposed(a: usize, M: i32, ic: i32, pc: i32, mc: i32, kc: i32, dst: usize): void {
  const rowBytes = <usize>M << 2;
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    let src = a + (<usize>(pc * M + ic + ir) << 2);
    if (rows == MR) {
      for (let k = 0; k < kc; k++) {
        v128.store(dst, v128.load(src));
        src += rowBytes;
        dst += 16;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let r = 0; r < MR; r++) {
          store<f32>(dst + (<usize>r << 2), r < rows ? load<f32>(src + (<usize>r << 2)) : 0);
        }
        src += rowBytes;
        dst += 16;
      }
    }
  }
}

// The micro-tiles down one B panel: every 4-row panel of the packed A block (mc rows) times it,
// into C from `c` (the block's first row at this panel's first column).
// @ts-ignore: decorator
@inline
function panelTiles(packedA: usize, pb: usize, bStride: usize, kc: i32, c: usize, ldc: i32, mc: i32, cols: i32, acc: bool, tile: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const pa = packedA + (<usize>(ir * kc) << 2);
    microKernel(pa, pb, bStride, kc, c + (<usize>(ir * ldc) << 2), ldc, min(MR, mc - ir), cols, acc, tile);
  }
}

// One 4×8 tile of C from a packed A panel (kc×4) and a packed B panel (kc×8).
// Full tiles go straight to C; edge tiles go through `tile` so nothing outside C is touched.
function microKernel(
  pa: usize, pb: usize, bStride: usize, kc: i32, c: usize, ldc: i32, rows: i32, cols: i32, accumulate: bool, tile: usize,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let k = 0;
  for (; k < kc; k++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
    pa += 16;
    pb += bStride;
  }
  const ldcBytes = <usize>ldc << 2;
  if (rows == MR && cols == NR) {
    let p = c;
    if (accumulate) {
      v128.store(p, f32x4.add(v128.load(p), c00)); v128.store(p, f32x4.add(v128.load(p, 16), c01), 16); p += ldcBytes;
      v128.store(p, f32x4.add(v128.load(p), c10)); v128.store(p, f32x4.add(v128.load(p, 16), c11), 16); p += ldcBytes;
      v128.store(p, f32x4.add(v128.load(p), c20)); v128.store(p, f32x4.add(v128.load(p, 16), c21), 16); p += ldcBytes;
      v128.store(p, f32x4.add(v128.load(p), c30)); v128.store(p, f32x4.add(v128.load(p, 16), c31), 16);
    } else {
      v128.store(p, c00); v128.store(p, c01, 16); p += ldcBytes;
      v128.store(p, c10); v128.store(p, c11, 16); p += ldcBytes;
      v128.store(p, c20); v128.store(p, c21, 16); p += ldcBytes;
      v128.store(p, c30); v128.store(p, c31, 16);
    }
    return;
  }
  v128.store(tile, c00); v128.store(tile, c01, 16);
  v128.store(tile, c10, 32); v128.store(tile, c11, 48);
  v128.store(tile, c20, 64); v128.store(tile, c21, 80);
  v128.store(tile, c30, 96); v128.store(tile, c31, 112);
  for (let r = 0; r < rows; r++) {
    const dstRow = c + <usize>r * ldcBytes;
    const srcRow = tile + (<usize>r << 5);
    for (let t = 0; t < cols; t++) {
      const v = load<f32>(srcRow + (<usize>t << 2));
      const d = dstRow + (<usize>t << 2);
      store<f32>(d, accumulate ? load<f32>(d) + v : v);
    }
  }
}

/**
 * C[M×N] (+)= A[M×K] · B[N×K]ᵀ as dot products of rows (both contiguous along K), for columns
 * [n0, n1): the shape of a convolution's weight gradient (few outputs, long sums over the batch's
 * pixels), where packing would cost as much as the products. Two rows of A by four of B at a time.
 */
export function sgemmDot(M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, accumulate: i32, n0: i32, n1: i32): void {
  // depth in blocks, so the rows' blocks stay in L2 while every pair of them is summed
  for (let k0 = 0; k0 < K; k0 += DOT_BLOCK) {
    dotBlock(M, N, K, a, b, c, accumulate != 0 || k0 > 0 ? 1 : 0, n0, n1, k0, min(K, k0 + DOT_BLOCK));
  }
}

const DOT_BLOCK: i32 = 1024;

// C[i][j] (+)= Σ_{k0 ≤ k < k1} A[i][k] · B[j][k] for j in [n0, n1).
function dotBlock(M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, accumulate: i32, n0: i32, n1: i32, k0: i32, k1: i32): void {
  const kv = k0 + (((k1 - k0) >> 2) << 2);
  const rowBytes = <usize>K << 2;
  let i = 0;
  for (; i + 2 <= M; i += 2) {
    const a0 = a + <usize>i * rowBytes, a1 = a0 + rowBytes;
    let j = n0;
    for (; j + 4 <= n1; j += 4) {
      const b0 = b + <usize>j * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes;
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
      let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
      for (let k = k0; k < kv; k += 4) {
        const o = <usize>k << 2;
        const x0 = v128.load(a0 + o), x1 = v128.load(a1 + o);
        let y = v128.load(b0 + o); s00 = madd(x0, y, s00); s10 = madd(x1, y, s10);
        y = v128.load(b1 + o); s01 = madd(x0, y, s01); s11 = madd(x1, y, s11);
        y = v128.load(b2 + o); s02 = madd(x0, y, s02); s12 = madd(x1, y, s12);
        y = v128.load(b3 + o); s03 = madd(x0, y, s03); s13 = madd(x1, y, s13);
      }
      const r0 = c + (<usize>(i * N + j) << 2), r1 = r0 + (<usize>N << 2);
      storeDot(r0, s00, a0, b0, kv, k1, accumulate); storeDot(r0 + 4, s01, a0, b1, kv, k1, accumulate);
      storeDot(r0 + 8, s02, a0, b2, kv, k1, accumulate); storeDot(r0 + 12, s03, a0, b3, kv, k1, accumulate);
      storeDot(r1, s10, a1, b0, kv, k1, accumulate); storeDot(r1 + 4, s11, a1, b1, kv, k1, accumulate);
      storeDot(r1 + 8, s12, a1, b2, kv, k1, accumulate); storeDot(r1 + 12, s13, a1, b3, kv, k1, accumulate);
    }
    for (; j < n1; j++) {
      dotOne(a0, b + <usize>j * rowBytes, k0, kv, k1, c + (<usize>(i * N + j) << 2), accumulate);
      dotOne(a1, b + <usize>j * rowBytes, k0, kv, k1, c + (<usize>((i + 1) * N + j) << 2), accumulate);
    }
  }
  for (; i < M; i++) {
    for (let j = n0; j < n1; j++) dotOne(a + <usize>i * rowBytes, b + <usize>j * rowBytes, k0, kv, k1, c + (<usize>(i * N + j) << 2), accumulate);
  }
}

// One dot of rows x and y (the vector part already summed in s when given), plus the scalar tail.
// @ts-ignore: decorator
@inline
function storeDot(at: usize, s: v128, x: usize, y: usize, kv: i32, K: i32, accumulate: i32): void {
  const h = f32x4.add(s, v128.shuffle<f32>(s, s, 2, 3, 0, 1));
  let sum = f32x4.extract_lane(h, 0) + f32x4.extract_lane(h, 1);
  for (let k = kv; k < K; k++) sum += load<f32>(x + (<usize>k << 2)) * load<f32>(y + (<usize>k << 2));
  store<f32>(at, accumulate ? load<f32>(at) + sum : sum);
}

// @ts-ignore: decorator
@inline
function dotOne(x: usize, y: usize, k0: i32, kv: i32, k1: i32, at: usize, accumulate: i32): void {
  let s = f32x4.splat(0);
  for (let k = k0; k < kv; k += 4) s = madd(v128.load(x + (<usize>k << 2)), v128.load(y + (<usize>k << 2)), s);
  storeDot(at, s, x, y, kv, k1, accumulate);
}
