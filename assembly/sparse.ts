// Sparse × dense products for pruned layers, in feature-major layout: activations are stored
// [features][batch], so every surviving weight becomes one f32x4 axpy or dot over the batch
// (the approach of XNNPACK's sparse kernels, "Fast Sparse ConvNets", CVPR 2020). A layer's
// surviving weights are stored by output: for output j, entries offsets[j] .. offsets[j+1]
// of `inputs` (i32 input index) and `values` (f32 weight).
import { madd } from "./madd";

/**
 * yT[j][b] = Σ_p values[p] · xT[inputs[p]][b] over output j's entries (overwrites yT), for batch
 * lanes [laneBegin, laneEnd): threads split the batch.
 */
export function sparseForward(
  offsets: usize, inputs: usize, values: usize, outputs: i32, xT: usize, yT: usize, batch: i32,
  laneBegin: i32, laneEnd: i32,
): void {
  const rowBytes = <usize>batch << 2;
  for (let j = 0; j < outputs; j++) {
    const begin = load<i32>(offsets + (<usize>j << 2)), end = load<i32>(offsets + (<usize>(j + 1) << 2));
    const out = yT + <usize>j * rowBytes;
    let b = laneBegin;
    // 8 vectors (32 batch lanes) at a time: the accumulators stay in registers
    for (; b + 32 <= laneEnd; b += 32) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
      const lane = <usize>b << 2;
      for (let p = begin; p < end; p++) {
        const w = v128.load32_splat(values + (<usize>p << 2));
        const row = xT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + lane;
        a0 = madd(w, v128.load(row), a0); a1 = madd(w, v128.load(row, 16), a1);
        a2 = madd(w, v128.load(row, 32), a2); a3 = madd(w, v128.load(row, 48), a3);
        a4 = madd(w, v128.load(row, 64), a4); a5 = madd(w, v128.load(row, 80), a5);
        a6 = madd(w, v128.load(row, 96), a6); a7 = madd(w, v128.load(row, 112), a7);
      }
      const o = out + lane;
      v128.store(o, a0); v128.store(o, a1, 16); v128.store(o, a2, 32); v128.store(o, a3, 48);
      v128.store(o, a4, 64); v128.store(o, a5, 80); v128.store(o, a6, 96); v128.store(o, a7, 112);
    }
    // the rest in blocks of 4, 2 and 1 vectors, so the weight list is read as few times as possible
    if (b + 16 <= laneEnd) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      const lane = <usize>b << 2;
      for (let p = begin; p < end; p++) {
        const w = v128.load32_splat(values + (<usize>p << 2));
        const row = xT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + lane;
        a0 = madd(w, v128.load(row), a0); a1 = madd(w, v128.load(row, 16), a1);
        a2 = madd(w, v128.load(row, 32), a2); a3 = madd(w, v128.load(row, 48), a3);
      }
      const o = out + lane;
      v128.store(o, a0); v128.store(o, a1, 16); v128.store(o, a2, 32); v128.store(o, a3, 48);
      b += 16;
    }
    if (b + 8 <= laneEnd) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
      const lane = <usize>b << 2;
      for (let p = begin; p < end; p++) {
        const w = v128.load32_splat(values + (<usize>p << 2));
        const row = xT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + lane;
        a0 = madd(w, v128.load(row), a0); a1 = madd(w, v128.load(row, 16), a1);
      }
      v128.store(out + lane, a0); v128.store(out + lane, a1, 16);
      b += 8;
    }
    for (; b + 4 <= laneEnd; b += 4) {
      let a = f32x4.splat(0);
      const lane = <usize>b << 2;
      for (let p = begin; p < end; p++) {
        const row = xT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + lane;
        a = madd(v128.load32_splat(values + (<usize>p << 2)), v128.load(row), a);
      }
      v128.store(out + lane, a);
    }
    for (; b < laneEnd; b++) {
      let s: f32 = 0;
      for (let p = begin; p < end; p++) {
        s += load<f32>(values + (<usize>p << 2)) * load<f32>(xT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + (<usize>b << 2));
      }
      store<f32>(out + (<usize>b << 2), s);
    }
  }
}

/**
 * dxT[inputs[p]][b] += values[p] · dyT[j][b]: the input gradient, scattered weight by weight, for
 * batch lanes [laneBegin, laneEnd).
 */
export function sparseBackwardInput(
  offsets: usize, inputs: usize, values: usize, outputs: i32, dyT: usize, dxT: usize, batch: i32,
  laneBegin: i32, laneEnd: i32,
): void {
  const rowBytes = <usize>batch << 2;
  for (let j = 0; j < outputs; j++) {
    const begin = load<i32>(offsets + (<usize>j << 2)), end = load<i32>(offsets + (<usize>(j + 1) << 2));
    const dy = dyT + <usize>j * rowBytes;
    let b = laneBegin;
    for (; b + 32 <= laneEnd; b += 32) {
      const lane = <usize>b << 2;
      const g0 = v128.load(dy + lane), g1 = v128.load(dy + lane, 16), g2 = v128.load(dy + lane, 32), g3 = v128.load(dy + lane, 48);
      const g4 = v128.load(dy + lane, 64), g5 = v128.load(dy + lane, 80), g6 = v128.load(dy + lane, 96), g7 = v128.load(dy + lane, 112);
      for (let p = begin; p < end; p++) {
        const w = v128.load32_splat(values + (<usize>p << 2));
        const row = dxT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + lane;
        v128.store(row, madd(w, g0, v128.load(row))); v128.store(row, madd(w, g1, v128.load(row, 16)), 16);
        v128.store(row, madd(w, g2, v128.load(row, 32)), 32); v128.store(row, madd(w, g3, v128.load(row, 48)), 48);
        v128.store(row, madd(w, g4, v128.load(row, 64)), 64); v128.store(row, madd(w, g5, v128.load(row, 80)), 80);
        v128.store(row, madd(w, g6, v128.load(row, 96)), 96); v128.store(row, madd(w, g7, v128.load(row, 112)), 112);
      }
    }
    if (b + 16 <= laneEnd) {
      const lane = <usize>b << 2;
      const g0 = v128.load(dy + lane), g1 = v128.load(dy + lane, 16), g2 = v128.load(dy + lane, 32), g3 = v128.load(dy + lane, 48);
      for (let p = begin; p < end; p++) {
        const w = v128.load32_splat(values + (<usize>p << 2));
        const row = dxT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + lane;
        v128.store(row, madd(w, g0, v128.load(row))); v128.store(row, madd(w, g1, v128.load(row, 16)), 16);
        v128.store(row, madd(w, g2, v128.load(row, 32)), 32); v128.store(row, madd(w, g3, v128.load(row, 48)), 48);
      }
      b += 16;
    }
    if (b + 8 <= laneEnd) {
      const lane = <usize>b << 2;
      const g0 = v128.load(dy + lane), g1 = v128.load(dy + lane, 16);
      for (let p = begin; p < end; p++) {
        const w = v128.load32_splat(values + (<usize>p << 2));
        const row = dxT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + lane;
        v128.store(row, madd(w, g0, v128.load(row))); v128.store(row, madd(w, g1, v128.load(row, 16)), 16);
      }
      b += 8;
    }
    for (; b + 4 <= laneEnd; b += 4) {
      const lane = <usize>b << 2;
      const g = v128.load(dy + lane);
      for (let p = begin; p < end; p++) {
        const row = dxT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + lane;
        v128.store(row, madd(v128.load32_splat(values + (<usize>p << 2)), g, v128.load(row)));
      }
    }
    for (; b < laneEnd; b++) {
      const g = load<f32>(dy + (<usize>b << 2));
      for (let p = begin; p < end; p++) {
        const at = dxT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + (<usize>b << 2);
        store<f32>(at, load<f32>(at) + load<f32>(values + (<usize>p << 2)) * g);
      }
    }
  }
}

/**
 * grad[p] += Σ_b xT[inputs[p]][b] · dyT[j][b]: the weight gradient, only where weights survive.
 * Output j's gradient row stays in registers, 8 vectors (32 lanes) at a time, while its weights'
 * input rows stream past.
 */
export function sparseBackwardWeights(
  offsets: usize, inputs: usize, grad: usize, outputs: i32, xT: usize, dyT: usize, batch: i32,
): void {
  const rowBytes = <usize>batch << 2;
  for (let j = 0; j < outputs; j++) {
    const begin = load<i32>(offsets + (<usize>j << 2)), end = load<i32>(offsets + (<usize>(j + 1) << 2));
    const dy = dyT + <usize>j * rowBytes;
    let b = 0;
    for (; b + 32 <= batch; b += 32) {
      const lane = <usize>b << 2;
      const g0 = v128.load(dy + lane), g1 = v128.load(dy + lane, 16), g2 = v128.load(dy + lane, 32), g3 = v128.load(dy + lane, 48);
      const g4 = v128.load(dy + lane, 64), g5 = v128.load(dy + lane, 80), g6 = v128.load(dy + lane, 96), g7 = v128.load(dy + lane, 112);
      for (let p = begin; p < end; p++) {
        const x = xT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + lane;
        let a = f32x4.mul(v128.load(x), g0);
        let c = f32x4.mul(v128.load(x, 16), g1);
        a = madd(v128.load(x, 32), g2, a); c = madd(v128.load(x, 48), g3, c);
        a = madd(v128.load(x, 64), g4, a); c = madd(v128.load(x, 80), g5, c);
        a = madd(v128.load(x, 96), g6, a); c = madd(v128.load(x, 112), g7, c);
        addLanes(grad + (<usize>p << 2), f32x4.add(a, c));
      }
    }
    if (b + 16 <= batch) {
      const lane = <usize>b << 2;
      const g0 = v128.load(dy + lane), g1 = v128.load(dy + lane, 16), g2 = v128.load(dy + lane, 32), g3 = v128.load(dy + lane, 48);
      for (let p = begin; p < end; p++) {
        const x = xT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + lane;
        const a = madd(v128.load(x, 32), g2, f32x4.mul(v128.load(x), g0));
        const c = madd(v128.load(x, 48), g3, f32x4.mul(v128.load(x, 16), g1));
        addLanes(grad + (<usize>p << 2), f32x4.add(a, c));
      }
      b += 16;
    }
    if (b + 8 <= batch) {
      const lane = <usize>b << 2;
      const g0 = v128.load(dy + lane), g1 = v128.load(dy + lane, 16);
      for (let p = begin; p < end; p++) {
        const x = xT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + lane;
        addLanes(grad + (<usize>p << 2), madd(v128.load(x, 16), g1, f32x4.mul(v128.load(x), g0)));
      }
      b += 8;
    }
    for (; b + 4 <= batch; b += 4) {
      const lane = <usize>b << 2;
      const g0 = v128.load(dy + lane);
      for (let p = begin; p < end; p++) {
        const x = xT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + lane;
        addLanes(grad + (<usize>p << 2), f32x4.mul(v128.load(x), g0));
      }
    }
    for (; b < batch; b++) {
      const g = load<f32>(dy + (<usize>b << 2));
      for (let p = begin; p < end; p++) {
        const at = grad + (<usize>p << 2);
        store<f32>(at, load<f32>(at) + load<f32>(xT + <usize>load<i32>(inputs + (<usize>p << 2)) * rowBytes + (<usize>b << 2)) * g);
      }
    }
  }
}

// *at += the four lanes of v
// @ts-ignore: decorator
@inline
function addLanes(at: usize, v: v128): void {
  store<f32>(at, load<f32>(at) + ((f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3))));
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

/** out[r] (+)= Σ_c x[r][c]. */
export function sumEachRow(x: usize, out: usize, rows: i32, cols: i32, accumulate: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>(r * cols) << 2);
    let a = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= cols; c += 4) a = f32x4.add(a, v128.load(row + (<usize>c << 2)));
    let s = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
    for (; c < cols; c++) s += load<f32>(row + (<usize>c << 2));
    const o = out + (<usize>r << 2);
    store<f32>(o, accumulate ? load<f32>(o) + s : s);
  }
}

/** Gathers the surviving weights of a dense [in × out] W into values[] (in the sparse order). */
export function gatherWeights(w: usize, outputs: i32, offsets: usize, inputs: usize, values: usize): void {
  for (let j = 0; j < outputs; j++) {
    const begin = load<i32>(offsets + (<usize>j << 2)), end = load<i32>(offsets + (<usize>(j + 1) << 2));
    for (let p = begin; p < end; p++) {
      const i = load<i32>(inputs + (<usize>p << 2));
      store<f32>(values + (<usize>p << 2), load<f32>(w + (<usize>(i * outputs + j) << 2)));
    }
  }
}

/** Scatters values[] back into a dense [in × out] W (entries not listed are left alone). */
export function scatterWeights(values: usize, outputs: i32, offsets: usize, inputs: usize, w: usize): void {
  for (let j = 0; j < outputs; j++) {
    const begin = load<i32>(offsets + (<usize>j << 2)), end = load<i32>(offsets + (<usize>(j + 1) << 2));
    for (let p = begin; p < end; p++) {
      const i = load<i32>(inputs + (<usize>p << 2));
      store<f32>(w + (<usize>(i * outputs + j) << 2), load<f32>(values + (<usize>p << 2)));
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
