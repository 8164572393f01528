// Instability analysis (Frankle, Dziugaite, Roy & Carbin, "Linear Mode Connectivity and the
// Lottery Ticket Hypothesis", ICML 2020). Train the dense network to iteration k (θk); train two
// copies of θk (under a ticket's mask, if given) to the end with two other data orders; evaluate
// test error along the straight line (1−α)·W₁ + α·W₂ between them. Instability is the highest
// error on that line minus the mean of the two ends' errors, in percentage points: about zero
// means the two copies ended in one linearly connected basin, so training from θk is "stable" and
// k is a good rewinding point for iterative magnitude pruning. Runs unchanged in a browser.
import { Model } from "../nn/model.js";
import type { ModelSpec } from "../nn/model-spec.js";
import { sparseRuleFor } from "../train/crossover.js";
import { planExecution } from "../train/plan.js";
import { evaluationChunk, SplitEvaluators, type Splits, type TrainConfig, train, validateTrainConfig } from "../train/train.js";
import type { LotteryConfig } from "./config.js";
import { plannedRounds, type Weights } from "./find.js";
import { density, magnitudePrune, pruneToFraction } from "./masks.js";

export interface InstabilityConfig {
  spec: ModelSpec;
  /** θ0 is `new Model(spec, seed)`'s initial weights unless a start is given. */
  seed: number;
  /**
   * How every network trains. `iterations` is the end T: the dense run stops at k, each copy
   * trains the remaining T − k. `dataSeed` orders the dense run that reaches θk (as in `find`).
   */
  train: TrainConfig;
  /** The iterations k at which the copies branch off the dense run, each in [0, T). */
  at: number[];
  /** Evenly spaced points α on the path, both ends included (at least 2). */
  points: number;
  /** The data orders of the two copies (equal seeds make identical copies: instability 0). */
  copySeeds: [number, number];
  /** Stable when instability is below this many percentage points (the paper: 2). */
  threshold: number;
}

export const INSTABILITY_DEFAULTS = { at: [0, 100, 500, 2000], points: 11, threshold: 2 } as const;

/** Where the analysis starts: θ0 and, for a ticket, its masks (pruned weights stay zero everywhere). */
export interface InstabilityStart {
  theta0?: Weights;
  masks?: Weights | null;
}

export interface PathPoint {
  alpha: number;
  /** Test error in percent. */
  testError: number;
  testLoss: number;
}

export interface CopySummary {
  dataSeed: number;
  finalValAccuracy: number;
  finalTestAccuracy: number;
  earlyStopIteration: number;
}

export interface KResult {
  k: number;
  /** Iterations each copy trained (T − k). */
  copyIterations: number;
  /** Test error of the two trained copies, percent. */
  endpointErrors: [number, number];
  /** Highest test error on the path (percent) and where. */
  maxError: number;
  maxErrorAlpha: number;
  /** maxError − mean(endpointErrors), percentage points. */
  instability: number;
  /** The same for test loss: the highest loss on the path minus the mean of the ends' losses. */
  lossBarrier: number;
  stable: boolean;
  path: PathPoint[];
  copies: [CopySummary, CopySummary];
  seconds: number;
}

export interface InstabilityReport {
  /** Fraction of prunable weights the analysed network keeps (1 for the dense network). */
  remaining: number;
  threshold: number;
  /** By k, ascending. */
  results: KResult[];
  /** The earliest k whose instability is below the threshold, or null. */
  earliestStable: number | null;
}

export interface InstabilityProgress {
  phase: "dense run to k" | "copy 1" | "copy 2" | "path";
  k: number | null;
  iteration: number;
  /** Iterations of the current phase. */
  of: number;
  /** The training loss of the last step (NaN on the path). */
  loss: number;
}

export interface InstabilityHooks {
  /** θk as soon as the dense run reaches k (before masking): save it to resume without the dense run. */
  onTheta?(k: number, weights: Weights): void;
  /** After each k: its result and every result so far (save them to resume). */
  onResult?(result: KResult, report: InstabilityReport): void;
  onProgress?(p: InstabilityProgress): void;
}

export interface InstabilityOptions {
  start?: InstabilityStart;
  /** θk already known (saved by an earlier run), by k: the dense run is trained only for the others. */
  thetas?: Map<number, Weights>;
  /** Results of an earlier, interrupted analysis with the same config: these k are skipped. */
  finished?: KResult[];
  /** Stop after the first stable k (choosing a rewinding point needs no later k). */
  stopAtFirstStable?: boolean;
  hooks?: InstabilityHooks;
}

/** Checks a config; every message names the setting. */
export function validateInstabilityConfig(c: InstabilityConfig, splits?: Splits): void {
  validateTrainConfig(c.train, splits);
  if (c.at.length === 0) throw new Error("at least one k is needed");
  for (const k of c.at) {
    if (!Number.isInteger(k) || k < 0) throw new Error(`k must be a non-negative integer, got ${k}`);
    if (k >= c.train.iterations) throw new Error(`k = ${k} is beyond the training: each k must be below the ${c.train.iterations} iterations`);
  }
  if (new Set(c.at).size !== c.at.length) throw new Error(`each k must be given once, got ${c.at.join(", ")}`);
  if (!Number.isInteger(c.points) || c.points < 2) throw new Error(`the path needs at least 2 points (its two ends), got ${c.points}`);
  for (const s of c.copySeeds) if (!Number.isInteger(s) || s < 0) throw new Error(`copy data seeds must be non-negative integers, got ${s}`);
  if (!(c.threshold >= 0) || !Number.isFinite(c.threshold)) throw new Error(`threshold must be a number of percentage points ≥ 0, got ${c.threshold}`);
}

/** α for each of `points` evenly spaced points, exactly 0 and 1 at the ends. */
export function pathAlphas(points: number): number[] {
  return Array.from({ length: points }, (_, i) => (i === points - 1 ? 1 : i / (points - 1)));
}

/**
 * Sets every parameter of `model` to (1−α)·a + α·b, then re-applies its masks so pruned weights
 * are exactly zero. The ends are copied, so α = 0 and α = 1 are `a` and `b` bit for bit; in
 * between the sum is formed in float64, so two equal networks give that network at every α.
 */
export function interpolateInto(model: Model, a: Weights, b: Weights, alpha: number): void {
  for (const p of model.parameters()) {
    const wa = a.get(p.name);
    const wb = b.get(p.name);
    if (!wa || !wb) throw new Error(`interpolate: no values for ${p.name}`);
    if (wa.length !== p.value.size || wb.length !== p.value.size)
      throw new Error(`interpolate: ${p.name} has ${p.value.size} values, got ${wa.length} and ${wb.length}`);
    if (alpha === 0) p.value.set(wa);
    else if (alpha === 1) p.value.set(wb);
    else {
      const out = p.value.view();
      for (let i = 0; i < out.length; i++) out[i] = (1 - alpha) * wa[i] + alpha * wb[i];
    }
    p.applyMask();
  }
}

/** Test error (percent) and loss at each α on the line from `a` to `b`. Leaves the model at b. */
export function evaluatePath(model: Model, a: Weights, b: Weights, alphas: readonly number[], evaluators: SplitEvaluators, config: TrainConfig): PathPoint[] {
  interpolateInto(model, a, b, alphas[0] ?? 0);
  const plan = planExecution(model, config.sparse ?? "auto", sparseRuleFor(model, config));
  const classifier = { inputLayout: plan.inputLayout, forward: plan.forward };
  try {
    return alphas.map((alpha) => {
      interpolateInto(model, a, b, alpha);
      plan.syncFromDense(); // sparse layers evaluate compact copies of the weights
      const e = evaluators.test.evaluate(classifier);
      return { alpha, testError: (1 - e.accuracy) * 100, testLoss: e.loss };
    });
  } finally {
    plan.dispose();
  }
}

/** Instability of a path: its highest error minus the mean of its ends' errors (percentage points). */
export function pathInstability(path: readonly PathPoint[]): { maxError: number; maxErrorAlpha: number; instability: number; lossBarrier: number } {
  const first = path[0];
  const last = path[path.length - 1];
  let top = first;
  for (const p of path) if (p.testError > top.testError) top = p;
  const maxLoss = Math.max(...path.map((p) => p.testLoss));
  return {
    maxError: top.testError,
    maxErrorAlpha: top.alpha,
    instability: top.testError - (first.testError + last.testError) / 2,
    lossBarrier: maxLoss - (first.testLoss + last.testLoss) / 2,
  };
}

function setMasks(model: Model, masks: Weights | null | undefined): void {
  if (!masks) return;
  for (const p of model.prunable()) {
    const m = masks.get(p.name);
    if (!m) throw new Error(`the ticket has no mask for ${p.name}`);
    if (m.length !== p.value.size) throw new Error(`the ticket's mask for ${p.name} has ${m.length} entries, the model needs ${p.value.size}`);
    p.ensureMask().set(m);
  }
}

/**
 * Trains `model` (dense, from its current weights) to the largest of `ks` with `config`'s data
 * order, and returns the weights at each k (k = 0: the current weights).
 */
export function denseTrajectory(
  model: Model,
  splits: Splits,
  config: TrainConfig,
  ks: readonly number[],
  evaluators: SplitEvaluators,
  hooks: InstabilityHooks = {},
): Map<number, Weights> {
  const wanted = new Set(ks);
  const thetas = new Map<number, Weights>();
  const keep = (k: number, weights: Weights): void => {
    thetas.set(k, weights);
    hooks.onTheta?.(k, weights);
  };
  if (wanted.has(0)) keep(0, model.snapshot());
  const last = Math.max(...ks);
  if (last === 0) return thetas;
  // one evaluation at the end suffices: evaluations do not change the training trajectory
  train(
    model,
    splits,
    { ...config, iterations: last, evalEvery: last, testCurve: false },
    {
      onStep: (iteration, loss, syncModel) => {
        if (iteration % 10 === 0 || iteration === last) hooks.onProgress?.({ phase: "dense run to k", k: null, iteration, of: last, loss });
        if (!wanted.has(iteration)) return;
        syncModel();
        keep(iteration, model.snapshot());
      },
    },
    evaluators,
  );
  return thetas;
}

/** Runs the analysis for every k of `config.at` not already finished, in ascending order. */
export function analyzeInstability(splits: Splits, config: InstabilityConfig, options: InstabilityOptions = {}): InstabilityReport {
  validateInstabilityConfig(config, splits);
  const hooks = options.hooks ?? {};
  const ks = [...config.at].sort((a, b) => a - b);
  const results = new Map((options.finished ?? []).filter((r) => ks.includes(r.k)).map((r) => [r.k, r]));
  const model = new Model(config.spec, config.seed);
  const evaluators = new SplitEvaluators(splits, evaluationChunk(config.spec, config.train.batchSize));
  let remaining = 1;
  const report = (): InstabilityReport => {
    const done = ks.filter((k) => results.has(k)).map((k) => results.get(k)!);
    return { remaining, threshold: config.threshold, results: done, earliestStable: done.find((r) => r.stable)?.k ?? null };
  };
  try {
    const start = options.start ?? {};
    if (start.theta0) model.restore(start.theta0);
    const theta0 = model.snapshot();
    const todo = ks.filter((k) => !results.has(k));
    const stableAlready = options.stopAtFirstStable && [...results.values()].some((r) => r.stable);
    const thetas = new Map(options.thetas ?? []);
    const missing = todo.filter((k) => !thetas.has(k));
    if (missing.length > 0 && !stableAlready) {
      for (const [k, w] of denseTrajectory(model, splits, config.train, missing, evaluators, hooks)) thetas.set(k, w);
    }
    setMasks(model, start.masks);
    remaining = density(model.prunable()).remaining;
    if (stableAlready) return report();
    for (const k of todo) {
      const t0 = performance.now();
      const thetaK = thetas.get(k) ?? (k === 0 ? theta0 : null);
      if (!thetaK) throw new Error(`no weights for k = ${k}`);
      const copyIterations = config.train.iterations - k;
      const ends: Weights[] = [];
      const copies = config.copySeeds.map((dataSeed, i): CopySummary => {
        model.restore(thetaK); // masks the dense θk
        const phase = i === 0 ? "copy 1" : "copy 2";
        const r = train(
          model,
          splits,
          { ...config.train, iterations: copyIterations, dataSeed },
          {
            onStep: (iteration, loss) => {
              if (iteration % 10 === 0 || iteration === copyIterations) hooks.onProgress?.({ phase, k, iteration, of: copyIterations, loss });
            },
          },
          evaluators,
        );
        ends.push(model.snapshot());
        return { dataSeed, finalValAccuracy: r.final.valAccuracy, finalTestAccuracy: r.final.testAccuracy, earlyStopIteration: r.earlyStop.iteration };
      }) as [CopySummary, CopySummary];
      hooks.onProgress?.({ phase: "path", k, iteration: 0, of: config.points, loss: Number.NaN });
      const path = evaluatePath(model, ends[0], ends[1], pathAlphas(config.points), evaluators, config.train);
      const shape = pathInstability(path);
      const result: KResult = {
        k,
        copyIterations,
        endpointErrors: [path[0].testError, path[path.length - 1].testError],
        ...shape,
        stable: shape.instability < config.threshold,
        path,
        copies,
        seconds: (performance.now() - t0) / 1000,
      };
      results.set(k, result);
      hooks.onResult?.(result, report());
      if (options.stopAtFirstStable && result.stable) break;
    }
    return report();
  } finally {
    evaluators.dispose();
    model.dispose();
  }
}

export interface RewindChoice {
  k: number;
  /** Whether k's instability is below the threshold. */
  stable: boolean;
  instability: number;
  threshold: number;
  /** One sentence: why this k. */
  reason: string;
  /** Every candidate measured, by k. */
  candidates: { k: number; instability: number }[];
}

/**
 * The rewinding point for `find`: the earliest k whose instability is below the threshold; if no
 * candidate is stable, the least unstable one (the earliest of equals).
 */
export function chooseRewindPoint(results: readonly Pick<KResult, "k" | "instability">[], threshold: number = INSTABILITY_DEFAULTS.threshold): RewindChoice {
  if (results.length === 0) throw new Error("chooseRewindPoint: no instability results to choose from");
  const candidates = [...results].sort((a, b) => a.k - b.k).map(({ k, instability }) => ({ k, instability }));
  const points = (v: number): string => `${v.toFixed(2)} points`;
  const stable = candidates.find((c) => c.instability < threshold);
  if (stable) {
    const earlier = candidates.filter((c) => c.k < stable.k);
    const before = earlier.length ? `; earlier k (${earlier.map((c) => `${c.k}: ${points(c.instability)}`).join(", ")}) are not` : "";
    return {
      ...stable,
      stable: true,
      threshold,
      candidates,
      reason: `k = ${stable.k} is the earliest stable point: instability ${points(stable.instability)} < ${points(threshold)}${before}`,
    };
  }
  const least = candidates.reduce((best, c) => (c.instability < best.instability ? c : best));
  return {
    ...least,
    stable: false,
    threshold,
    candidates,
    reason: `no candidate is stable (all ≥ ${points(threshold)}); k = ${least.k} is the least unstable at ${points(least.instability)}`,
  };
}

/** Candidate rewinding points for a run of `iterations`: 0 and 1%, 5% and 20% of the way (the paper finds LeNet stable at 0, larger nets after a few percent). */
export function rewindCandidates(iterations: number): number[] {
  return [...new Set([0, 0.01, 0.05, 0.2].map((f) => Math.round(f * iterations)))].filter((k) => k < iterations);
}

export interface RewindSearch {
  choice: RewindChoice;
  report: InstabilityReport;
  /** The pruning round whose sparsity was analysed. */
  round: number;
}

/**
 * `find --rewind auto`: trains the dense network once with the search's settings (keeping θk at
 * each candidate), prunes its trained weights by magnitude with the search's per-round rates
 * `round` times (the per-layer counts of that round of the search; by default the last planned
 * round, the sparsest and so the hardest to make stable; a one-shot search prunes straight to its
 * fraction), and measures the instability of that
 * mask at each candidate k in turn, stopping at the first stable one.
 */
export function findRewindPoint(
  splits: Splits,
  config: LotteryConfig,
  options: { candidates?: number[]; round?: number; points?: number; threshold?: number; copySeeds?: [number, number]; hooks?: InstabilityHooks } = {},
): RewindSearch {
  const candidates = options.candidates ?? rewindCandidates(config.train.iterations);
  const round = options.round ?? plannedRounds(config);
  const model = new Model(config.spec, config.seed);
  const evaluators = new SplitEvaluators(splits, evaluationChunk(config.spec, config.train.batchSize));
  let thetas: Map<number, Weights>;
  let masks: Weights;
  const theta0 = model.snapshot();
  try {
    // the full dense run: θk at every candidate on the way, and the trained weights to prune
    thetas = denseTrajectory(model, splits, config.train, [...candidates, config.train.iterations], evaluators, options.hooks);
    if (config.oneShot !== undefined) pruneToFraction(model.prunable(), config.strategy, config.oneShot);
    else for (let r = 0; r < round; r++) magnitudePrune(model.prunable(), config.strategy, config.layerRates, config.globalRate);
    masks = new Map(model.prunable().map((p) => [p.name, p.ensureMask().data()]));
  } finally {
    evaluators.dispose();
    model.dispose();
  }
  const threshold = options.threshold ?? INSTABILITY_DEFAULTS.threshold;
  const report = analyzeInstability(
    splits,
    {
      spec: config.spec,
      seed: config.seed,
      train: config.train,
      at: candidates,
      points: options.points ?? INSTABILITY_DEFAULTS.points,
      copySeeds: options.copySeeds ?? [config.train.dataSeed + 1, config.train.dataSeed + 2],
      threshold,
    },
    { start: { theta0, masks }, thetas, stopAtFirstStable: true, hooks: options.hooks },
  );
  return { choice: chooseRewindPoint(report.results, threshold), report, round };
}
