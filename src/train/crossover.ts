// Each prunable weight's crossover: the fraction of its weights kept at or below which its layer
// trains faster with the weight on the sparse kernels than dense. It depends on the layer's
// shape, the batch, the machine, the engine binary and its thread count, so it is measured
// (path-costs.ts) once per layer shape and kept: in memory for the process, and in a store the
// host may provide (the Node entry's is a cache on disk). Timings are noisy and the two paths
// give different bits, so a run records the crossovers it used and a resumed run reuses them: a
// run's results never depend on a timing.
import { engine } from "../engine/engine.js";
import type { Model } from "../nn/model.js";
import { describeModel } from "../nn/model.js";
import type { ModelSpec } from "../nn/model-spec.js";
import { countKept } from "../prune/magnitude.js";
import { crossoverFromCosts, type LayerStep, type LayoutCosts, measureLayoutCosts, measurePathCosts, type PathCosts } from "./path-costs.js";
import type { SparseMode, SparseRule } from "./plan.js";

/** A fixed crossover for every weight, or crossovers by parameter name; a weight without one is measured. */
export type CrossoverSetting = number | Readonly<Record<string, number>>;

/** The fixed crossover of earlier versions: runs recorded without crossovers used it for every weight. */
export const LEGACY_CROSSOVER = 0.7;

/** What the crossovers of a training run depend on (a TrainConfig has these fields). */
export interface CrossoverInputs {
  sparse?: SparseMode;
  /** Given: exactly this rule. Absent: measured, with a row-major crossover for models that can run row-major. */
  crossover?: CrossoverSetting;
  /** Recorded with measured crossovers (see SparseRule). */
  rowMajorCrossover?: CrossoverSetting;
  batchSize: number;
  optimizer: "adam" | "sgd";
  /** The share of a batch's input features that are nonzero somewhere in it (liveInputShare); 1 when absent. */
  liveInputShare?: number;
}

/** Milliseconds per step by alternative, as a store keeps them. */
export type Timings = Readonly<Record<string, number>>;

/** Where measured timings outlive the process. */
export interface CrossoverStore {
  /** The timings kept for this measurement, if any. */
  read(key: string): Timings | undefined;
  /** Keeps measured timings; returns the ones to use (another process's, if it kept some first). */
  write(key: string, timings: Timings): Timings;
}

/** Measures, once per measurement key, consulting a store before measuring. */
export class CrossoverCalibration {
  private readonly known = new Map<string, Timings>();

  constructor(
    private readonly store: CrossoverStore | null = null,
    private readonly measure: {
      path?: (step: LayerStep) => PathCosts;
      layouts?: (spec: ModelSpec, batch: number, optimizer: "adam" | "sgd", liveShare: number) => LayoutCosts;
    } = {},
  ) {}

  pathCosts(step: LayerStep): PathCosts {
    return this.timings(measurementKey(step), ["dense", "sparseHalf", "sparseFull"], () => (this.measure.path ?? measurePathCosts)(step)) as PathCosts;
  }

  layoutCosts(spec: ModelSpec, batch: number, optimizer: "adam" | "sgd", liveShare = 1): LayoutCosts {
    const live = Math.round(liveShare * 50) / 50;
    const key = `${engineKey()} layouts of ${JSON.stringify(spec)} batch=${batch} live=${live.toFixed(2)} ${optimizer}`;
    return this.timings(key, ["rowMajor", "featureMajor"], () => (this.measure.layouts ?? measureLayoutCosts)(spec, batch, optimizer, live)) as LayoutCosts;
  }

  crossover(step: LayerStep): number {
    return crossoverFromCosts(this.pathCosts(step));
  }

  private timings(key: string, fields: readonly string[], measure: () => Timings): Timings {
    const complete = (t: Timings | undefined): t is Timings => t !== undefined && fields.every((f) => Number.isFinite(t[f]));
    let found: Timings | undefined = this.known.get(key) ?? this.store?.read(key);
    if (!complete(found)) {
      const measured = measure();
      found = this.store?.write(key, measured) ?? measured;
      if (!complete(found)) found = measured; // an unusable entry kept first by another writer
    }
    this.known.set(key, found);
    return found;
  }
}

let calibration = new CrossoverCalibration();

/** Keeps measured timings in `store` from now on (the Node entry's disk cache, say); null: in memory only. */
export function useCrossoverStore(store: CrossoverStore | null): void {
  calibration = new CrossoverCalibration(store);
}

/**
 * Which path each layer runs is decided in TypeScript (the rules in src/autograd and src/nn), not
 * only by the kernels whose build is part of the cache key: bump this when those rules change,
 * so that timings measured under the old rules are not reused.
 */
const PATH_RULES = 2;

function engineKey(): string {
  const e = engine();
  return `${e.variant} threads=${e.threads} paths=${PATH_RULES}`;
}

/** What a layer's measurement depends on besides the machine: the engine binary and threads, the layer, its input and its step. */
export function measurementKey(step: LayerStep): string {
  const { name: _name, ...layer } = step.layer;
  return [
    engineKey(),
    `layer=${JSON.stringify(layer)}`,
    `input=${JSON.stringify(step.input)}`,
    `batch=${step.batch}`,
    step.inputGradient ? "input-gradient" : "no-input-gradient",
    `live=${step.liveShare.toFixed(2)}`,
    step.optimizer,
  ].join(" ");
}

/**
 * The layer step of each prunable weight of `spec` with batches of `batch`, by parameter name;
 * the first weighted layer takes the data, of which `liveShare` of the features are live.
 */
export function layerSteps(spec: ModelSpec, batch: number, optimizer: "adam" | "sgd", liveShare = 1): Map<string, LayerStep> {
  const steps = new Map<string, LayerStep>();
  let first = true;
  describeModel(spec).layers.forEach((described, i) => {
    for (const p of described.parameters) {
      if (p.prunable && p.product) {
        // shares are rounded so that nearby ones share a measurement
        const live = first ? Math.round(liveShare * 50) / 50 : 1;
        steps.set(p.name, { layer: spec.layers[i], input: described.input, batch, inputGradient: !first, liveShare: live, optimizer });
      }
    }
    if (described.parameters.some((p) => p.product)) first = false;
  });
  return steps;
}

/**
 * The rule for `names` under `config`: the crossovers given (one for all, or by name; the rest
 * measured), or, when none are given, measured ones, with row-major crossovers for a model that
 * can run row-major: where a weight's own saving pays for moving the model to feature-major.
 */
export function sparseRuleOf(spec: ModelSpec, config: CrossoverInputs, names: readonly string[], using = calibration): SparseRule {
  const fixed = (setting: CrossoverSetting | undefined, name: string): number | undefined => (typeof setting === "number" ? setting : setting?.[name]);
  const needed = names.filter((n) => fixed(config.crossover, n) === undefined);
  const steps = needed.length ? layerSteps(spec, config.batchSize, config.optimizer, config.liveInputShare) : new Map<string, LayerStep>();
  const costs = new Map(
    needed.map((n) => {
      const step = steps.get(n);
      if (!step) throw new Error(`crossover: ${n} is not a prunable weight with a product`);
      return [n, using.pathCosts(step)];
    }),
  );
  const crossover: Record<string, number> = {};
  for (const n of names) crossover[n] = fixed(config.crossover, n) ?? crossoverFromCosts(costs.get(n)!);
  if (config.rowMajorCrossover !== undefined) {
    return { crossover, rowMajorCrossover: Object.fromEntries(names.map((n) => [n, fixed(config.rowMajorCrossover, n) ?? crossover[n]])) };
  }
  // crossovers given are the whole rule; a model that runs only feature-major has no move to pay for
  if (config.crossover !== undefined || !describeModel(spec).vectorOnly || names.length === 0) return { crossover };
  const layouts = using.layoutCosts(spec, config.batchSize, config.optimizer, config.liveInputShare);
  const move = Math.max(0, layouts.featureMajor - layouts.rowMajor);
  return { crossover, rowMajorCrossover: Object.fromEntries(names.map((n) => [n, crossoverFromCosts(costs.get(n)!, move)])) };
}

/**
 * The rule a plan for `model` as it stands needs: for its pruned weights only (a weight with
 * nothing pruned runs dense, and a dense model needs no measurement).
 */
export function sparseRuleFor(model: Model, config: CrossoverInputs, using = calibration): SparseRule {
  if ((config.sparse ?? "auto") !== "auto") return { crossover: {} };
  const pruned = model.prunable().filter((p) => p.mask && p.product && countKept(p.mask) < p.value.size);
  return sparseRuleOf(
    model.spec,
    config,
    pruned.map((p) => p.name),
    using,
  );
}

/**
 * `config` with the rule for every prunable weight of `spec` (measured where none is given), to
 * record before a run that will prune, so its choices and a resumed run's are the same.
 * Unchanged when sparse is not "auto" or the crossover is one fixed fraction (nothing to measure).
 */
export function withRecordedCrossovers<T extends CrossoverInputs>(spec: ModelSpec, config: T, using = calibration): T {
  if ((config.sparse ?? "auto") !== "auto" || typeof config.crossover === "number") return config;
  const names = describeModel(spec)
    .parameters.filter((p) => p.prunable && p.product)
    .map((p) => p.name);
  const rule = sparseRuleOf(spec, config, names, using);
  return { ...config, crossover: rule.crossover, ...(rule.rowMajorCrossover ? { rowMajorCrossover: rule.rowMajorCrossover } : {}) };
}
