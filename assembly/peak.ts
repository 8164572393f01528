// The SIMD ceiling: f32x4 multiply-adds into twelve independent accumulators with no memory
// traffic (the GEMM micro-kernel's instruction mix without its loads). Benchmarks report GEMM
// as a fraction of it.
import { madd } from "./madd";

/** Runs `iterations` × 48 lane multiply-adds (96 flops); returns a value so nothing is optimised away. */
export function simdPeak(iterations: i32, seed: f32): f32 {
  const a = f32x4.splat(seed), b = f32x4.splat(0.999);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(1), c2 = f32x4.splat(2), c3 = f32x4.splat(3);
  let c4 = f32x4.splat(4), c5 = f32x4.splat(5), c6 = f32x4.splat(6), c7 = f32x4.splat(7);
  let c8 = f32x4.splat(8), c9 = f32x4.splat(9), c10 = f32x4.splat(10), c11 = f32x4.splat(11);
  for (let i = 0; i < iterations; i++) {
    c0 = madd(a, b, c0); c1 = madd(a, b, c1); c2 = madd(a, b, c2); c3 = madd(a, b, c3);
    c4 = madd(a, b, c4); c5 = madd(a, b, c5); c6 = madd(a, b, c6); c7 = madd(a, b, c7);
    c8 = madd(a, b, c8); c9 = madd(a, b, c9); c10 = madd(a, b, c10); c11 = madd(a, b, c11);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  return f32x4.extract_lane(f32x4.add(s, f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11))), 0);
}
