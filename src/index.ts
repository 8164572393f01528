// winning-ticket: the library entry. Runs unchanged in Node, browsers, Deno and Bun: it imports
// no Node built-ins and carries its WebAssembly inside. File access, the CLI and Node's worker
// threads live in the "winning-ticket/node" entry.

// engine and autograd
export { ready, engine, Engine, type EngineOptions } from "./engine/engine.js";
export type { WasmVariant } from "./engine/kernels.js";
export { runWorkerLoop, type SpawnWorker, type WorkerHandle, type WorkerInit } from "./engine/thread-pool.js";
export { Tensor, tensor, zeros, type Shape } from "./autograd/tensor.js";
export { tidy, noGrad } from "./autograd/scope.js";
export { matmul, add, mul, scale, relu, sum, mean, crossEntropy, transpose, addPerRow } from "./autograd/ops.js";
export { im2col, maxPool2d, channelsToFeatures, windowOutput, type WindowGeometry } from "./autograd/image-ops.js";

// data, models, optimizers, training
export { parseIdx, parseIdxHeader, IdxError, type IdxArray, type IdxHeader } from "./data/idx.js";
export { DensePixels, SparsePixels, type PixelRows } from "./data/pixels.js";
export { datasetFromIdx, datasetFromPixels, splitValidation, allExamples, take, type Dataset, type Examples } from "./data/dataset.js";
export { datasetFromCifarBatches, channelStatistics, CifarError } from "./data/cifar.js";
export { UNIT_SCALING, standardScaling, type PixelScaling } from "./data/batches.js";
export { Model, describeModel, type ModelDescription } from "./nn/model.js";
export { parseModelSpec, type ModelSpec, type LayerSpec, type LayerType, type ActivationShape } from "./nn/model-spec.js";
export { MODELS, namedModel, mlpSpec, LENET_300_100, type NamedModel, type Protocol } from "./nn/registry.js";
export type { Layer, LayerDescription, Layout, RunContext } from "./nn/layer.js";
export { Linear } from "./nn/linear.js";
export { Conv2d } from "./nn/conv2d.js";
export { Parameter, type PruneGroup, type WeightProduct } from "./nn/parameter.js";
export { SparseWeights } from "./nn/sparse-weights.js";
export { Adam, type AdamOptions } from "./optim/adam.js";
export { Sgd, type SgdOptions } from "./optim/sgd.js";
export type { Optimizer } from "./optim/optimizer.js";
export { train, evaluationChunk, PAPER_TRAINING, type TrainConfig, type TrainResult, type Splits, type EvalPoint, type TrainHooks } from "./train/train.js";
export { planExecution, SPARSE_CROSSOVER, type SparseMode } from "./train/plan.js";
export { Random } from "./random.js";

// pruning and the lottery
export { pruneSmallest, smallestThreshold, countKept, type PruneTarget } from "./prune/magnitude.js";
export { findTicket, plannedRounds, type RoundResult, type LotteryState, type LotteryCheckpoint, type LotteryProgress, type LotteryHooks } from "./lottery/find.js";
export { paperRates, type LotteryConfig, type Arm, type Strategy } from "./lottery/config.js";
export { density, magnitudePrune, pruneToFraction, randomMask } from "./lottery/masks.js";
export { resultsCsv, summaryTable, accuracyChart, earlyStopChart, logLineChart } from "./lottery/report.js";
export { encodeSafetensors, decodeSafetensors, SafetensorsError } from "./io/safetensors.js";
