// The SIMD ceiling: multiply-adds on eight independent f32x4 accumulators with no memory traffic,
// the same instruction mix as the GEMM micro-kernel. Benchmarks report GEMM as a fraction of it.
import { madd } from "./madd";

/** Runs `iterations` × 64 multiply-adds (128 flops); returns a value so nothing is optimised away. */
export function simdPeak(iterations: i32, seed: f32): f32 {
  const a = f32x4.splat(seed), b = f32x4.splat(0.999);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(1), c2 = f32x4.splat(2), c3 = f32x4.splat(3);
  let c4 = f32x4.splat(4), c5 = f32x4.splat(5), c6 = f32x4.splat(6), c7 = f32x4.splat(7);
  for (let i = 0; i < iterations; i++) {
    c0 = madd(a, b, c0); c1 = madd(a, b, c1); c2 = madd(a, b, c2); c3 = madd(a, b, c3);
    c4 = madd(a, b, c4); c5 = madd(a, b, c5); c6 = madd(a, b, c6); c7 = madd(a, b, c7);
    c0 = madd(c1, b, c0); c1 = madd(c2, b, c1); c2 = madd(c3, b, c2); c3 = madd(c4, b, c3);
    c4 = madd(c5, b, c4); c5 = madd(c6, b, c5); c6 = madd(c7, b, c6); c7 = madd(c0, b, c7);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  return f32x4.extract_lane(s, 0);
}
