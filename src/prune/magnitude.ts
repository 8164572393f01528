// Magnitude pruning over one weight buffer (layer-wise) or several (global), through the
// radix-select kernel: exactly k of the unmasked weights go, the smallest |w| first, ties in
// buffer order then index order.

import type { Tensor } from "../autograd/tensor.js";
import { engine } from "../engine/engine.js";

export interface PruneTarget {
  /** Used in error messages. */
  name: string;
  weights: Tensor;
  /** 1 = kept, 0 = pruned; same shape as the weights. */
  mask: Tensor;
}

export interface Threshold {
  /** |w| below this is pruned... */
  threshold: number;
  /** ...and this many unmasked weights exactly equal to it (the first ones, in order). */
  ties: number;
  thresholdBits: number;
}

const SELECT_NOT_FINITE = 1;
const SELECT_TOO_FEW = 2;

function withRecords<T>(targets: readonly PruneTarget[], fn: (list: number) => T): T {
  const e = engine();
  for (const t of targets) {
    if (t.weights.size !== t.mask.size) {
      throw new Error(
        `prune: mask of ${t.name} has ${t.mask.size} entries but its weights have ${t.weights.size} (shapes [${t.mask.shape.join(", ")}] and [${t.weights.shape.join(", ")}])`,
      );
    }
  }
  const list = e.allocator.alloc(targets.length * 12);
  try {
    const records = e.u32(list, targets.length * 3);
    targets.forEach((t, i) => {
      records[3 * i] = t.weights.ptr;
      records[3 * i + 1] = t.mask.ptr;
      records[3 * i + 2] = t.weights.size;
    });
    return fn(list);
  } finally {
    e.allocator.release(list, targets.length * 12);
  }
}

/** Counts the unmasked (kept) entries of a mask. */
export function countKept(mask: Tensor): number {
  return Math.round(engine().kernels.sum(mask.ptr, mask.size));
}

/** The threshold that selects exactly k of the smallest-magnitude unmasked weights. */
export function smallestThreshold(targets: readonly PruneTarget[], k: number): Threshold {
  const available = targets.reduce((n, t) => n + countKept(t.mask), 0);
  if (!Number.isInteger(k) || k < 1 || k > available) {
    throw new Error(`prune: cannot select ${k} weights among ${available} unmasked in ${targets.map((t) => t.name).join(", ")}`);
  }
  const e = engine();
  const histogram = e.selectWork;
  const result = e.allocator.alloc(16);
  try {
    const status = withRecords(targets, (list) => e.kernels.magnitudeThreshold(list, targets.length, k, histogram, result));
    const out = e.u32(result, 3);
    if (status === SELECT_NOT_FINITE) {
      let index = out[2];
      for (const t of targets) {
        if (index < t.weights.size) {
          throw new Error(`prune: ${t.name} has a non-finite weight (${t.weights.view()[index]}) at flat index ${index}; training has diverged`);
        }
        index -= t.weights.size;
      }
    }
    if (status === SELECT_TOO_FEW) throw new Error(`prune: fewer than ${k} unmasked weights`);
    const bits = out[0];
    return { thresholdBits: bits, ties: out[1], threshold: new Float32Array(new Uint32Array([bits]).buffer)[0] };
  } finally {
    e.allocator.release(result, 16);
  }
}

/**
 * Prunes exactly k of the smallest-magnitude unmasked weights across all targets together:
 * their mask entries and weights become 0. k = 0 does nothing. Returns k.
 */
export function pruneSmallest(targets: readonly PruneTarget[], k: number): number {
  if (k === 0) return 0;
  const { thresholdBits, ties } = smallestThreshold(targets, k);
  const pruned = withRecords(targets, (list) => engine().kernels.applyThreshold(list, targets.length, thresholdBits, ties));
  if (pruned !== k) throw new Error(`prune: internal error: pruned ${pruned} weights, expected ${k}`);
  return pruned;
}
