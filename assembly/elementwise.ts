// Elementwise and reduction kernels for the autograd ops. Pointers are byte offsets into the
// shared memory; lengths count f32 elements. Vector loops run four lanes, a scalar tail finishes.

/** out[i] = a[i] + b[i] */
export function add(a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** dst[i] += alpha · src[i] (gradient accumulation when alpha = 1) */
export function axpy(alpha: f32, src: usize, dst: usize, n: i32): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), f32x4.mul(va, v128.load(src + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + alpha * load<f32>(src + o));
  }
}

/** out[i] = alpha · x[i] */
export function scale(alpha: f32, x: usize, out: usize, n: i32): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(va, v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, alpha * load<f32>(x + o));
  }
}

/** out[i] = a[i] · b[i] */
export function mul(a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) * load<f32>(b + o));
  }
}

/** out[r][c] = x[r][c] + bias[c]: adds a bias row to every row. */
export function addRowBroadcast(x: usize, bias: usize, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = <usize>(r * cols) << 2;
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const o = <usize>c << 2;
      v128.store(out + row + o, f32x4.add(v128.load(x + row + o), v128.load(bias + o)));
    }
    for (; c < cols; c++) {
      const o = <usize>c << 2;
      store<f32>(out + row + o, load<f32>(x + row + o) + load<f32>(bias + o));
    }
  }
}

/** out[c] (+)= Σ_r x[r][c]: the gradient of a broadcast bias. */
export function sumRows(x: usize, out: usize, rows: i32, cols: i32, accumulate: i32): void {
  if (!accumulate) memory.fill(out, 0, <usize>cols << 2);
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>(r * cols) << 2);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const o = <usize>c << 2;
      v128.store(out + o, f32x4.add(v128.load(out + o), v128.load(row + o)));
    }
    for (; c < cols; c++) {
      const o = <usize>c << 2;
      store<f32>(out + o, load<f32>(out + o) + load<f32>(row + o));
    }
  }
}

/** out[i] = max(x[i], 0) */
export function relu(x: usize, out: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.max(v128.load(x + o), zero));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, max(load<f32>(x + o), 0));
  }
}

/** gradIn[i] += x[i] > 0 ? gradOut[i] : 0 (the subgradient at 0 is taken as 0) */
export function reluBackward(x: usize, gradOut: usize, gradIn: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const positive = f32x4.gt(v128.load(x + o), zero);
    v128.store(gradIn + o, f32x4.add(v128.load(gradIn + o), v128.and(v128.load(gradOut + o), positive)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    if (load<f32>(x + o) > 0) store<f32>(gradIn + o, load<f32>(gradIn + o) + load<f32>(gradOut + o));
  }
}

/** Σ x[i], accumulated in f64 so long sums stay accurate. */
export function sum(x: usize, n: i32): f64 {
  let lo = f64x2.splat(0), hi = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
    hi = f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
  }
  const both = f64x2.add(lo, hi);
  let total = f64x2.extract_lane(both, 0) + f64x2.extract_lane(both, 1);
  for (; i < n; i++) total += <f64>load<f32>(x + (<usize>i << 2));
  return total;
}

/** x[i] = value */
export function fill(x: usize, value: f32, n: i32): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(x + (<usize>i << 2), v);
  for (; i < n; i++) store<f32>(x + (<usize>i << 2), value);
}

/**
 * Softmax cross-entropy, forward. For each row r of logits (rows × cols) with integer label
 * labels[r], writes softmax probabilities to probs and returns Σ_r −log softmax(x_r)[label_r]
 * (in f64). Stable: subtracts the row maximum before exponentiating.
 */
export function softmaxCrossEntropy(logits: usize, labels: usize, probs: usize, rows: i32, cols: i32): f64 {
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const x = logits + (<usize>(r * cols) << 2);
    const p = probs + (<usize>(r * cols) << 2);
    let m = load<f32>(x);
    for (let c = 1; c < cols; c++) m = max(m, load<f32>(x + (<usize>c << 2)));
    let s: f32 = 0;
    for (let c = 0; c < cols; c++) {
      const e = Mathf.exp(load<f32>(x + (<usize>c << 2)) - m);
      store<f32>(p + (<usize>c << 2), e);
      s += e;
    }
    const inv: f32 = 1 / s;
    for (let c = 0; c < cols; c++) store<f32>(p + (<usize>c << 2), load<f32>(p + (<usize>c << 2)) * inv);
    const label = load<i32>(labels + (<usize>r << 2));
    total += <f64>(m + Mathf.log(s) - load<f32>(x + (<usize>label << 2)));
  }
  return total;
}

/** gradLogits[r][c] += scale · (probs[r][c] − [c == labels[r]]) */
export function softmaxCrossEntropyBackward(
  probs: usize, labels: usize, gradLogits: usize, rows: i32, cols: i32, scaleBy: f32,
): void {
  for (let r = 0; r < rows; r++) {
    const p = probs + (<usize>(r * cols) << 2);
    const g = gradLogits + (<usize>(r * cols) << 2);
    const label = load<i32>(labels + (<usize>r << 2));
    for (let c = 0; c < cols; c++) {
      const o = <usize>c << 2;
      const target: f32 = c == label ? 1 : 0;
      store<f32>(g + o, load<f32>(g + o) + scaleBy * (load<f32>(p + o) - target));
    }
  }
}

/** Row-wise argmax of x (rows × cols) into out (i32). */
export function argmaxRows(x: usize, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>(r * cols) << 2);
    let best = 0;
    let bestValue = load<f32>(row);
    for (let c = 1; c < cols; c++) {
      const v = load<f32>(row + (<usize>c << 2));
      if (v > bestValue) { bestValue = v; best = c; }
    }
    store<i32>(out + (<usize>r << 2), best);
  }
}

/** out[i] = pixels[i] · scaleBy + shift: uint8 images to f32 inputs, one batch at a time. */
export function bytesToFloat(pixels: usize, out: usize, n: i32, scaleBy: f32, shift: f32): void {
  for (let i = 0; i < n; i++) {
    store<f32>(out + (<usize>i << 2), <f32>load<u8>(pixels + <usize>i) * scaleBy + shift);
  }
}

/** x[i] += value (the gradient of a sum: every input receives the output's gradient) */
export function addScalar(x: usize, value: f32, n: i32): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(x + o, f32x4.add(v128.load(x + o), v));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, load<f32>(x + o) + value);
  }
}

/** Count of nonzero entries whose magnitude is below the smallest normal f32 (subnormals). */
export function countSubnormal(x: usize, n: i32): i32 {
  let count = 0;
  for (let i = 0; i < n; i++) {
    const bits = load<u32>(x + (<usize>i << 2)) & 0x7fffffff;
    if (bits != 0 && bits < 0x00800000) count++;
  }
  return count;
}
