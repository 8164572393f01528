// The features of a batch that are nonzero in at least one example ("live"), and the moves that let
// a layer's products run over those alone: MNIST's border pixels are zero in every image of a
// batch, so a third of a first layer's products would only add zeros.

// Appends k to the list when `nonzero` is set; returns the new length.
// @ts-ignore: decorator
@inline
function appendIf(live: usize, count: i32, k: i32, nonzero: i32): i32 {
  store<i32>(live + (<usize>count << 2), k);
  return nonzero != 0 ? count + 1 : count;
}

/**
 * Writes the live features of x in ascending order to `live` (i32) and returns how many there
 * are. rowsLayout = 1: x is [batch, features]; 0: x is [features, batch]. −0 counts as zero.
 */
export function liveFeatures(x: usize, features: i32, batch: i32, rowsLayout: i32, live: usize): i32 {
  const zero = f32x4.splat(0);
  let count = 0;
  if (rowsLayout) {
    const rowBytes = <usize>features << 2;
    let k = 0;
    for (; k + 4 <= features; k += 4) {
      let any = i32x4.splat(0);
      let at = x + (<usize>k << 2);
      for (let n = 0; n < batch; n++, at += rowBytes) any = v128.or(any, f32x4.ne(v128.load(at), zero));
      count = appendIf(live, count, k, i32x4.extract_lane(any, 0));
      count = appendIf(live, count, k + 1, i32x4.extract_lane(any, 1));
      count = appendIf(live, count, k + 2, i32x4.extract_lane(any, 2));
      count = appendIf(live, count, k + 3, i32x4.extract_lane(any, 3));
    }
    for (; k < features; k++) {
      let at = x + (<usize>k << 2);
      for (let n = 0; n < batch; n++, at += rowBytes) {
        if (load<f32>(at) != 0) {
          store<i32>(live + (<usize>count << 2), k);
          count++;
          break;
        }
      }
    }
    return count;
  }
  for (let k = 0; k < features; k++) {
    const row = x + ((<usize>k * <usize>batch) << 2);
    let any = i32x4.splat(0);
    let n = 0;
    for (; n + 4 <= batch; n += 4) any = v128.or(any, f32x4.ne(v128.load(row + (<usize>n << 2)), zero));
    let nonzero = v128.any_true(any);
    for (; n < batch; n++) nonzero = nonzero || load<f32>(row + (<usize>n << 2)) != 0;
    if (nonzero) {
      store<i32>(live + (<usize>count << 2), k);
      count++;
    }
  }
  return count;
}

/**
 * The live features of x, compacted. rowsLayout = 1: x [batch, features] → out [batch, count]
 * (columns gathered); 0: x [features, batch] → out [count, batch] (rows gathered). Live features
 * [r0, r1) of the list only (threads split the list).
 */
export function gatherFeatures(x: usize, features: i32, batch: i32, rowsLayout: i32, live: usize, count: i32, out: usize, r0: i32, r1: i32): void {
  if (rowsLayout) {
    for (let n = 0; n < batch; n++) {
      const src = x + ((<usize>n * <usize>features) << 2);
      const dst = out + ((<usize>n * <usize>count) << 2);
      for (let r = r0; r < r1; r++) store<f32>(dst + (<usize>r << 2), load<f32>(src + (<usize>load<i32>(live + (<usize>r << 2)) << 2)));
    }
    return;
  }
  const rowBytes = <usize>batch << 2;
  for (let r = r0; r < r1; r++) memory.copy(out + <usize>r * rowBytes, x + <usize>load<i32>(live + (<usize>r << 2)) * rowBytes, rowBytes);
}

/**
 * Rows of a product over the live features back in place: into[live[r]] = rows[r] (or +=), and
 * every other row of `into` set to 0 (or has 0 added: what the full product's zero sums would do).
 * Features [k0, k1) only (threads split them), r0 being the first list entry ≥ k0.
 * rows: [count, cols]; into: [features, cols].
 */
export function scatterRows(
  rows: usize, into: usize, features: i32, cols: i32, live: usize, count: i32, accumulate: i32, k0: i32, k1: i32, r0: i32,
): void {
  const rowBytes = <usize>cols << 2;
  const zero = f32x4.splat(0);
  let r = r0;
  for (let k = k0; k < k1; k++) {
    const dst = into + <usize>k * rowBytes;
    const listed = r < count && load<i32>(live + (<usize>r << 2)) == k;
    const src = rows + <usize>r * rowBytes;
    let t = 0;
    for (; t + 4 <= cols; t += 4) {
      const o = <usize>t << 2;
      const v = listed ? v128.load(src + o) : zero;
      v128.store(dst + o, accumulate ? f32x4.add(v128.load(dst + o), v) : v);
    }
    for (; t < cols; t++) {
      const o = <usize>t << 2;
      const v: f32 = listed ? load<f32>(src + o) : 0;
      store<f32>(dst + o, accumulate ? load<f32>(dst + o) + v : v);
    }
    if (listed) r++;
  }
}

/**
 * The entries of a compact sparse weight (by output: offsets[outputs + 1], input indices, and the
 * input rows' byte offsets) whose input is among the `count` live features, in the same order:
 * liveOffsets[outputs + 1], liveRows (byte offsets) and livePositions (where each sits in the
 * full list, so values and gradients are read and written there). `flags` is scratch of
 * `inputs` i32. Returns the number of entries kept.
 */
export function liveEntries(
  offsets: usize, indices: usize, inputRows: usize, outputs: i32, inputs: i32, live: usize, count: i32, flags: usize,
  liveOffsets: usize, liveRows: usize, livePositions: usize,
): i32 {
  memory.fill(flags, 0, <usize>inputs << 2);
  for (let r = 0; r < count; r++) store<i32>(flags + (<usize>load<i32>(live + (<usize>r << 2)) << 2), 1);
  let q = 0;
  store<i32>(liveOffsets, 0);
  for (let j = 0; j < outputs; j++) {
    const end = load<i32>(offsets + (<usize>(j + 1) << 2));
    for (let p = load<i32>(offsets + (<usize>j << 2)); p < end; p++) {
      const at = <usize>p << 2;
      store<i32>(liveRows + (<usize>q << 2), load<i32>(inputRows + at));
      store<i32>(livePositions + (<usize>q << 2), p);
      q += load<i32>(flags + (<usize>load<i32>(indices + at) << 2));
    }
    store<i32>(liveOffsets + (<usize>(j + 1) << 2), q);
  }
  return q;
}

/** out[q] = values[positions[q]] for q in [0, count). */
export function takeAt(values: usize, positions: usize, out: usize, count: i32): void {
  for (let q = 0; q < count; q++) {
    store<f32>(out + (<usize>q << 2), load<f32>(values + (<usize>load<i32>(positions + (<usize>q << 2)) << 2)));
  }
}

/** into[positions[q]] = values[q] for q in [0, count). */
export function putAt(values: usize, positions: usize, into: usize, count: i32): void {
  for (let q = 0; q < count; q++) {
    store<f32>(into + (<usize>load<i32>(positions + (<usize>q << 2)) << 2), load<f32>(values + (<usize>q << 2)));
  }
}
