// The training loop: seeded minibatches, forward, backward, a fused masked optimizer step; every
// `evalEvery` iterations, validation loss and accuracy (and test accuracy); the early-stop point
// is the iteration of minimum validation loss, with the test accuracy of the weights at that point.

import { crossEntropy } from "../autograd/ops.js";
import { tidy } from "../autograd/scope.js";
import type { Tensor } from "../autograd/tensor.js";
import { BatchLoader, MinibatchStream, type PixelScaling, UNIT_SCALING } from "../data/batches.js";
import type { Examples } from "../data/dataset.js";
import { liveInputShare } from "../data/live-share.js";
import { engine } from "../engine/engine.js";
import { describeModel, type Model } from "../nn/model.js";
import type { ModelSpec } from "../nn/model-spec.js";
import type { Parameter } from "../nn/parameter.js";
import { Adam } from "../optim/adam.js";
import type { Optimizer } from "../optim/optimizer.js";
import { Sgd } from "../optim/sgd.js";
import { Random } from "../random.js";
import { type CrossoverSetting, sparseRuleFor } from "./crossover.js";
import { Evaluator } from "./evaluate.js";
import { type ProductMode, planExecution, type SparseMode } from "./plan.js";

export interface TrainConfig {
  iterations: number;
  batchSize: number;
  evalEvery: number;
  optimizer: "adam" | "sgd";
  lr: number;
  momentum: number;
  weightDecay: number;
  /** Fixes the order of minibatches (the same in every lottery round). */
  dataSeed: number;
  /** Also measure test accuracy at every evaluation (otherwise only at early stop and at the end). */
  testCurve: boolean;
  /** Sparse execution for pruned layers: by each layer's crossover density (auto), always, or never. */
  sparse?: SparseMode;
  /** With "auto": the crossover of every layer, or by parameter name; the layers it leaves out are measured (see crossover.ts). */
  crossover?: CrossoverSetting;
  /** Recorded with measured crossovers for a model that can run row-major (see SparseRule). */
  rowMajorCrossover?: CrossoverSetting;
  /** The share of a batch's input features that are live (data/live-share.ts), for measuring crossovers; taken from the data when absent. */
  liveInputShare?: number;
}

/** `config` with the live share of the training data's batches, unless it has one. */
export function withLiveInputShare<T extends TrainConfig>(config: T, splits: Splits): T {
  if (config.liveInputShare !== undefined) return config;
  return { ...config, liveInputShare: liveInputShare(splits.train, config.batchSize, splits.scaling ?? UNIT_SCALING) };
}

export const PAPER_TRAINING: TrainConfig = {
  iterations: 10_000,
  batchSize: 60,
  evalEvery: 100,
  optimizer: "adam",
  lr: 1.2e-3,
  momentum: 0.9,
  weightDecay: 0,
  dataSeed: 0,
  testCurve: true,
};

export interface Splits {
  train: Examples;
  validation: Examples;
  test: Examples;
  scaling?: PixelScaling;
}

export interface EvalPoint {
  iteration: number;
  /** Mean training loss over the iterations since the previous evaluation. */
  trainLoss: number;
  valLoss: number;
  valAccuracy: number;
  testAccuracy?: number;
}

export interface TrainResult {
  curve: EvalPoint[];
  earlyStop: { iteration: number; valLoss: number; valAccuracy: number; testAccuracy: number };
  final: { iteration: number; valLoss: number; valAccuracy: number; testAccuracy: number };
  steps: number;
  trainSeconds: number;
  evalSeconds: number;
  stepsPerSecond: number;
  /** Training speed between consecutive evaluations: does it hold up late in training? */
  windows: { fromIteration: number; toIteration: number; stepsPerSecond: number }[];
  /** Subnormal floats at the end, in weights and in optimizer state (they can slow float code). */
  subnormals: { weights: number; optimizerState: number; total: number };
  /** The path each prunable weight's product ran on, by parameter name. */
  products: Record<string, ProductMode>;
}

export interface TrainHooks {
  /**
   * After every optimizer step (iteration counts from 1). Call `syncModel()` before reading the
   * model's weights there: sparse layers train compact copies.
   */
  onStep?(iteration: number, loss: number, syncModel: () => void): void;
  onEval?(point: EvalPoint): void;
}

export function makeOptimizer(params: Parameter[], config: TrainConfig): Optimizer {
  if (config.optimizer === "adam") return new Adam(params, { lr: config.lr, weightDecay: config.weightDecay });
  return new Sgd(params, { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay });
}

/** Checks a training configuration and the data it will see; throws a message that names the field. */
export function validateTrainConfig(config: TrainConfig, splits?: Splits): void {
  const positiveInt = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  };
  positiveInt("iterations", config.iterations);
  positiveInt("batch size", config.batchSize);
  positiveInt("evaluation interval", config.evalEvery);
  if (!(config.lr > 0) || !Number.isFinite(config.lr)) throw new Error(`learning rate must be a positive number, got ${config.lr}`);
  if (!(config.momentum >= 0 && config.momentum < 1)) throw new Error(`momentum must be in [0, 1), got ${config.momentum}`);
  if (!(config.weightDecay >= 0) || !Number.isFinite(config.weightDecay)) throw new Error(`weight decay must be ≥ 0, got ${config.weightDecay}`);
  if (config.optimizer !== "adam" && config.optimizer !== "sgd") throw new Error(`unknown optimizer "${config.optimizer}" (choose adam or sgd)`);
  if (splits && config.batchSize > splits.train.indices.length) {
    throw new Error(`batch size ${config.batchSize} is larger than the ${splits.train.indices.length} training examples`);
  }
}

/**
 * Examples per evaluation chunk: 128, or the training batch where 128 examples' activations would
 * take more than 64 MB (big convolutions), so evaluation reuses the training step's memory blocks.
 */
export function evaluationChunk(spec: ModelSpec, batchSize: number): number {
  const floats = describeModel(spec).layers.reduce((n, l) => n + l.floatsPerExample, 0);
  return floats * 4 * 128 <= 64 * 2 ** 20 ? 128 : Math.min(128, batchSize);
}

/** Reusable evaluators for a set of splits (input blocks allocated once). */
export class SplitEvaluators {
  readonly validation: Evaluator;
  readonly test: Evaluator;
  constructor(splits: Splits, chunk = 128) {
    const scaling = splits.scaling ?? UNIT_SCALING;
    this.validation = new Evaluator(splits.validation, scaling, chunk);
    this.test = new Evaluator(splits.test, scaling, chunk);
  }
  dispose(): void {
    this.validation.dispose();
    this.test.dispose();
  }
}

/** Trains `model` in place. Masks on its parameters are respected (pruned weights stay zero). */
export function train(model: Model, splits: Splits, config: TrainConfig, hooks: TrainHooks = {}, evaluators?: SplitEvaluators): TrainResult {
  validateTrainConfig(config, splits);
  config = withLiveInputShare(config, splits);
  const ownEvaluators = !evaluators;
  const evals = evaluators ?? new SplitEvaluators(splits, evaluationChunk(model.spec, config.batchSize));
  const plan = planExecution(model, config.sparse ?? "auto", sparseRuleFor(model, config));
  const products = Object.fromEntries(model.prunable().map((p, i) => [p.name, plan.modes[i]]));
  const loader = new BatchLoader(splits.train, config.batchSize, splits.scaling ?? UNIT_SCALING, plan.inputLayout);
  const stream = new MinibatchStream(loader, new Random(config.dataSeed, 1));
  const optimizer = makeOptimizer(plan.trainable, config);
  const classifier = { inputLayout: plan.inputLayout, forward: plan.forward };
  const syncModel = (): void => plan.syncToDense();
  const curve: EvalPoint[] = [];
  let best: { iteration: number; valLoss: number; valAccuracy: number; testAccuracy?: number; weights?: Map<string, Float32Array> } | null = null;
  let trainMs = 0;
  let evalMs = 0;
  let lossSinceEval = 0;
  let stepsSinceEval = 0;
  const windows: TrainResult["windows"] = [];
  let windowStart = { iteration: 0, trainMs: 0 };

  const evaluateAt = (iteration: number): EvalPoint => {
    const t0 = performance.now();
    const val = evals.validation.evaluate(classifier);
    const point: EvalPoint = {
      iteration,
      trainLoss: stepsSinceEval ? lossSinceEval / stepsSinceEval : Number.NaN,
      valLoss: val.loss,
      valAccuracy: val.accuracy,
    };
    if (config.testCurve) point.testAccuracy = evals.test.evaluate(classifier).accuracy;
    if (!Number.isFinite(val.loss)) {
      throw new Error(`training diverged: validation loss is ${val.loss} at iteration ${iteration} (try a smaller learning rate)`);
    }
    // an optimizer that blew up can leave finite but useless weights (Adam at a huge rate): a loss
    // ten times its starting value is no training worth reporting
    if (curve.length > 0 && val.loss > 10 * curve[0].valLoss) {
      throw new Error(
        `training diverged: validation loss ${val.loss.toPrecision(4)} at iteration ${iteration} is more than 10× its value at the first evaluation (${curve[0].valLoss.toPrecision(4)}; try a smaller learning rate)`,
      );
    }
    if (!best || val.loss < best.valLoss) {
      // without a test curve, keep the best weights (in one reused buffer) to test them at the end
      if (!config.testCurve) syncModel();
      const weights = config.testCurve ? undefined : model.snapshot(best?.weights);
      best = { iteration, valLoss: val.loss, valAccuracy: val.accuracy, testAccuracy: point.testAccuracy, weights };
    }
    curve.push(point);
    lossSinceEval = 0;
    stepsSinceEval = 0;
    evalMs += performance.now() - t0;
    hooks.onEval?.(point);
    return point;
  };

  try {
    evaluateAt(0);
    for (let it = 1; it <= config.iterations; it++) {
      const t0 = performance.now();
      stream.next();
      const loss = tidy(() => {
        const logits = plan.forward(loader.inputs, config.batchSize);
        const l = crossEntropy(logits, loader.labels);
        l.backward();
        return l.item();
      });
      optimizer.step();
      optimizer.zeroGrad();
      trainMs += performance.now() - t0;
      if (!Number.isFinite(loss)) {
        throw new Error(`training diverged: loss is ${loss} at iteration ${it} (try a smaller learning rate)`);
      }
      lossSinceEval += loss;
      stepsSinceEval++;
      hooks.onStep?.(it, loss, syncModel);
      if (it % config.evalEvery === 0 || it === config.iterations) {
        windows.push({
          fromIteration: windowStart.iteration,
          toIteration: it,
          stepsPerSecond: (it - windowStart.iteration) / ((trainMs - windowStart.trainMs) / 1000),
        });
        windowStart = { iteration: it, trainMs };
        evaluateAt(it);
      }
    }
    syncModel();
    const last = curve[curve.length - 1];
    const finalTest =
      last.testAccuracy ??
      timed(
        () => evals.test.evaluate(classifier).accuracy,
        (ms) => (evalMs += ms),
      );
    const b = best!;
    let earlyTest = b.testAccuracy;
    if (earlyTest === undefined) {
      // through the plan, so a sparse ticket's test costs what its weights do
      const current = model.snapshot();
      model.restore(b.weights!);
      plan.syncFromDense();
      earlyTest = timed(
        () => evals.test.evaluate(classifier).accuracy,
        (ms) => (evalMs += ms),
      );
      model.restore(current); // the plan's compact weights are not read again: it is disposed below
    }
    const k = engine().kernels;
    const countIn = (ts: readonly Tensor[]): number => ts.reduce((n, t) => n + k.countSubnormal(t.ptr, t.size), 0);
    const weights = countIn(model.parameters().map((p) => p.value));
    const optimizerState = countIn(optimizer.state());
    return {
      products,
      windows,
      subnormals: { weights, optimizerState, total: weights + optimizerState },
      curve,
      earlyStop: { iteration: b.iteration, valLoss: b.valLoss, valAccuracy: b.valAccuracy, testAccuracy: earlyTest },
      final: { iteration: last.iteration, valLoss: last.valLoss, valAccuracy: last.valAccuracy, testAccuracy: finalTest },
      steps: config.iterations,
      trainSeconds: trainMs / 1000,
      evalSeconds: evalMs / 1000,
      stepsPerSecond: config.iterations / (trainMs / 1000),
    };
  } finally {
    loader.dispose();
    optimizer.dispose();
    plan.dispose();
    if (ownEvaluators) evals.dispose();
  }
}

function timed<T>(fn: () => T, add: (ms: number) => void): T {
  const t0 = performance.now();
  const out = fn();
  add(performance.now() - t0);
  return out;
}
