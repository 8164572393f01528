// Convolution speed: GFLOP/s of a conv2d layer's forward pass (im2col + GEMM, and direct), input
// gradient (GEMM + col2im, or direct for one input channel and 'same' padding) and weight gradient (GEMM, and direct) for the layer shapes of LeNet-5
// and Conv-2 on 28×28×1 and 32×32×3 inputs, batch 60, next to the SIMD peak measured in the same run; then
// training steps/s of LeNet-5 and Conv-2 on MNIST (the real `ticket train`), with PyTorch CPU and
// TensorFlow.js measured in the same run where they are installed.

import { convolutionInputGradient, suitsDirectConvolution, windowOutput } from "../src/autograd/image-ops.js";
import { take } from "../src/data/dataset.js";
import { engine } from "../src/engine/engine.js";
import { pruneToFraction } from "../src/lottery/masks.js";
import { Model } from "../src/nn/model.js";
import { namedModel } from "../src/nn/registry.js";
import { defaultMnistDir } from "../src/node/mnist-files.js";
import { loadSplits } from "../src/node/splits.js";
import { Random } from "../src/random.js";
import type { SparseMode } from "../src/train/plan.js";
import { PAPER_TRAINING, type Splits, train } from "../src/train/train.js";
import { interleaved, median, printTable, runTicket, time } from "./harness.js";
import { pytorchAvailable, runPytorch } from "./peers/pytorch.js";
import { initTfjsWasm, mnistFloatImages, tfjsLenet5Training } from "./peers/tfjs.js";

interface Layer {
  label: string;
  c: number;
  o: number;
  size: number;
  k: number;
  padding: number;
}

const BATCH = 60;
const layers: Layer[] = [
  { label: "LeNet-5 conv1, 28×28×1", c: 1, o: 6, size: 28, k: 5, padding: 0 },
  { label: "LeNet-5 conv2, 28×28×1", c: 6, o: 16, size: 12, k: 5, padding: 0 },
  { label: "LeNet-5 conv1, 32×32×3", c: 3, o: 6, size: 32, k: 5, padding: 0 },
  { label: "LeNet-5 conv2, 32×32×3", c: 6, o: 16, size: 14, k: 5, padding: 0 },
  { label: "Conv-2 conv1, 28×28×1", c: 1, o: 64, size: 28, k: 3, padding: 1 },
  { label: "Conv-2 conv2, 28×28×1", c: 64, o: 64, size: 28, k: 3, padding: 1 },
  { label: "Conv-2 conv1, 32×32×3", c: 3, o: 64, size: 32, k: 3, padding: 1 },
  { label: "Conv-2 conv2, 32×32×3", c: 64, o: 64, size: 32, k: 3, padding: 1 },
];

/** The three passes of one layer on random data, each timed as the engine runs it in training. */
function layerSpeed(l: Layer, rng: Random): Record<string, number | string> {
  const e = engine();
  const g = { channels: l.c, height: l.size, width: l.size, kernelH: l.k, kernelW: l.k, stride: 1, padding: l.padding };
  const { outH, outW } = windowOutput(g);
  const rows = l.c * l.k * l.k,
    cols = BATCH * outH * outW,
    inputSize = l.c * BATCH * l.size * l.size;
  const block = (n: number): number => {
    const p = e.allocator.alloc(4 * n);
    e.f32(p, n).set(Float32Array.from({ length: n }, () => rng.uniform() - 0.5));
    return p;
  };
  const pad = l.padding,
    paddedSize = l.size + 2 * pad;
  // in floats: x, w, cols, y, dy, dx, dw, the padded input and the splatted weights (four floats each)
  const sizes = [inputSize, l.o * rows, rows * cols, l.o * cols, l.o * cols, inputSize, l.o * rows, l.c * BATCH * paddedSize * paddedSize, 4 * l.o * rows];
  const blocks = sizes.map(block);
  const [x, w, colsBlock, y, dy, dx, dw, xp, splat] = blocks;
  const geometry = [l.c, BATCH, l.size, l.size, l.k, l.k, 1, l.padding, outH, outW];
  const flops = 2 * l.o * rows * cols;
  const forward = time(() => {
    e.parallel("im2col", rows, 1, rows * cols, (r0, r1) => [x, colsBlock, ...geometry, r0, r1]);
    e.gemm(0, 0, l.o, cols, rows, w, colsBlock, y, 0);
  });
  const inputGradient = time(() => {
    e.kernels.fill(dx, 0, inputSize);
    convolutionInputGradient(w, dy, dx, BATCH, l.o, g);
  });
  const weightGradient = time(() => e.gemm(0, 1, l.o, rows, cols, dy, colsBlock, dw, 0));
  // the direct kernels (assembly/direct-conv.ts) as conv2d runs them: padding and splatted weights included
  const padded = pad > 0 ? xp : x;
  const directForward = time(() => {
    if (pad > 0) e.parallel("padPlanes", l.c * BATCH, 1, inputSize, (p0, p1) => [x, xp, l.size, l.size, pad, p0, p1]);
    e.kernels.splatForwardWeights(w, splat, l.o, rows);
    e.parallel("convForward", BATCH, 1, flops, (n0, n1) => [padded, splat, 0, y, l.c, BATCH, paddedSize, paddedSize, l.o, l.k, l.k, n0, n1]);
  });
  const tasks = Math.ceil(l.o / e.kernels.convWeightGradOutputsPerTask(l.o, l.k * l.k)) * l.c;
  const directWeightGradient = time(() =>
    e.parallel("convWeightGrad", tasks, 1, flops, (t0, t1) => [dy, padded, dw, l.c, BATCH, paddedSize, paddedSize, l.o, l.k, l.k, 0, t0, t1]),
  );
  blocks.forEach((p, i) => e.allocator.release(p, 4 * sizes[i]));
  return {
    layer: l.label,
    product: `${l.o}×${rows}×${cols}`,
    forwardGflops: flops / forward.medianMs / 1e6,
    inputGradientGflops: flops / inputGradient.medianMs / 1e6,
    weightGradientGflops: flops / weightGradient.medianMs / 1e6,
    directForwardGflops: flops / directForward.medianMs / 1e6,
    directWeightGradientGflops: flops / directWeightGradient.medianMs / 1e6,
    trainingPath: suitsDirectConvolution(g) ? "direct" : "im2col + GEMM",
  };
}

function ourTraining(model: string, iterations: number): Record<string, any> {
  const r = runTicket(
    [
      "train",
      "--model",
      model,
      "--iterations",
      String(iterations),
      "--eval-every",
      String(iterations),
      "--validation",
      "120",
      "--no-test-curve",
      "--threads",
      "1",
    ],
    "result.json",
  );
  return { model, iterations, variant: r.engine.variant, stepsPerSecond: r.timing.stepsPerSecond, peakRssMB: r.timing.peakRssMB };
}

/** Every layer shape's passes, with the SIMD peak measured in the same run. */
export function benchConvLayers(): { peakGflops: number; layerRows: Record<string, number | string>[] } {
  const e = engine();
  const peak = time(() => e.kernels.simdPeak(200_000, 0.5), { runs: 9 });
  const peakGflops = (200_000 * 48 * 2) / peak.medianMs / 1e6;
  const rng = new Random(1);
  const layerRows = layers.map((l) => {
    const r = layerSpeed(l, rng);
    const ofPeak = Object.fromEntries(
      Object.entries(r)
        .filter(([key]) => key.endsWith("Gflops"))
        .map(([key, v]) => [key.replace("Gflops", "OfPeak"), (v as number) / peakGflops]),
    );
    return { ...r, ...ofPeak };
  });
  return { peakGflops, layerRows };
}

/** Every prunable layer kept at this fraction of its weights: a ticket about ten rounds in. */
const TICKET_REMAINING = 0.1;

/**
 * Steps/s of a pruned conv net (every prunable layer magnitude-pruned to TICKET_REMAINING at θ0),
 * trained dense-masked and on the sparse kernels, in this process on real MNIST.
 */
function prunedTraining(splits: Splits, name: string, iterations: number): Record<string, number | string> {
  const named = namedModel(name)!;
  const stepsPerSecond = (sparse: SparseMode): number => {
    const model = new Model(named.spec([1, 28, 28], 10), 0);
    pruneToFraction(model.prunable(), "layerwise", TICKET_REMAINING);
    const config = { ...PAPER_TRAINING, lr: named.protocol.lr, testCurve: false, sparse };
    const warmup = Math.max(3, Math.round(iterations / 10));
    train(model, splits, { ...config, iterations: warmup, evalEvery: warmup });
    const result = train(model, splits, { ...config, iterations, evalEvery: iterations });
    model.dispose();
    return result.stepsPerSecond;
  };
  return {
    model: name,
    remaining: TICKET_REMAINING,
    iterations,
    denseMaskedStepsPerSecond: stepsPerSecond("never"),
    sparseStepsPerSecond: stepsPerSecond("always"),
  };
}

/**
 * Runs of our training and of PyTorch's per model, alternating, so that each side's median and
 * their ratio hold up on a host whose speed drifts over minutes.
 */
const TRAINING_ROUNDS = 3;

export async function benchConv(options: { iterations?: number } = {}): Promise<Record<string, unknown>> {
  const { peakGflops, layerRows } = benchConvLayers();
  const lenetIterations = options.iterations ?? 1000;
  const conv2Iterations = Math.max(10, Math.round(lenetIterations / 25));
  const torch = pytorchAvailable();
  const training: Record<string, any>[] = [];
  const peers: Record<string, unknown>[] = [];
  for (const [model, iterations] of [
    ["lenet-5", lenetIterations],
    ["conv-2", conv2Iterations],
  ] as const) {
    const contenders: Record<string, () => Record<string, any>> = { ours: () => ourTraining(model, iterations) };
    if (torch.ok) contenders.pytorch = () => runPytorch({ kind: "train", model, threads: 1, iterations, lr: 1.2e-3 });
    const runs = interleaved(TRAINING_ROUNDS, contenders);
    const ours = runs.ours.map((r) => r.stepsPerSecond as number);
    training.push({
      model,
      iterations,
      variant: runs.ours[0].variant,
      stepsPerSecond: median(ours),
      samples: ours,
      peakRssMB: Math.max(...runs.ours.map((r) => r.peakRssMB as number)),
    });
    if (runs.pytorch && torch.ok) {
      const theirs = runs.pytorch.map((r) => r.steps_per_second as number);
      peers.push({
        name: `PyTorch ${torch.version} CPU (1 thread)`,
        model,
        stepsPerSecond: median(theirs),
        samples: theirs,
        oursOverPeer: median(ours) / median(theirs),
        blas: runs.pytorch[0].blas,
      });
    }
  }
  const mnist = loadSplits({ dir: defaultMnistDir(), validation: 5000, trainSubset: null, normalize: false, seed: 0 });
  const splits: Splits = { train: mnist.train, validation: take(mnist.validation, 120), test: take(mnist.test, 120) };
  const pruned = [prunedTraining(splits, "lenet-5", Math.round(lenetIterations / 2)), prunedTraining(splits, "conv-2", conv2Iterations)];
  await initTfjsWasm();
  const { images, labels } = mnistFloatImages(3000);
  for (const backend of ["wasm", "cpu"] as const) {
    const t = await tfjsLenet5Training(backend, images, labels, BATCH, backend === "cpu" ? 10 : 50);
    peers.push({
      name: `TensorFlow.js ${backend} (1 thread)`,
      model: "lenet-5",
      ...t,
      ...(t.stepsPerSecond ? { oursOverPeer: training[0].stepsPerSecond / t.stepsPerSecond } : {}),
    });
  }
  for (const p of pruned) {
    const dense = training.find((t) => t.model === p.model)!;
    const peer = peers.find((q) => q.model === p.model && String(q.name).startsWith("PyTorch")) as Record<string, number> | undefined;
    p.sparseOverOurDense = (p.sparseStepsPerSecond as number) / dense.stepsPerSecond;
    // PyTorch trains a masked net at its dense speed: the mask only zeroes weights
    if (peer) p.sparseOverPytorch = (p.sparseStepsPerSecond as number) / peer.stepsPerSecond;
  }
  return {
    benchmark: "conv",
    batch: BATCH,
    simdPeakGflops: peakGflops,
    layers: layerRows,
    training,
    pruned,
    peers,
    ...(torch.ok ? {} : { pytorchNote: torch.note }),
  };
}

export function printConv(r: Awaited<ReturnType<typeof benchConv>>): void {
  const pct = (v: number): string => `${(100 * v).toFixed(0)}%`;
  const cell = (l: Record<string, any>, pass: string): string => `${l[`${pass}Gflops`].toFixed(1)} (${pct(l[`${pass}OfPeak`])})`;
  printTable(
    `conv2d layers, batch ${r.batch}: GFLOP/s (and share of the SIMD peak, ${(r.simdPeakGflops as number).toFixed(1)} GFLOP/s in this run); training runs the path named last`,
    [
      "layer",
      "O×(C·k·k)×(N·Ho·Wo)",
      "forward: im2col + GEMM",
      "direct",
      "input gradient: GEMM + col2im a few images at a time (direct: one channel, 'same')",
      "weight gradient: GEMM",
      "direct",
      "training",
    ],
    (r.layers as Record<string, any>[]).map((l) => [
      l.layer,
      l.product,
      cell(l, "forward"),
      cell(l, "directForward"),
      cell(l, "inputGradient"),
      cell(l, "weightGradient"),
      cell(l, "directWeightGradient"),
      l.trainingPath,
    ]),
  );
  const range = (samples?: number[]): string => (samples && samples.length > 1 ? `${Math.min(...samples).toFixed(1)}–${Math.max(...samples).toFixed(1)}` : "—");
  const rows: (string | number)[][] = (r.training as Record<string, any>[]).map((t) => [
    `winning-ticket (wasm ${t.variant}, 1 thread)`,
    t.model,
    t.stepsPerSecond.toFixed(1),
    range(t.samples),
    "—",
  ]);
  for (const p of r.peers as Record<string, any>[])
    rows.push([
      p.name,
      p.model,
      p.stepsPerSecond ? p.stepsPerSecond.toFixed(1) : `cannot train: ${p.error}`,
      range(p.samples),
      p.oursOverPeer ? `${p.oursOverPeer.toFixed(2)}×` : "—",
    ]);
  printTable(
    `Training on MNIST, batch 60, Adam (steps/s: the median of ${TRAINING_ROUNDS} runs, ours and PyTorch's alternating; ours over the peer's medians)`,
    ["", "model", "steps/s", "range", "ours / peer"],
    rows,
  );
  printTable(
    `Pruned: every prunable layer at ${100 * TICKET_REMAINING}% of its weights (steps/s, one thread; PyTorch trains a masked net at its dense speed)`,
    ["model", "dense-masked", "sparse", "sparse / our dense", "sparse / PyTorch"],
    (r.pruned as Record<string, any>[]).map((p) => [
      p.model,
      p.denseMaskedStepsPerSecond.toFixed(1),
      p.sparseStepsPerSecond.toFixed(1),
      `${p.sparseOverOurDense.toFixed(2)}×`,
      p.sparseOverPytorch ? `${p.sparseOverPytorch.toFixed(2)}×` : "—",
    ]),
  );
  if (r.pytorchNote) console.log(`\n${r.pytorchNote}`);
}
