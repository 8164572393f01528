// a·b + c on four lanes. The relaxed-SIMD build fuses it into one FMA (results may
// differ from the plain build in the last bits); the plain build multiplies then adds.
// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}
