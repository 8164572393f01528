// Fused, mask-aware optimizer steps: one pass over a parameter reads the weight, its gradient,
// its state and its mask, and writes the new weight and state. A mask entry of 0 forces the
// weight, and its optimizer state, to exactly zero; a mask entry of 1 leaves the update alone.
// mask = 0 (the null pointer) means dense.
//
// Optimizer state below the smallest normal float is flushed to zero: WebAssembly has no
// flush-to-zero mode, and moments that decay geometrically (a dead unit's gradients are exactly
// zero) would otherwise sit in the subnormal range, where x86 float arithmetic is many times slower.

const MIN_NORMAL: f32 = 1.17549435e-38;

// @ts-ignore: decorator
@inline
function flushSubnormal(x: v128): v128 {
  return v128.and(x, f32x4.ge(f32x4.abs(x), f32x4.splat(MIN_NORMAL)));
}

// @ts-ignore: decorator
@inline
function flushSubnormalScalar(x: f32): f32 {
  return Mathf.abs(x) < MIN_NORMAL ? 0 : x;
}

/** Adam (Kingma & Ba) with optional L2 weight decay folded into the gradient. */
export function adamStep(
  w: usize, g: usize, m: usize, v: usize, mask: usize, n: i32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, correction1: f32, correction2: f32, weightDecay: f32,
): void {
  // step size and bias corrections: w -= lr · (m / c1) / (sqrt(v / c2) + eps)
  const vb1 = f32x4.splat(beta1), vb1c = f32x4.splat(1 - beta1);
  const vb2 = f32x4.splat(beta2), vb2c = f32x4.splat(1 - beta2);
  const vlr = f32x4.splat(lr / correction1), vc2 = f32x4.splat(1 / correction2);
  const veps = f32x4.splat(eps), vwd = f32x4.splat(weightDecay);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    let wi = v128.load(w + o);
    let gi = f32x4.add(v128.load(g + o), f32x4.mul(vwd, wi));
    // all-ones lanes where kept: and-ing gives exactly +0 where pruned (a multiply could give -0)
    const keep = mask ? f32x4.ne(v128.load(mask + o), f32x4.splat(0)) : i32x4.splat(-1);
    gi = v128.and(gi, keep);
    let mi = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(vb1c, gi));
    let vi = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(vb2c, f32x4.mul(gi, gi)));
    wi = f32x4.sub(wi, f32x4.div(f32x4.mul(vlr, mi), f32x4.add(f32x4.sqrt(f32x4.mul(vi, vc2)), veps)));
    wi = v128.and(wi, keep); mi = v128.and(flushSubnormal(mi), keep); vi = v128.and(flushSubnormal(vi), keep);
    v128.store(w + o, wi); v128.store(m + o, mi); v128.store(v + o, vi);
  }
  const lrc: f32 = lr / correction1, c2: f32 = 1 / correction2;
  for (; i < n; i++) {
    const o = <usize>i << 2;
    if (mask && load<f32>(mask + o) == 0) {
      store<f32>(w + o, 0); store<f32>(m + o, 0); store<f32>(v + o, 0);
      continue;
    }
    let wi = load<f32>(w + o);
    const gi = load<f32>(g + o) + weightDecay * wi;
    const mi = beta1 * load<f32>(m + o) + (1 - beta1) * gi;
    const vi = beta2 * load<f32>(v + o) + (1 - beta2) * gi * gi;
    wi -= lrc * mi / (Mathf.sqrt(vi * c2) + eps);
    store<f32>(w + o, wi); store<f32>(m + o, flushSubnormalScalar(mi)); store<f32>(v + o, flushSubnormalScalar(vi));
  }
}

/** SGD with (heavy-ball) momentum and optional L2 weight decay: b = μb + g; w -= lr·b. */
export function sgdStep(
  w: usize, g: usize, velocity: usize, mask: usize, n: i32, lr: f32, momentum: f32, weightDecay: f32,
): void {
  const vlr = f32x4.splat(lr), vmu = f32x4.splat(momentum), vwd = f32x4.splat(weightDecay);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    let wi = v128.load(w + o);
    let gi = f32x4.add(v128.load(g + o), f32x4.mul(vwd, wi));
    const keep = mask ? f32x4.ne(v128.load(mask + o), f32x4.splat(0)) : i32x4.splat(-1);
    gi = v128.and(gi, keep);
    let bi = f32x4.add(f32x4.mul(vmu, v128.load(velocity + o)), gi);
    wi = f32x4.sub(wi, f32x4.mul(vlr, bi));
    wi = v128.and(wi, keep); bi = v128.and(flushSubnormal(bi), keep);
    v128.store(w + o, wi); v128.store(velocity + o, bi);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    if (mask && load<f32>(mask + o) == 0) {
      store<f32>(w + o, 0); store<f32>(velocity + o, 0);
      continue;
    }
    let wi = load<f32>(w + o);
    const gi = load<f32>(g + o) + weightDecay * wi;
    const bi = momentum * load<f32>(velocity + o) + gi;
    wi -= lr * bi;
    store<f32>(w + o, wi); store<f32>(velocity + o, flushSubnormalScalar(bi));
  }
}
