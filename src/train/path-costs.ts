// What the execution alternatives cost per training step on this machine, timed on the real
// shapes. For the layer of one prunable weight: its own forward and backward pass (as the layer
// runs them: a linear layer's product, a convolution's direct kernels or im2col and a product)
// and the optimizer's update, dense (masked) and with the weight on the sparse kernels at two
// densities. The dense cost does not depend on how many weights are kept and the sparse cost
// grows with them, so the two lines meet at the weight's crossover density; the rest of a step
// costs the same on both paths and cannot move that point, so it is left out. For a model that
// can run row-major: a whole all-dense step in both layouts, since any sparse product moves the
// whole model to feature-major.
import { crossEntropy, sum } from "../autograd/ops.js";
import { tidy } from "../autograd/scope.js";
import { Tensor } from "../autograd/tensor.js";
import type { Layout } from "../nn/layer.js";
import { Model } from "../nn/model.js";
import { type ActivationShape, type LayerSpec, type ModelSpec, sizeOf } from "../nn/model-spec.js";
import { Parameter } from "../nn/parameter.js";
import { SparseWeights } from "../nn/sparse-weights.js";
import { Adam } from "../optim/adam.js";
import type { Optimizer } from "../optim/optimizer.js";
import { Sgd } from "../optim/sgd.js";

/** The layer of a prunable weight as a training step runs it. */
export interface LayerStep {
  /** The layer as the model's spec gives it, and the activation it takes. */
  layer: LayerSpec;
  input: ActivationShape;
  batch: number;
  /** Whether its input needs a gradient (the first weighted layer's input is the data, which does not). */
  inputGradient: boolean;
  /** The share of its input's features that are nonzero in a batch (1 but for data: see liveInputShare); the rest are left out of its products. */
  liveShare: number;
  optimizer: "adam" | "sgd";
}

/** Milliseconds per step of one weight: on the dense GEMM, and sparse with half and with all of its weights kept. */
export type PathCosts = {
  dense: number;
  sparseHalf: number;
  sparseFull: number;
};

/** Milliseconds per all-dense training step of a model that can run row-major, in each layout. */
export type LayoutCosts = {
  rowMajor: number;
  featureMajor: number;
};

/** A sample lasts at least this long (steps of a small layer are repeated), above the clock's resolution. */
const SAMPLE_MS = 1;
/** Rounds of samples, each alternative once per round. */
const MIN_ROUNDS = 7;
const MAX_ROUNDS = 60;
/**
 * Each measurement first runs its alternatives untimed, for at least this long and this many
 * rounds (longer before a process's first): the runtime compiles the kernels and the autograd's
 * code in stages, when they first run, and the early, slower stages would count.
 */
const WARMUP_MS = 30;
const FIRST_WARMUP_MS = 100;
const WARMUP_ROUNDS = 3;
let warmedUp = false;

/**
 * Times both paths of the layer of `step`, interleaved, for about `budgetMs` (a big convolution
 * takes at least a few of its own steps). The three samples of a round are taken back to back,
 * so the machine's slow stretches hit them alike: the costs returned are the round whose
 * crossover is the median of the rounds'.
 */
export function measurePathCosts(step: LayerStep, budgetMs = 100): PathCosts {
  const [dense, sparseHalf, sparseFull] = timeInterleaved([stepOnPath(step, null), stepOnPath(step, 0.5), stepOnPath(step, 1)], budgetMs);
  const rounds = dense.map((ms, r) => ({ dense: ms, sparseHalf: sparseHalf[r], sparseFull: sparseFull[r] }));
  const byCrossover = rounds.map((costs) => ({ costs, at: crossoverFromCosts(costs) })).sort((a, b) => a.at - b.at);
  return byCrossover[Math.floor(byCrossover.length / 2)].costs;
}

/**
 * Times all-dense training steps of `spec` row-major and feature-major, interleaved, on a
 * synthetic batch. The two differ by a few percent, less than the machine's slow stretches, so
 * the difference is the median of the two samples of each round (taken back to back).
 */
export function measureLayoutCosts(spec: ModelSpec, batch: number, optimizer: "adam" | "sgd", liveShare = 1, budgetMs = 300): LayoutCosts {
  const model = new Model(spec, 0);
  try {
    if (!model.vectorOnly) throw new Error("layout costs: a model with image layers only runs feature-major");
    const samples = timeInterleaved(
      [modelStep(model, batch, optimizer, "rows", liveShare), modelStep(model, batch, optimizer, "features", liveShare)],
      budgetMs,
    );
    const rowMajor = Math.min(...samples[0]);
    const differences = samples[0].map((rows, r) => samples[1][r] - rows).sort((a, b) => a - b);
    return { rowMajor, featureMajor: rowMajor + differences[Math.floor(differences.length / 2)] };
  } finally {
    model.dispose();
  }
}

/**
 * The fraction of weights kept at or below which the sparse path is the faster: where the line
 * through the sparse costs meets the dense cost, in [0, 1], rounded to 0.001. With `allowance`,
 * where the sparse path is faster by that many milliseconds.
 */
export function crossoverFromCosts(costs: PathCosts, allowance = 0): number {
  const dense = costs.dense - allowance;
  const slope = (costs.sparseFull - costs.sparseHalf) / 0.5;
  // a sparse cost that does not grow with density is noise around a flat line: one side wins throughout
  if (!(slope > 0)) return costs.sparseFull <= dense ? 1 : 0;
  const at = 0.5 + (dense - costs.sparseHalf) / slope;
  return Math.min(1, Math.max(0, Math.round(at * 1000) / 1000));
}

interface Timed {
  step: () => void;
  dispose: () => void;
}

/** Milliseconds per step of each alternative, one sample per round of rounds that run each in turn; disposes them. */
function timeInterleaved(alternatives: Timed[], budgetMs: number): number[][] {
  try {
    const until = performance.now() + (warmedUp ? WARMUP_MS : FIRST_WARMUP_MS);
    warmedUp = true;
    let once = alternatives.map((a) => timeSteps(a.step, 1));
    for (let r = 1; r < WARMUP_ROUNDS || performance.now() < until; r++) once = alternatives.map((a) => timeSteps(a.step, 1));
    const repeats = once.map((ms) => Math.max(1, Math.ceil(SAMPLE_MS / Math.max(ms, 1e-3))));
    const roundMs = once.reduce((total, ms, i) => total + ms * repeats[i], 0);
    const rounds = Math.min(MAX_ROUNDS, Math.max(MIN_ROUNDS, Math.floor(budgetMs / roundMs)));
    const samples = alternatives.map((): number[] => []);
    for (let r = 0; r < rounds; r++) alternatives.forEach((a, i) => samples[i].push(timeSteps(a.step, repeats[i])));
    return samples;
  } finally {
    for (const a of alternatives) a.dispose();
  }
}

function timeSteps(step: () => void, count: number): number {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) step();
  return (performance.now() - t0) / count;
}

function makeOptimizer(params: Parameter[], kind: "adam" | "sgd"): Optimizer {
  return kind === "adam" ? new Adam(params, { lr: 1e-3 }) : new Sgd(params, { lr: 1e-3, momentum: 0.9 });
}

/** One training step of the layer of `step` alone, in a model of its own: dense (density null) or sparse with that fraction of weights kept. */
function stepOnPath(step: LayerStep, density: number | null): Timed {
  const { name: _name, ...layer } = step.layer;
  const image = step.input.kind === "image";
  const input = step.input.kind === "image" ? [step.input.channels, step.input.height, step.input.width] : [step.input.features];
  // a model must end in a vector: a convolution's output is flattened (which costs the same on both paths)
  const model = new Model({ input, layers: layer.type === "conv2d" ? [layer, { type: "flatten" }] : [layer] }, 0);
  const [weight] = model.prunable();
  // the masked dense step's cost does not depend on the mask; the sparse kernels' does
  keepFraction(weight.ensureMask(), density ?? 0.75);
  weight.applyMask();
  const x = new Tensor(image ? [input[0], step.batch * input[1] * input[2]] : [input[0], step.batch], step.inputGradient, "calibration input", false);
  fillPattern(x, 2);
  if (!image && step.liveShare < 1) zeroFeatures(x, step.liveShare);
  const sparse = density === null ? null : new SparseWeights(weight);
  const trained = model.parameters().map((p) => (p === weight && sparse ? new Parameter("calibration weight (sparse)", sparse.values, false) : p));
  const optimizer = makeOptimizer(trained, step.optimizer);
  const run = { layout: "features" as const, batch: step.batch, sparse: (p: Parameter) => (p === weight ? sparse : null) };
  return {
    step: () => {
      tidy(() => sum(model.forward(x, run)).backward());
      optimizer.step();
      optimizer.zeroGrad();
      x.zeroGrad();
    },
    dispose: () => {
      optimizer.dispose();
      sparse?.dispose();
      x.dispose();
      model.dispose();
    },
  };
}

/** One all-dense training step of `model` on a synthetic batch laid out as `layout` (its weights change: it is a scratch model). */
function modelStep(model: Model, batch: number, kind: "adam" | "sgd", layout: Layout, liveShare: number): Timed {
  const size = sizeOf(model.description.layers[0].input);
  const x = new Tensor(layout === "rows" ? [batch, size] : [size, batch], false, "calibration batch", false);
  fillPattern(x, 4);
  if (liveShare < 1) zeroFeatures(x, liveShare, layout);
  const labels = Array.from({ length: batch }, (_, i) => i % model.description.classes);
  const optimizer = makeOptimizer(model.parameters(), kind);
  return {
    step: () => {
      tidy(() => crossEntropy(model.forward(x, { layout, batch }), labels).backward());
      optimizer.step();
      optimizer.zeroGrad();
    },
    dispose: () => {
      optimizer.dispose();
      x.dispose();
    },
  };
}

/** Zeroes the features of a batch ([features, batch], or [batch, features] row-major) whose hash falls above `liveShare`: about that share stays live. */
function zeroFeatures(x: Tensor, liveShare: number, layout: Layout = "features"): void {
  const rows = layout === "rows";
  const [features, batch] = rows ? [x.shape[1], x.shape[0]] : x.shape;
  const v = x.view();
  for (let k = 0; k < features; k++) {
    if (hash(k, 3) / 2 ** 32 < liveShare) continue;
    for (let n = 0; n < batch; n++) v[rows ? n * features + k : k * batch + n] = 0;
  }
}

/** Values in [−0.5, 0.5) from a hash of the index: cheap for big tensors, and never subnormal. */
function fillPattern(t: Tensor, salt: number): void {
  const v = t.view();
  for (let i = 0; i < v.length; i++) v[i] = hash(i, salt) / 2 ** 32 - 0.5;
}

/** A mask keeping each weight with probability `fraction` (by a hash of its index). */
function keepFraction(mask: Tensor, fraction: number): void {
  const m = mask.view();
  const below = fraction * 2 ** 32;
  for (let i = 0; i < m.length; i++) m[i] = hash(i, 3) < below ? 1 : 0;
}

function hash(i: number, salt: number): number {
  let z = Math.imul(i ^ Math.imul(salt, 0x9e3779b9), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
