// winning-ticket: the library entry. Runs unchanged in Node, browsers, Deno and Bun: it imports
// no Node built-ins and carries its WebAssembly inside. File access, the CLI and Node's worker
// threads live in the "winning-ticket/node" entry.

export { channelsToFeatures, im2col, maxPool2d, type WindowGeometry, windowOutput } from "./autograd/image-ops.js";
export { add, addPerRow, crossEntropy, matmul, mean, mul, relu, scale, sum, transpose } from "./autograd/ops.js";
export { noGrad, tidy } from "./autograd/scope.js";
export { type Shape, Tensor, tensor, zeros } from "./autograd/tensor.js";
export { type PixelScaling, standardScaling, UNIT_SCALING } from "./data/batches.js";
export { CifarError, channelStatistics, datasetFromCifarBatches } from "./data/cifar.js";
export { allExamples, type Dataset, datasetFromIdx, datasetFromPixels, type Examples, splitValidation, take } from "./data/dataset.js";

// data, models, optimizers, training
export { type IdxArray, IdxError, type IdxHeader, parseIdx, parseIdxHeader } from "./data/idx.js";
export { DensePixels, type PixelRows, SparsePixels } from "./data/pixels.js";
// engine and autograd
export { Engine, type EngineOptions, engine, ready } from "./engine/engine.js";
export type { WasmVariant } from "./engine/kernels.js";
export { runWorkerLoop, type SpawnWorker, type WorkerHandle, type WorkerInit } from "./engine/thread-pool.js";
export { decodeSafetensors, encodeSafetensors, SafetensorsError } from "./io/safetensors.js";
export { type Arm, type LotteryConfig, paperRates, type Strategy } from "./lottery/config.js";
export {
  findTicket,
  type LotteryCheckpoint,
  type LotteryHooks,
  type LotteryProgress,
  type LotteryState,
  plannedRounds,
  type RoundResult,
} from "./lottery/find.js";
export {
  analyzeInstability,
  type CopySummary,
  chooseRewindPoint,
  denseTrajectory,
  evaluatePath,
  findRewindPoint,
  INSTABILITY_DEFAULTS,
  type InstabilityConfig,
  type InstabilityHooks,
  type InstabilityOptions,
  type InstabilityProgress,
  type InstabilityReport,
  type InstabilityStart,
  interpolateInto,
  type KResult,
  type PathPoint,
  pathAlphas,
  pathInstability,
  type RewindChoice,
  type RewindSearch,
  rewindCandidates,
  validateInstabilityConfig,
} from "./lottery/instability.js";
export { density, magnitudePrune, pruneToFraction, randomMask } from "./lottery/masks.js";
export {
  accuracyChart,
  earlyStopChart,
  instabilityChart,
  instabilityCsv,
  instabilityPathChart,
  instabilityTable,
  logLineChart,
  resultsCsv,
  summaryTable,
  xyLineChart,
} from "./lottery/report.js";
export { Conv2d } from "./nn/conv2d.js";
export type { Layer, LayerDescription, Layout, RunContext } from "./nn/layer.js";
export { Linear } from "./nn/linear.js";
export { describeModel, Model, type ModelDescription } from "./nn/model.js";
export { type ActivationShape, type LayerSpec, type LayerType, type ModelSpec, parseModelSpec } from "./nn/model-spec.js";
export { Parameter, type PruneGroup, type WeightProduct } from "./nn/parameter.js";
export { LENET_300_100, MODELS, mlpSpec, type NamedModel, namedModel, type Protocol } from "./nn/registry.js";
export { SparseWeights } from "./nn/sparse-weights.js";
export { Adam, type AdamOptions } from "./optim/adam.js";
export type { Optimizer } from "./optim/optimizer.js";
export { Sgd, type SgdOptions } from "./optim/sgd.js";
// pruning and the lottery
export { countKept, type PruneTarget, pruneSmallest, smallestThreshold } from "./prune/magnitude.js";
export { Random } from "./random.js";
export {
  CrossoverCalibration,
  type CrossoverSetting,
  type CrossoverStore,
  LEGACY_CROSSOVER,
  layerSteps,
  sparseRuleFor,
  useCrossoverStore,
  withRecordedCrossovers,
} from "./train/crossover.js";
export {
  crossoverFromCosts,
  type LayerStep,
  type LayoutCosts,
  measureLayoutCosts,
  measurePathCosts,
  type PathCosts,
} from "./train/path-costs.js";
export { type Crossovers, chooseModes, type ProductMode, planExecution, type SparseMode, type SparseRule } from "./train/plan.js";
export { type EvalPoint, evaluationChunk, PAPER_TRAINING, type Splits, type TrainConfig, type TrainHooks, type TrainResult, train } from "./train/train.js";
