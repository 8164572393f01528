// What a lottery-ticket search is asked to do, with the paper's LeNet-300-100 defaults.
import { describeModel, pruneRatesOf } from "../nn/model.js";
import type { ModelSpec } from "../nn/model-spec.js";
import type { TrainConfig } from "../train/train.js";

export type Arm = "ticket" | "reinit" | "random";
export type Strategy = "layerwise" | "global";

export interface LotteryConfig {
  spec: ModelSpec;
  /** The model's registry name or spec file, and where its default settings come from (recorded in results). */
  model?: string;
  protocol?: string;
  train: TrainConfig;
  /** Fixes θ0 and the random controls. */
  seed: number;
  strategy: Strategy;
  /**
   * Fraction of the remaining weights pruned per round, by parameter name (layer-wise), e.g.
   * { "fc1.weight": 0.2, "fc2.weight": 0.2, "fc3.weight": 0.1 }. Global pruning uses `globalRate`.
   */
  layerRates: Record<string, number>;
  globalRate: number;
  /** Pruning rounds after the dense round 0 (the most that will run). */
  rounds: number;
  /** Stop once the fraction of weights remaining is at or below this. */
  targetRemaining?: number;
  /** Stop once early-stop validation accuracy falls more than this below the dense network's. */
  tolerance?: number;
  /** Reset survivors to the weights at this iteration of round 0 (0 = θ0). */
  rewind: number;
  /** Prune straight to this fraction remaining after round 0, then train once. */
  oneShot?: number;
  controls: Arm[];
}

/**
 * The paper's per-round rates by parameter name: 20% of each hidden fully connected layer's
 * remaining weights, 10% of the output layer's, and `convRate` (10%; 15% for Conv-6) of each
 * convolution's.
 */
export function paperRates(spec: ModelSpec, hiddenRate = 0.2, outputRate = 0.1, convRate = 0.1): Record<string, number> {
  return pruneRatesOf(describeModel(spec), { linear: hiddenRate, output: outputRate, conv: convRate });
}

export function validateLotteryConfig(c: LotteryConfig): void {
  const fraction = (name: string, v: number, allowOne = false): void => {
    if (!(v >= 0 && (allowOne ? v <= 1 : v < 1)) || !Number.isFinite(v))
      throw new Error(`${name} must be a fraction in [0, ${allowOne ? "1]" : "1)"}, got ${v}`);
  };
  const prunable = describeModel(c.spec)
    .parameters.filter((p) => p.prunable)
    .map((p) => p.name);
  for (const [name, rate] of Object.entries(c.layerRates)) {
    if (!prunable.includes(name)) throw new Error(`pruning rate given for ${name}, which is not a prunable weight of this model (${prunable.join(", ")})`);
    fraction(`pruning rate of ${name}`, rate);
  }
  if (c.strategy === "layerwise")
    for (const name of prunable)
      if (!(name in c.layerRates)) throw new Error(`no pruning rate for ${name} (rates given for ${Object.keys(c.layerRates).join(", ") || "no weight"})`);
  fraction("global pruning rate", c.globalRate);
  if (!Number.isInteger(c.rounds) || c.rounds < 0) throw new Error(`rounds must be a non-negative integer, got ${c.rounds}`);
  if (c.targetRemaining !== undefined && !(c.targetRemaining > 0 && c.targetRemaining <= 1)) {
    throw new Error(`target sparsity (fraction remaining) must be in (0, 1], got ${c.targetRemaining}`);
  }
  if (c.tolerance !== undefined && !(c.tolerance >= 0 && c.tolerance <= 1)) throw new Error(`tolerance must be in [0, 1], got ${c.tolerance}`);
  if (!Number.isInteger(c.rewind) || c.rewind < 0) throw new Error(`rewind iteration must be a non-negative integer, got ${c.rewind}`);
  if (c.rewind > c.train.iterations) throw new Error(`rewind iteration ${c.rewind} is beyond the ${c.train.iterations} training iterations of round 0`);
  if (c.oneShot !== undefined && !(c.oneShot > 0 && c.oneShot < 1)) throw new Error(`one-shot fraction remaining must be in (0, 1), got ${c.oneShot}`);
  for (const arm of c.controls) {
    if (arm !== "reinit" && arm !== "random") throw new Error(`unknown control "${arm}" (choose reinit and/or random)`);
  }
}
