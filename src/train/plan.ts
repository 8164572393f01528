// How a (possibly pruned) model runs: for each prunable weight, whether its product is the dense
// GEMM or the compact sparse kernels, chosen by its density; and the layout of activations that
// follows (row-major only for fully connected models with every product dense). The model's
// own forward pass runs the plan's decisions; the plan never knows the architecture.
import type { Tensor } from "../autograd/tensor.js";
import type { Layout } from "../nn/layer.js";
import type { Model } from "../nn/model.js";
import { Parameter } from "../nn/parameter.js";
import { SparseWeights } from "../nn/sparse-weights.js";
import { countKept } from "../prune/magnitude.js";

export type SparseMode = "auto" | "always" | "never";
export type ProductMode = "dense" | "sparse";

/**
 * Below this fraction of weights remaining a product trains faster sparse than dense. Measured on
 * LeNet-300-100 with batch 60 by `npm run bench -- sparse` (the crossover is printed there).
 */
export const SPARSE_CROSSOVER = 0.7;

/** How a batch's input must be laid out for the plan: the BatchLoader's layout. */
export type InputLayout = "rows" | "features" | "channels";

export interface ExecutionPlan {
  /** Per prunable weight, in the model's order. */
  modes: ProductMode[];
  layout: Layout;
  inputLayout: InputLayout;
  /** What the optimizer updates: compact values for sparse weights, dense parameters otherwise. */
  trainable: Parameter[];
  /** A batch in `inputLayout` → logits [batch, classes]. */
  forward(x: Tensor, batch: number): Tensor;
  /** Writes trained compact weights back into the model's dense parameters. */
  syncToDense(): void;
  /** Reads the model's dense parameters into the compact weights (after they were restored). */
  syncFromDense(): void;
  dispose(): void;
}

export function chooseModes(model: Model, mode: SparseMode): ProductMode[] {
  return model.prunable().map((w) => {
    if (mode === "never" || !w.mask || !w.product) return "dense";
    if (mode === "always") return "sparse";
    return countKept(w.mask) / w.value.size <= SPARSE_CROSSOVER ? "sparse" : "dense";
  });
}

export function planExecution(model: Model, mode: SparseMode = "auto"): ExecutionPlan {
  const modes = chooseModes(model, mode);
  const prunable = model.prunable();
  const sparse = new Map<Parameter, SparseWeights>();
  prunable.forEach((p, i) => {
    if (modes[i] === "sparse") sparse.set(p, new SparseWeights(p));
  });
  const layout: Layout = sparse.size === 0 && model.vectorOnly ? "rows" : "features";
  const inputLayout: InputLayout = layout === "rows" ? "rows" : model.inputKind === "image" ? "channels" : "features";
  const trainable = model.parameters().map((p) => {
    const s = sparse.get(p);
    return s ? new Parameter(`${p.name} (sparse)`, s.values, false) : p;
  });
  return {
    modes,
    layout,
    inputLayout,
    trainable,
    forward: (x, batch) => model.forward(x, { layout, batch, sparse: (p) => sparse.get(p) ?? null }),
    syncToDense: () => sparse.forEach((s) => s.scatter()),
    syncFromDense: () => sparse.forEach((s) => s.gather()),
    dispose: () => sparse.forEach((s) => s.dispose()),
  };
}
