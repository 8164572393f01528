// Magnitude selection for pruning: the threshold below which exactly k of the unmasked weights
// fall, in O(n) by a two-level radix select on the IEEE bits of |w| (for non-negative floats
// the bit pattern orders like the value). Several buffers can be selected over together
// (global pruning). Ties at the threshold go in buffer order, then index order, so exactly
// k entries are pruned and the choice is deterministic.
//
// A buffer list is an array of 12-byte records at `list`: weights pointer, mask pointer
// (0 = all unmasked), length.

const BINS: i32 = 65536;

// Results, written to `result`: [0] threshold bits, [1] ties at the threshold to prune,
// [2] the offending global index when the status is not OK.
export const SELECT_OK: i32 = 0;
export const SELECT_NOT_FINITE: i32 = 1;
export const SELECT_TOO_FEW: i32 = 2;

/** Bytes of scratch `magnitudeThreshold` needs at `histogram`. */
export function selectWorkspaceBytes(): i32 {
  return BINS * 4;
}

export function magnitudeThreshold(list: usize, count: i32, k: i32, histogram: usize, result: usize): i32 {
  memory.fill(histogram, 0, <usize>BINS << 2);
  // Pass 1: histogram of the high 16 bits (sign cleared) of every unmasked weight.
  let seen = 0;
  for (let b = 0; b < count; b++) {
    const rec = list + <usize>b * 12;
    const w = <usize>load<u32>(rec), mask = <usize>load<u32>(rec, 4), n = load<i32>(rec, 8);
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      if (mask && load<f32>(mask + o) == 0) continue;
      const bits = load<u32>(w + o) & 0x7fffffff;
      if (bits >= 0x7f800000) {
        store<i32>(result, seen + i, 8);
        return SELECT_NOT_FINITE;
      }
      const h = histogram + (<usize>(bits >>> 16) << 2);
      store<u32>(h, load<u32>(h) + 1);
    }
    seen += n;
  }
  let remaining = k;
  let high = 0;
  for (; high < BINS; high++) {
    const c = load<i32>(histogram + (<usize>high << 2));
    if (c >= remaining) break;
    remaining -= c;
  }
  if (high == BINS) return SELECT_TOO_FEW;
  // Pass 2: histogram of the low 16 bits among weights in the chosen high bin.
  memory.fill(histogram, 0, <usize>BINS << 2);
  const highBits = <u32>high;
  for (let b = 0; b < count; b++) {
    const rec = list + <usize>b * 12;
    const w = <usize>load<u32>(rec), mask = <usize>load<u32>(rec, 4), n = load<i32>(rec, 8);
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      const bits = load<u32>(w + o) & 0x7fffffff;
      if (bits >>> 16 != highBits) continue;
      if (mask && load<f32>(mask + o) == 0) continue;
      const h = histogram + (<usize>(bits & 0xffff) << 2);
      store<u32>(h, load<u32>(h) + 1);
    }
  }
  let low = 0;
  for (; low < BINS; low++) {
    const c = load<i32>(histogram + (<usize>low << 2));
    if (c >= remaining) break;
    remaining -= c;
  }
  store<u32>(result, (highBits << 16) | <u32>low);
  store<i32>(result, remaining, 4);
  return SELECT_OK;
}

/**
 * Prunes the selection: every unmasked weight with |w| below the threshold, and the first
 * `ties` unmasked weights equal to it, get mask 0 and weight 0. Returns how many were pruned.
 */
export function applyThreshold(list: usize, count: i32, thresholdBits: u32, ties: i32): i32 {
  let pruned = 0;
  for (let b = 0; b < count; b++) {
    const rec = list + <usize>b * 12;
    const w = <usize>load<u32>(rec), mask = <usize>load<u32>(rec, 4), n = load<i32>(rec, 8);
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      if (load<f32>(mask + o) == 0) continue;
      const bits = load<u32>(w + o) & 0x7fffffff;
      if (bits < thresholdBits || (bits == thresholdBits && ties > 0)) {
        if (bits == thresholdBits) ties--;
        store<f32>(mask + o, 0);
        store<f32>(w + o, 0);
        pruned++;
      }
    }
  }
  return pruned;
}
