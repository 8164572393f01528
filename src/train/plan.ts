// How a (possibly pruned) model runs: each layer dense or sparse, chosen by its density. Dense
// layers run the packed GEMM; sparse layers run compact kernels whose cost follows the weights
// that remain. With any sparse layer, activations flow feature-major ([features, batch]).
import { addPerRow, matmul, relu, transpose } from "../autograd/ops.js";
import type { Tensor } from "../autograd/tensor.js";
import type { Mlp } from "../nn/mlp.js";
import { Parameter } from "../nn/parameter.js";
import { SparseWeights } from "../nn/sparse-weights.js";
import { countKept } from "../prune/magnitude.js";

export type SparseMode = "auto" | "always" | "never";
export type LayerMode = "dense" | "sparse";

/**
 * Below this fraction of weights remaining a layer trains faster sparse than dense. Measured on
 * LeNet-300-100 with batch 60 by `npm run bench -- sparse` (the crossover is printed there).
 */
export const SPARSE_CROSSOVER = 0.7;

export interface ExecutionPlan {
  modes: LayerMode[];
  layout: "rows" | "features";
  /** What the optimizer updates: compact values for sparse layers, dense parameters otherwise. */
  trainable: Parameter[];
  /** Row-major input [batch, features] → logits [batch, classes]. */
  forward(x: Tensor): Tensor;
  /** Feature-major input [features, batch] → logits [batch, classes] (only for layout "features"). */
  forwardFeatures(xT: Tensor): Tensor;
  /** Writes trained compact weights back into the model's dense parameters. */
  syncToDense(): void;
  /** Reads the model's dense parameters into the compact weights (after they were restored). */
  syncFromDense(): void;
  dispose(): void;
}

export function chooseModes(model: Mlp, mode: SparseMode): LayerMode[] {
  return model.layers.map((layer) => {
    const w = layer.weight;
    if (mode === "never" || !w.mask) return "dense";
    if (mode === "always") return "sparse";
    return countKept(w.mask) / w.value.size <= SPARSE_CROSSOVER ? "sparse" : "dense";
  });
}

export function planExecution(model: Mlp, mode: SparseMode = "auto"): ExecutionPlan {
  const modes = chooseModes(model, mode);
  if (modes.every((m) => m === "dense")) {
    return {
      modes, layout: "rows", trainable: model.parameters(),
      forward: (x) => model.forward(x),
      forwardFeatures: () => { throw new Error("plan: this model runs row-major"); },
      syncToDense: () => {},
      syncFromDense: () => {},
      dispose: () => {},
    };
  }
  const sparse = model.layers.map((layer, i) => (modes[i] === "sparse" ? new SparseWeights(layer.weight) : null));
  const trainable: Parameter[] = [];
  model.layers.forEach((layer, i) => {
    const s = sparse[i];
    trainable.push(s ? new Parameter(`${layer.weight.name} (sparse)`, s.values, false) : layer.weight, layer.bias);
  });
  const forwardFeatures = (xT: Tensor): Tensor => {
    let h = xT;
    model.layers.forEach((layer, i) => {
      const s = sparse[i];
      h = s ? s.apply(h) : matmul(layer.weight.value, h, { transposeA: true });
      h = addPerRow(h, layer.bias.value);
      if (i < model.layers.length - 1) h = relu(h);
    });
    return transpose(h);
  };
  return {
    modes, layout: "features", trainable,
    forward: (x) => forwardFeatures(transpose(x)),
    forwardFeatures,
    syncToDense: () => sparse.forEach((s) => s?.scatter()),
    syncFromDense: () => sparse.forEach((s) => s?.gather()),
    dispose: () => sparse.forEach((s) => s?.dispose()),
  };
}
