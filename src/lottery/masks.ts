// Building masks for each arm: magnitude pruning of the trained ticket (layer-wise or global),
// one-shot pruning to a target, and random masks with the same per-layer counts (the control).
import type { Parameter } from "../nn/parameter.js";
import { countKept, pruneSmallest } from "../prune/magnitude.js";
import type { Random } from "../random.js";
import type { Strategy } from "./config.js";

export interface Density {
  /** Fraction of prunable weights remaining, overall. */
  remaining: number;
  kept: number;
  total: number;
  byLayer: Record<string, number>;
}

export function density(prunable: readonly Parameter[]): Density {
  let kept = 0,
    total = 0;
  const byLayer: Record<string, number> = {};
  for (const p of prunable) {
    const k = p.mask ? countKept(p.mask) : p.value.size;
    byLayer[p.name] = k / p.value.size;
    kept += k;
    total += p.value.size;
  }
  return { remaining: kept / total, kept, total, byLayer };
}

/**
 * One round of magnitude pruning on trained weights: layer-wise prunes round(rate · remaining)
 * of each layer; global prunes round(globalRate · remaining) across all layers together.
 * Pruned weights and mask entries become zero.
 */
export function magnitudePrune(prunable: readonly Parameter[], strategy: Strategy, layerRates: Record<string, number>, globalRate: number): void {
  if (strategy === "global") {
    const remaining = prunable.reduce((n, p) => n + countKept(p.ensureMask()), 0);
    pruneSmallest(
      prunable.map((p) => ({ name: p.name, weights: p.value, mask: p.ensureMask() })),
      Math.round(globalRate * remaining),
    );
    return;
  }
  for (const p of prunable) {
    const rate = layerRates[p.name];
    if (rate === undefined) throw new Error(`no pruning rate for ${p.name} (rates given for ${Object.keys(layerRates).join(", ")})`);
    const mask = p.ensureMask();
    pruneSmallest([{ name: p.name, weights: p.value, mask }], Math.round(rate * countKept(mask)));
  }
}

/**
 * How many weights one round of `magnitudePrune` would remove, from the masks alone. Zero means
 * every further round would repeat the last one: a search must stop there.
 */
export function weightsToPrune(prunable: readonly Parameter[], strategy: Strategy, layerRates: Record<string, number>, globalRate: number): number {
  if (strategy === "global") return Math.round(globalRate * prunable.reduce((n, p) => n + (p.mask ? countKept(p.mask) : p.value.size), 0));
  return prunable.reduce((n, p) => n + Math.round((layerRates[p.name] ?? 0) * (p.mask ? countKept(p.mask) : p.value.size)), 0);
}

/** Prunes straight to `remaining` of the weights: of each layer (layer-wise) or overall (global). */
export function pruneToFraction(prunable: readonly Parameter[], strategy: Strategy, remaining: number): void {
  if (strategy === "global") {
    const kept = prunable.reduce((n, p) => n + countKept(p.ensureMask()), 0);
    const total = prunable.reduce((n, p) => n + p.value.size, 0);
    pruneSmallest(
      prunable.map((p) => ({ name: p.name, weights: p.value, mask: p.ensureMask() })),
      Math.max(0, kept - Math.round(remaining * total)),
    );
    return;
  }
  for (const p of prunable) {
    const mask = p.ensureMask();
    pruneSmallest([{ name: p.name, weights: p.value, mask }], Math.max(0, countKept(mask) - Math.round(remaining * p.value.size)));
  }
}

/** A uniformly random mask keeping exactly `kept` of `size` entries (partial Fisher–Yates). */
export function randomMask(size: number, kept: number, rng: Random): Float32Array {
  const order = Int32Array.from({ length: size }, (_, i) => i);
  for (let i = 0; i < kept; i++) {
    const j = i + rng.int(size - i);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const mask = new Float32Array(size);
  for (let i = 0; i < kept; i++) mask[order[i]] = 1;
  return mask;
}
